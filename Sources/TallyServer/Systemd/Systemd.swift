import CSystemd

#if canImport(Glibc)
    import Glibc
#endif

/// The daemon's side of systemd (sd-daemon(3)): readiness and status messages, the watchdog
/// interval, and the sockets passed by socket activation.
///
/// Outside systemd (no `NOTIFY_SOCKET`, `WATCHDOG_USEC`, `LISTEN_FDS`, as in a developer's
/// shell or CI) every call is a quiet no-op, so callers never need to ask where they run.
public enum Systemd {
    /// A descriptor systemd passed, with its `FileDescriptorName=`.
    public struct PassedSocket: Sendable, Equatable {
        public var fd: Int32
        public var name: String
    }

    /// Sends `state` (e.g. `"READY=1\nSTATUS=…"`) to the service manager; false when there is
    /// none or the send failed.
    @discardableResult
    public static func notify(_ state: String) -> Bool {
        sd_notify(0, state) > 0
    }

    /// True when a service manager listens for notifications.
    public static var notifySocketPresent: Bool { getenv("NOTIFY_SOCKET") != nil }

    /// The watchdog interval in seconds when systemd expects `WATCHDOG=1` pings from this
    /// process (`WatchdogSec=`), else nil.
    public static func watchdogInterval() -> Double? {
        var usec: UInt64 = 0
        guard sd_watchdog_enabled(0, &usec) > 0, usec > 0 else { return nil }
        return Double(usec) / 1e6
    }

    /// The sockets passed by socket activation, in order, taken once: the `LISTEN_*`
    /// variables are removed so that nothing else adopts them.
    public static func takeListenedSockets() -> [PassedSocket] {
        var names: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?
        let count = sd_listen_fds_with_names(1, &names)
        guard count > 0 else { return [] }
        defer {
            if let names {
                for i in 0..<Int(count) { free(names[i]) }
                free(names)
            }
        }
        return (0..<Int(count)).map { i in
            let name = names?[i].map { String(cString: $0) } ?? "unknown"
            return PassedSocket(fd: SD_LISTEN_FDS_START + Int32(i), name: name)
        }
    }
}
