import CYAML

/// A YAML document read by libyaml (Debian's libyaml-0-2), as the tree `ConfigNode` walks.
///
/// tallyd reads YAML through this thin binding rather than a Swift YAML library so that its
/// binaries do not link full Foundation (and ICU's 34 MB of data) for a config file: the
/// release binary is half the size. It keeps what the config's errors need: the line and
/// column of every node, and of every syntax error.
struct YAMLNode: Sendable {
    enum Kind: Sendable {
        /// `plain` is false for a quoted, block or tagged scalar: only plain scalars can be null.
        case scalar(String, plain: Bool)
        case mapping([(key: YAMLNode, value: YAMLNode)])
        case sequence([YAMLNode])
    }

    var kind: Kind
    /// 1-based, as editors count.
    var line: Int
    var column: Int
}

/// Why a document could not be read: libyaml's problem and where it found it.
struct YAMLSyntaxError: Error {
    var problem: String
    var line: Int?
    var column: Int?
}

enum YAMLDocument {
    /// The first document of `text` (nil for an empty one). Aliases are expanded; a duplicated
    /// key in a mapping and a second document are errors, as a config must mean one thing.
    static func parse(_ text: String) throws(YAMLSyntaxError) -> YAMLNode? {
        var parser = yaml_parser_t()
        guard yaml_parser_initialize(&parser) == 1 else { throw YAMLSyntaxError(problem: "out of memory") }
        defer { yaml_parser_delete(&parser) }
        var bytes = Array(text.utf8)
        return try bytes.withUnsafeMutableBufferPointer { (buffer) throws(YAMLSyntaxError) -> YAMLNode? in
            yaml_parser_set_input_string(&parser, buffer.baseAddress, buffer.count)
            var builder = Builder()
            while true {
                var event = yaml_event_t()
                guard yaml_parser_parse(&parser, &event) == 1 else { throw Builder.error(of: parser) }
                defer { yaml_event_delete(&event) }
                if try builder.take(event) { return builder.document }
            }
        }
    }

    /// Folds the parser's events into nodes: a stack of open collections, the anchors seen.
    private struct Builder {
        enum Open {
            case mapping(
                [(key: YAMLNode, value: YAMLNode)], pendingKey: YAMLNode?, line: Int, column: Int, anchor: String?)
            case sequence([YAMLNode], line: Int, column: Int, anchor: String?)
        }
        var stack: [Open] = []
        var anchors: [String: YAMLNode] = [:]
        var document: YAMLNode?
        var documents = 0

        /// True at the end of the stream.
        mutating func take(_ event: yaml_event_t) throws(YAMLSyntaxError) -> Bool {
            let line = Int(event.start_mark.line) + 1
            let column = Int(event.start_mark.column) + 1
            switch event.type {
            case YAML_STREAM_END_EVENT:
                return true
            case YAML_DOCUMENT_START_EVENT:
                documents += 1
                if documents > 1 {
                    throw YAMLSyntaxError(
                        problem: "a second document (---): the file must hold one", line: line, column: column)
                }
            case YAML_SCALAR_EVENT:
                let s = event.data.scalar
                let value = String(decoding: UnsafeBufferPointer(start: s.value, count: s.length), as: UTF8.self)
                let plain = s.style == YAML_PLAIN_SCALAR_STYLE && s.tag == nil
                try add(
                    YAMLNode(kind: .scalar(value, plain: plain), line: line, column: column),
                    anchor: Self.string(s.anchor))
            case YAML_ALIAS_EVENT:
                let name = Self.string(event.data.alias.anchor) ?? ""
                guard let node = anchors[name] else {
                    throw YAMLSyntaxError(problem: "unknown alias *\(name)", line: line, column: column)
                }
                try add(node, anchor: nil)
            case YAML_SEQUENCE_START_EVENT:
                stack.append(
                    .sequence([], line: line, column: column, anchor: Self.string(event.data.sequence_start.anchor)))
            case YAML_MAPPING_START_EVENT:
                stack.append(
                    .mapping(
                        [], pendingKey: nil, line: line, column: column,
                        anchor: Self.string(event.data.mapping_start.anchor)))
            case YAML_SEQUENCE_END_EVENT, YAML_MAPPING_END_EVENT:
                switch stack.removeLast() {
                case .sequence(let items, let l, let c, let anchor):
                    try add(YAMLNode(kind: .sequence(items), line: l, column: c), anchor: anchor)
                case .mapping(let entries, _, let l, let c, let anchor):
                    try add(YAMLNode(kind: .mapping(entries), line: l, column: c), anchor: anchor)
                }
            default:
                break
            }
            return false
        }

