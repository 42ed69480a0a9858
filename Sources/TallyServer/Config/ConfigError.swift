import TallyCore
import Yams

/// A configuration problem, located: `file:line: key: what is wrong`.
public struct ConfigError: Error, CustomStringConvertible, Sendable {
    public var source: String
    public var line: Int?
    public var key: String
    public var problem: String
    /// Set for YAML syntax errors, where the parser knows it.
    public var column: Int?

    public init(source: String, line: Int?, key: String, problem: String, column: Int? = nil) {
        self.source = source
        self.line = line
        self.key = key
        self.problem = problem
        self.column = column
    }

    public var description: String {
        var location = line.map { "\(source):\($0)" } ?? source
        if line != nil, let column { location += ":\(column)" }
        return key.isEmpty ? "\(location): \(problem)" : "\(location): \(key): \(problem)"
    }
}

/// A YAML node with the path that led to it, so every error names its key and line.
struct ConfigNode {
    let node: Node?
    let path: String
    let source: String

    var line: Int? { node?.mark?.line }

    func error(_ problem: String) -> ConfigError {
        ConfigError(source: source, line: line, key: path, problem: problem)
    }

    var isNull: Bool {
        guard let node else { return true }
        if case .scalar = node, node.null != nil { return true }
        return false
    }

    /// The mapping's entries; throws on anything else and on keys outside `allowed`.
    func mapping(allowed: [String]) throws(ConfigError) -> [String: ConfigNode] {
        guard let node, case .mapping(let m) = node else { throw error("expected a mapping") }
        var out: [String: ConfigNode] = [:]
        for (k, v) in m {
            guard let key = k.string else { throw error("keys must be strings") }
            let child = ConfigNode(node: v, path: path.isEmpty ? key : path + "." + key, source: source)
            if !allowed.isEmpty && !allowed.contains(key) {
                throw ConfigError(
                    source: source, line: k.mark?.line, key: child.path,
                    problem: "unknown key (expected one of: \(allowed.joined(separator: ", ")))")
            }
            out[key] = child
        }
        return out
    }

    /// Mapping entries in file order (for `services`, whose keys are names).
    func orderedMapping() throws(ConfigError) -> [(String, ConfigNode)] {
        guard let node, case .mapping(let m) = node else { throw error("expected a mapping") }
        var out: [(String, ConfigNode)] = []
        for (k, v) in m {
            guard let key = k.string else { throw error("keys must be strings") }
            out.append((key, ConfigNode(node: v, path: path.isEmpty ? key : path + "." + key, source: source)))
        }
        return out
    }

    func sequence() throws(ConfigError) -> [ConfigNode] {
        guard let node, case .sequence(let s) = node else { throw error("expected a list") }
        return s.enumerated().map { ConfigNode(node: $1, path: "\(path)[\($0)]", source: source) }
    }

    func string() throws(ConfigError) -> String {
        guard let node, case .scalar(let s) = node, !isNull else { throw error("expected a string") }
        return s.string
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
        guard let node, let v = node.float, v.isFinite else { throw error("expected a number") }
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
        guard let node, case .scalar(let s) = node else {
            throw error("expected a duration (\(DurationText.examples))")
        }
        guard let seconds = DurationText.seconds(s.string) else {
            throw error("'\(s.string.trimmingWhitespace())' is not a duration (\(DurationText.examples))")
        }
        return seconds
    }

    static func parse(yaml: String, source: String) throws(ConfigError) -> ConfigNode {
        do {
            return ConfigNode(node: try Yams.compose(yaml: yaml), path: "", source: source)
        } catch let e as YamlError {
            throw syntaxError(e, source: source)
        } catch {
            throw ConfigError(source: source, line: nil, key: "", problem: "not valid YAML: \(oneLine("\(error)"))")
        }
    }

    /// One line, `file:line:column: not valid YAML: what`, instead of the parser's multi-line
    /// dump with the whole document in it.
    static func syntaxError(_ error: YamlError, source: String) -> ConfigError {
        switch error {
        case .scanner(let context, let problem, let mark, _), .parser(let context, let problem, let mark, _),
            .composer(let context, let problem, let mark, _):
            let what = context.map { "\(problem) (\($0.text))" } ?? problem
            return ConfigError(
                source: source, line: mark.line, key: "", problem: "not valid YAML: \(what)", column: mark.column)
        case .reader(let problem, let offset, _, _):
            let at = offset.map { " at byte \($0)" } ?? ""
            return ConfigError(source: source, line: nil, key: "", problem: "not valid YAML: \(problem)\(at)")
        default:
            // e.g. duplicated keys: the first line says what; the rest would repeat the document.
            let first = "\(error)".split(whereSeparator: \.isNewline).first.map(String.init) ?? "\(error)"
            return ConfigError(source: source, line: nil, key: "", problem: "not valid YAML: \(first)")
        }
    }

    static func oneLine(_ text: String) -> String {
        text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters() }.joined(separator: "; ")
    }
}

extension Substring {
    func trimmingCharacters() -> String { String(self).trimmingWhitespace() }
}

extension String {
    func trimmingWhitespace() -> String {
        var s = Substring(self)
        while let f = s.first, f.isWhitespace { s.removeFirst() }
        while let l = s.last, l.isWhitespace { s.removeLast() }
        return String(s)
    }
}
