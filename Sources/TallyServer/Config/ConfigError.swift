import TallyCore

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
