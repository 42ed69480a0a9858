import Testing

@testable import TallyServer

/// The libyaml binding: the node tree, its positions, YAML 1.1's scalar rules as the config
/// reads them (the same answers Yams gave), and the errors that must name a line.
@Suite struct YAMLDocumentTests {
    func parse(_ text: String) throws -> YAMLNode {
        try #require(try YAMLDocument.parse(text))
    }

    @Test func mappingsKeepFileOrderAndEveryNodeItsLineAndColumn() throws {
        let root = try parse("b: 1\na:\n  - x\n  - {y: 2}\n")
        guard case .mapping(let entries) = root.kind else {
            Issue.record("not a mapping")
            return
        }
        #expect(entries.map { $0.key.scalar } == ["b", "a"])
        #expect((entries[0].key.line, entries[0].key.column) == (1, 1))
        #expect((entries[0].value.line, entries[0].value.column) == (1, 4))
        guard case .sequence(let items) = entries[1].value.kind else {
            Issue.record("not a list")
            return
        }
        #expect(items[0].scalar == "x" && items[0].line == 3 && items[0].column == 5)
        #expect(items[1].line == 4)
    }

    @Test func anEmptyDocumentIsNil() throws {
        #expect(try YAMLDocument.parse("") == nil)
        #expect(try YAMLDocument.parse("# only a comment\n") == nil)
    }

    @Test func scalarsResolveAsYAML11() throws {
        let cases: [(String, Int?, Double?, Bool?, Bool)] = [
            // text, int, double, bool, null
            ("8125", 8125, 8125, nil, false),
            ("-3", -3, -3, nil, false),
            ("1_000_000", 1_000_000, 1_000_000, nil, false),
            ("0x1F", 31, 31, nil, false),
            ("0o17", 15, 15, nil, false),
            ("017", 15, 15, nil, false),
            ("0", 0, 0, nil, false),
            ("2.5", nil, 2.5, nil, false),
            ("1e3", nil, 1000, nil, false),
            (".inf", nil, .infinity, nil, false),
            ("yes", nil, nil, true, false),
            ("Off", nil, nil, false, false),
            ("true", nil, nil, true, false),
            ("~", nil, nil, nil, true),
            ("null", nil, nil, nil, true),
            ("30s", nil, nil, nil, false),
            ("abc", nil, nil, nil, false),
        ]
        for (text, int, double, bool, null) in cases {
            let node = try parse("k: \(text)\n")
            guard case .mapping(let m) = node.kind else {
                Issue.record("not a mapping")
                continue
            }
            let v = m[0].value
            #expect(v.int == int, "\(text)")
            #expect(v.double == double, "\(text)")
            #expect(v.bool == bool, "\(text)")
            #expect(v.isNull == null, "\(text)")
        }
        guard case .mapping(let m) = try parse("k:\nq: \"null\"\n").kind else {
            Issue.record("not a mapping")
            return
        }
        #expect(m[0].value.isNull)
        #expect(!m[1].value.isNull && m[1].value.scalar == "null")
    }

    @Test func aliasesExpandToTheAnchoredNode() throws {
        let root = try parse("base: &b {port: 1}\ncopy: *b\n")
        guard case .mapping(let m) = root.kind, case .mapping(let copy) = m[1].value.kind else {
            Issue.record("not mappings")
            return
        }
        #expect(copy.map { $0.key.scalar } == ["port"] && copy[0].value.int == 1)
    }

    @Test func errorsNameTheLineAndColumn() {
        let cases: [(String, String, Int?, Int?)] = [
            ("a: 1\nb: [1, 2\n", "did not find expected ',' or ']'", 3, 1),
            ("metrics: {}\nmetrics: {}\n", "duplicated key 'metrics' (first at line 1)", 2, 1),
            ("a: 1\n---\nb: 2\n", "a second document", 2, 1),
            ("a: *nowhere\n", "unknown alias", 1, 4),
            ("a: \"\u{1}\"\n", "control characters are not allowed", nil, nil),
        ]
        for (text, problem, line, column) in cases {
            do {
                _ = try YAMLDocument.parse(text)
                Issue.record("\(text) parsed")
            } catch {
                #expect(error.problem.contains(problem), "\(error.problem)")
                if let line { #expect(error.line == line, "\(text)") }
                if let column { #expect(error.column == column, "\(text)") }
            }
        }
    }
}