        private mutating func add(_ node: YAMLNode, anchor: String?) throws(YAMLSyntaxError) {
            if let anchor { anchors[anchor] = node }
            guard let top = stack.popLast() else {
                document = node
                return
            }
            switch top {
            case .sequence(var items, let l, let c, let a):
                items.append(node)
                stack.append(.sequence(items, line: l, column: c, anchor: a))
            case .mapping(var entries, let pendingKey, let l, let c, let a):
                if let key = pendingKey {
                    entries.append((key, node))
                    stack.append(.mapping(entries, pendingKey: nil, line: l, column: c, anchor: a))
                } else {
                    if case .scalar(let name, _) = node.kind,
                        let first = entries.first(where: {
                            if case .scalar(name, _) = $0.key.kind { true } else { false }
                        })
                    {
                        throw YAMLSyntaxError(
                            problem: "duplicated key '\(name)' (first at line \(first.key.line))", line: node.line,
                            column: node.column)
                    }
                    stack.append(.mapping(entries, pendingKey: node, line: l, column: c, anchor: a))
                }
            }
        }

        private static func string(_ p: UnsafeMutablePointer<yaml_char_t>?) -> String? {
            p.map { String(cString: $0) }
        }

        static func error(of parser: yaml_parser_t) -> YAMLSyntaxError {
            var problem = parser.problem.map { String(cString: $0) } ?? "cannot be read"
            if let context = parser.context.map({ String(cString: $0) }) { problem += " (\(context))" }
            if parser.error == YAML_READER_ERROR {
                return YAMLSyntaxError(problem: "\(problem) at byte \(parser.problem_offset)")
            }
            return YAMLSyntaxError(
                problem: problem, line: Int(parser.problem_mark.line) + 1, column: Int(parser.problem_mark.column) + 1)
        }
    }
}

extension YAMLNode {
    /// The scalar's text, for a scalar.
    var scalar: String? {
        if case .scalar(let s, _) = kind { return s }
        return nil
    }

    /// A plain `~`, `null`, `Null`, `NULL` or nothing at all (YAML 1.1's null).
    var isNull: Bool {
        if case .scalar(let s, true) = kind { return ["", "~", "null", "Null", "NULL"].contains(s) }
        return false
    }

    /// YAML 1.1's booleans: true/false, yes/no, on/off in three casings.
    var bool: Bool? {
        switch scalar {
        case "true", "True", "TRUE", "yes", "Yes", "YES", "on", "On", "ON": return true
        case "false", "False", "FALSE", "no", "No", "NO", "off", "Off", "OFF": return false
        default: return nil
        }
    }

    /// A YAML 1.1 integer: decimal, `0x`, `0o`, `0b` or a leading `0` (octal), `_` separators allowed.
    var int: Int? {
        guard var s = scalar?.filter({ $0 != "_" }), !s.isEmpty else { return nil }
        var negative = false
        if s.first == "-" || s.first == "+" {
            negative = s.first == "-"
            s.removeFirst()
        }
        var radix = 10
        for (prefix, r) in [("0x", 16), ("0o", 8), ("0b", 2)] where s.hasPrefix(prefix) {
            radix = r
            s.removeFirst(2)
        }
        if radix == 10 && s.count > 1 && s.hasPrefix("0") { radix = 8 }
        guard !s.isEmpty, let magnitude = Int(s, radix: radix) else { return nil }
        return negative ? -magnitude : magnitude
    }

    /// A number: an integer, a decimal or exponent form, `.inf`, `-.inf`, `.nan`.
    var double: Double? {
        guard let s = scalar?.filter({ $0 != "_" }), !s.isEmpty else { return nil }
        switch s {
        case ".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF": return .infinity
        case "-.inf", "-.Inf", "-.INF": return -.infinity
        case ".nan", ".NaN", ".NAN": return .nan
        default: break
        }
        if let i = int { return Double(i) }
        guard s.allSatisfy({ $0.isNumber || "+-.eE".contains($0) }) else { return nil }
        return Double(s)
    }
}
