/// Where a config came from: the copy compiled into the binary, or a file. What defaults apply
/// (a file changes only the keys it names; the embedded copy is the defaults) and what the
/// status page shows as the config's path follow from it, not from the spelling of a name.
public enum ConfigSource: Sendable, Equatable {
    case embedded
    case file(String)

    /// What errors name as the file: the path, or `<embedded tallyd.yaml>`.
    public var name: String {
        switch self {
        case .embedded: return "<embedded tallyd.yaml>"
        case .file(let path): return path
        }
    }

    /// The file's path; nil for the embedded copy.
    public var path: String? {
        if case .file(let path) = self { return path }
        return nil
    }
}
