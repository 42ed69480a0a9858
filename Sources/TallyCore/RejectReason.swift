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
    /// Sets are not supported yet.
    case unsupportedType = "unsupported_type"

    /// One short sentence for operators, used in logs and `--help`.
    public var explanation: String {
        switch self {
        case .malformedLine: return "line is not name:value|type[|@rate][|#tags]"
        case .invalidName: return "metric name is empty or has characters outside [A-Za-z0-9_.-]"
        case .nameTooLong: return "metric name is longer than 200 bytes"
        case .invalidValue: return "value is not a finite decimal number (or a counter went down)"
        case .invalidSampleRate: return "sample rate must satisfy 0 < rate <= 1"
        case .unknownType: return "type must be one of c, g, ms, h, d, s"
        case .noService: return "no service_name/service tag, no <service>. prefix and no default_service"
        case .unknownService: return "service is not configured"
        case .serviceMismatch: return "the line names a different service than its prefix or socket"
        case .typeMismatch: return "line type does not fit the family's type"
        case .unitMismatch: return "a |ms timer can only feed a family measured in seconds"
        case .missingLabel: return "a documented label is missing or empty"
        case .unknownFamily: return "family is not in the catalogue (unknown_families: reject)"
        case .invalidLabelName: return "tag name cannot be a Prometheus label name"
        case .invalidUTF8: return "line is not valid UTF-8 or contains a NUL byte"
        case .nameConflict: return "name clashes with the series of another family"
        case .cardinalityLimit: return "a series or family limit was reached"
        case .unsupportedType: return "sets (|s) are not supported yet"
        }
    }
}
