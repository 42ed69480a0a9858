import TallyCore

/// A YAML node with the path that led to it, so every error names its key and line.
struct ConfigNode {
    let node: YAMLNode?
    let path: String
    let source: String

    var line: Int? { node?.line }

    func error(_ problem: String) -> ConfigError {
        ConfigError(source: source, line: line, key: path, problem: problem)
    }

    var isNull: Bool { node?.isNull ?? true }

    /// The mapping's entries; throws on anything else and on keys outside `allowed`.
    func mapping(allowed: [String]) throws(ConfigError) -> [String: ConfigNode] {
        guard let node, case .mapping(let m) = node.kind else { throw error("expected a mapping") }
        var out: [String: ConfigNode] = [:]
        for (k, v) in m {
            guard let key = k.scalar else { throw error("keys must be strings") }
            let child = ConfigNode(node: v, path: path.isEmpty ? key : path + "." + key, source: source)
            if !allowed.isEmpty && !allowed.contains(key) {
                throw ConfigError(
                    source: source, line: k.line, key: child.path,
                    problem: "unknown key (expected one of: \(allowed.joined(separator: ", ")))")
            }
            out[key] = child
        }
        return out
    }

    /// Mapping entries in file order (for `services`, whose keys are names).
    func orderedMapping() throws(ConfigError) -> [(String, ConfigNode)] {
        guard let node, case .mapping(let m) = node.kind else { throw error("expected a mapping") }
        var out: [(String, ConfigNode)] = []
        for (k, v) in m {
            guard let key = k.scalar else { throw error("keys must be strings") }
            out.append((key, ConfigNode(node: v, path: path.isEmpty ? key : path + "." + key, source: source)))
        }
        return out
    }

    func sequence() throws(ConfigError) -> [ConfigNode] {
        guard let node, case .sequence(let s) = node.kind else { throw error("expected a list") }
        return s.enumerated().map { ConfigNode(node: $1, path: "\(path)[\($0)]", source: source) }
    }

    func string() throws(ConfigError) -> String {
        guard let node, let s = node.scalar, !isNull else { throw error("expected a string") }
        return s
    }

    func int() throws(ConfigError) -> Int {
        guard let node, let v = node.int else { throw error("expected an integer") }
        return v
    }

    /// A size in bytes: `8388608`, `512KiB`, `8MiB`, `1GiB` (also `K`, `M`, `G`, powers of 1024).
    func byteSize() throws(ConfigError) -> Int {
        if let v = try? int() { return v }
        let s = try string().filter { $0 != " " }
        let units: [(String, Int)] = [
            ("KiB", 1 << 10), ("MiB", 1 << 20), ("GiB", 1 << 30), ("K", 1 << 10), ("M", 1 << 20), ("G", 1 << 30),
        ]
        for (suffix, factor) in units where s.hasSuffix(suffix) {
            if let n = Int(s.dropLast(suffix.count)), n >= 0 { return n * factor }
        }
        throw error("expected a size in bytes (8388608, 512KiB, 8MiB), not '\(s)'")
    }

    func bool() throws(ConfigError) -> Bool {
        guard let node, let v = node.bool else { throw error("expected true or false") }
        return v
    }

    func double() throws(ConfigError) -> Double {
        guard let node, let v = node.double, v.isFinite else { throw error("expected a number") }
        return v
    }

    func stringList() throws(ConfigError) -> [String] {
        var out: [String] = []
        for item in try sequence() { out.append(try item.string()) }
        return out
    }

    func doubleList() throws(ConfigError) -> [Double] {
        var out: [Double] = []
        for item in try sequence() { out.append(try item.double()) }
        return out
    }

    /// `30s`, `500ms`, `5m`, `1h`, or a plain number of seconds (`DurationText`).
    func duration() throws(ConfigError) -> Double {
        guard let s = node?.scalar else {
            throw error("expected a duration (\(DurationText.examples))")
        }
        guard let seconds = DurationText.seconds(s) else {
            throw error("'\(s.trimmingWhitespace())' is not a duration (\(DurationText.examples))")
        }
        return seconds
    }

    static func parse(yaml: String, source: String) throws(ConfigError) -> ConfigNode {
        do {
            return ConfigNode(node: try YAMLDocument.parse(yaml), path: "", source: source)
        } catch {
            throw ConfigError(
                source: source, line: error.line, key: "", problem: "not valid YAML: \(error.problem)",
                column: error.column)
        }
    }
}
