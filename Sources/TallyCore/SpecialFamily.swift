/// The documented families tallyd writes itself from what services send about themselves,
/// instead of folding lines into them: liveness, start time, build info. They never expire.
public enum SpecialFamily: String, CaseIterable, Sendable {
    /// 1 while the service sends, 0 after `heartbeat_timeout` (or an explicit `service_up:0`).
    case serviceUp = "service_up"
    /// Set at each down→up transition unless the service sends its own.
    case serviceStartTime = "service_start_time"
    case serviceInfo = "service_info"

    /// Which special family `family` is; nil for every other (and every undocumented) family.
    public init?(_ family: FamilyDescriptor) {
        guard family.isDocumented else { return nil }
        self.init(rawValue: family.name)
    }
}
