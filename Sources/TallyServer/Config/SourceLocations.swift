/// Where each key of a config was written (`ingest.tcp[0]` → line 4), so the checks that run
/// after parsing (listener conflicts, a Unix socket's group, drop_labels against the catalogue)
/// can name the file and line like every other config error.
///
/// Never part of equality: a config whose keys only moved is the same config, and a reload
/// must not see a change in it.
public struct SourceLocations: Sendable, Equatable {
    public var source: String = ""
    var lines: [String: Int] = [:]
    /// The embedded copy or the file `source` names.
    public var origin: ConfigSource = .embedded

    public static func == (_: SourceLocations, _: SourceLocations) -> Bool { true }

    /// The line `key` was written on; nil when it came from the defaults.
    func line(_ key: String) -> Int? { lines[key] }

    /// `t.yaml:4`, or "the default" for a key the file does not set.
    func place(_ key: String) -> String {
        lines[key].map { "\(source):\($0)" } ?? "the default"
    }

    /// An error about `key`, at its line (or at the file when it is a default).
    func error(_ key: String, _ problem: String) -> ConfigError {
        ConfigError(source: source, line: lines[key], key: key, problem: problem)
    }
}
