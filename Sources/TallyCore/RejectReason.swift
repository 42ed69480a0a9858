/// Why a line was refused. The raw value is the `reason` label of `tally_lines_rejected_total`
/// and the word in the log line, so it is part of the public interface: never rename one.
public enum RejectReason: String, Sendable, CaseIterable {
    /// The line is not `name:value|type[|@rate][|#tags]`.
    case malformedLine = "malformed_line"
    /// The name is empty or has characters StatsD names may not have.
    case invalidName = "invalid_name"
    /// The name is longer than the limit (200 bytes).
    case nameTooLong = "name_too_long"
    /// The value does not parse as a finite decimal number, or a counter would go down.
    case invalidValue = "invalid_value"
    /// `@rate` is not a number with 0 < rate <= 1.
    case invalidSampleRate = "invalid_sample_rate"
    /// The type field is not one of c, g, ms, h, d, s.
    case unknownType = "unknown_type"
    /// Neither a service tag, a `<service>.` prefix nor `default_service` names the sender.
    case noService = "no_service"
    /// The named service is not configured.
    case unknownService = "unknown_service"
    /// The service prefix and the service tag disagree, or the socket belongs to another service.
    case serviceMismatch = "service_mismatch"
    /// The line's type does not fit the family's type.
    case typeMismatch = "type_mismatch"
    /// A `|ms` timer for a family whose unit is not seconds.
    case unitMismatch = "unit_mismatch"
    /// A documented label has no tag (or an empty one) on the line.
    case missingLabel = "missing_label"
    /// The family is not in the catalogue and `unknown_families: reject` is set.
    case unknownFamily = "unknown_family"
    /// A tag name that cannot become a Prometheus label name (undocumented families only).
    case invalidLabelName = "invalid_label_name"
    /// The line is not valid UTF-8, or holds a NUL byte.
    case invalidUTF8 = "invalid_utf8"
    /// An undocumented name would clash with the series names of another family.
    case nameConflict = "name_conflict"
    /// Creating this series or family would pass a configured limit.
    case cardinalityLimit = "cardinality_limit"
    /// A line longer than `max_line_length` (TCP, or a huge datagram).
    case lineTooLong = "line_too_long"
    /// A TCP connection closed in the middle of a line; the partial line is dropped.
    case truncatedLine = "truncated_line"
    /// A set series already holds `set_max_values` distinct values in its window.
    case setOverflow = "set_overflow"
    /// Tags in the name (InfluxDB, Librato, SignalFX style) and a DogStatsD `|#` section.
    case mixedTagStyles = "mixed_tag_styles"
    /// A datagram on a peer-identity Unix socket from a uid (and gid) its maps do not name.
    case unknownSender = "unknown_sender"

    /// One short sentence for operators, used in logs and `--help`.
    public var explanation: String {
        switch self {
        case .malformedLine: return "not name:value|type[|@rate][|#tags]"
        case .invalidName: return "name empty or not [A-Za-z0-9_.-]"
        case .nameTooLong: return "name longer than 200 bytes"
        case .invalidValue: return "not a finite decimal, or a counter going down"
        case .invalidSampleRate: return "sample rate must satisfy 0 < rate <= 1"
        case .unknownType: return "type must be one of c, g, ms, h, d, s"
        case .noService: return "no service tag, no <service>. prefix, no default"
        case .unknownService: return "service is not configured"
        case .serviceMismatch: return "prefix, tag or socket name different services"
        case .typeMismatch: return "line type does not fit the family's type"
        case .unitMismatch: return "|ms into a family not measured in seconds"
        case .missingLabel: return "a documented label is missing or empty"
        case .unknownFamily: return "not in the catalogue (unknown_families: reject)"
        case .invalidLabelName: return "tag name cannot be a label name"
        case .invalidUTF8: return "not valid UTF-8, or holds a NUL byte"
        case .nameConflict: return "clashes with another family's series names"
        case .cardinalityLimit: return "a series or family limit was reached"
        case .lineTooLong: return "line longer than max_line_length"
        case .truncatedLine: return "TCP connection closed mid-line"
        case .setOverflow: return "a set already holds set_max_values values"
        case .mixedTagStyles: return "tags in the name and in |#, in one line"
        case .unknownSender: return "peer-identity socket: the sender's uid/gid is not mapped"
        }
    }
}
