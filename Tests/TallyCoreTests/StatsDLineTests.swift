import Testing

@testable import TallyCore

@Suite struct StatsDLineTests {
    struct Valid: CustomTestStringConvertible, Sendable {
        var line: String
        var name: String
        var values: String
        var kind: SampleKind
        var rate: Double
        var tags: String
        var style: StatsDLine.TagStyle = .none
        var unknownFields = 0
        var testDescription: String { line }
    }

    static let valid: [Valid] = [
        .init(line: "a:1|c", name: "a", values: "1", kind: .counter, rate: 1, tags: ""),
        .init(line: "a.b-c_d:1.5|g", name: "a.b-c_d", values: "1.5", kind: .gauge, rate: 1, tags: ""),
        .init(line: "t:320|ms|@0.1", name: "t", values: "320", kind: .timer, rate: 0.1, tags: ""),
        .init(
            line: "h:1|h|#a:b,c:d", name: "h", values: "1", kind: .histogram, rate: 1, tags: "a:b,c:d",
            style: .dogstatsd),
        // other dialects: tags in the name
        .init(
            line: "req,k=v,k2=v2:1|c", name: "req", values: "1", kind: .counter, rate: 1, tags: "k=v,k2=v2",
            style: .influx),
        .init(
            line: "req#k=v,k2=v2:1|c|@0.5", name: "req", values: "1", kind: .counter, rate: 0.5, tags: "k=v,k2=v2",
            style: .librato),
        .init(
            line: "req[k=v,k2=v2]:2|g", name: "req", values: "2", kind: .gauge, rate: 1, tags: "k=v,k2=v2",
            style: .signalfx),
        .init(
            line: "a.b,path=/x/y?q=1:3|ms", name: "a.b", values: "3", kind: .timer, rate: 1, tags: "path=/x/y?q=1",
            style: .influx),
        // DogStatsD extension fields: known ones ignored, unknown ones ignored and counted
        .init(
            line: "x:1|c|card:high|#k:v", name: "x", values: "1", kind: .counter, rate: 1, tags: "k:v",
            style: .dogstatsd),
        .init(line: "a:1|c|zzz", name: "a", values: "1", kind: .counter, rate: 1, tags: "", unknownFields: 1),
        .init(line: "a:1|c|e:future|f:x", name: "a", values: "1", kind: .counter, rate: 1, tags: "", unknownFields: 2),
        .init(
            line: "d:1:2:3|d|@0.5|#k:v", name: "d", values: "1:2:3", kind: .distribution, rate: 0.5, tags: "k:v",
            style: .dogstatsd),
        .init(
            line: "x:1|c|#k:v|@0.25", name: "x", values: "1", kind: .counter, rate: 0.25, tags: "k:v", style: .dogstatsd
        ),
        .init(line: "x:1|c|c:abc123|T1700000000", name: "x", values: "1", kind: .counter, rate: 1, tags: ""),
        .init(line: "s:u1|s", name: "s", values: "u1", kind: .set, rate: 1, tags: ""),
        .init(line: "g:-5|g", name: "g", values: "-5", kind: .gauge, rate: 1, tags: ""),
    ]

    @Test(arguments: valid)
    func parsesValidLine(_ c: Valid) throws {
        var line = c.line
        let text = line
        _ = text
        try line.withUTF8 { buf in
            let p = UnsafeRawBufferPointer(buf)
            let parsed = try StatsDLine.parse(p).get()
            #expect(String(decoding: UnsafeRawBufferPointer(rebasing: p[parsed.name]), as: UTF8.self) == c.name)
            #expect(String(decoding: UnsafeRawBufferPointer(rebasing: p[parsed.values]), as: UTF8.self) == c.values)
            #expect(parsed.kind == c.kind)
            #expect(parsed.sampleRate == c.rate)
            #expect(String(decoding: UnsafeRawBufferPointer(rebasing: p[parsed.tags]), as: UTF8.self) == c.tags)
            #expect(parsed.tagStyle == c.style)
            #expect(parsed.unknownFields == c.unknownFields)
        }
    }

    static let invalid: [(String, RejectReason)] = [
        ("nocolon", .malformedLine),
        ("a:1", .malformedLine),
        ("a:|c", .malformedLine),
        ("a:1|", .malformedLine),
        (":1|c", .invalidName),
        ("a b:1|c", .invalidName),
        ("a{b}:1|c", .invalidName),
        ("a:1|x", .unknownType),
        ("a:1|msx", .unknownType),
        ("a:1|c|@0", .invalidSampleRate),
        ("a:1|c|@1.5", .invalidSampleRate),
        ("a:1|c|@-1", .invalidSampleRate),
        ("a:1|c|@abc", .invalidSampleRate),
        ("a:1|c|@0.5|@0.5", .malformedLine),
        ("a:1|c|#a:b|#c:d", .malformedLine),
        ("a:1|c||#a:b", .malformedLine),
        ("req,k=v:1|c|#k2:v2", .mixedTagStyles),
        ("req#k=v:1|c|#k2:v2", .mixedTagStyles),
        ("req[k=v]:1|c|#k2:v2", .mixedTagStyles),
        ("req[k=v:1|c", .malformedLine),
        ("req[k=v]x:1|c", .malformedLine),
        ("req,k=v|c", .malformedLine),
        (String(repeating: "n", count: 201) + ":1|c", .nameTooLong),
    ]

    @Test(arguments: invalid)
    func rejectsInvalidLine(_ line: String, _ reason: RejectReason) {
        var line = line
        line.withUTF8 { buf in
            switch StatsDLine.parse(UnsafeRawBufferPointer(buf)) {
            case .success: Issue.record("accepted a bad line")
            case .failure(let e):
                #expect(e.reason == reason)
                #expect(!e.detail.isEmpty)
            }
        }
    }

    @Test func nameOfExactly200BytesIsAccepted() {
        var line = String(repeating: "n", count: 200) + ":1|c"
        line.withUTF8 { #expect((try? StatsDLine.parse(UnsafeRawBufferPointer($0)).get()) != nil) }
    }

    @Test func tagIteratorSplitsKeysValuesAndValuelessTags() {
        var line = "k:v,,flag,url:http://x:80/a,empty:"
        line.withUTF8 { buf in
            let p = UnsafeRawBufferPointer(buf)
            var it = TagIterator(p, 0..<p.count)
            var got: [String] = []
            while let t = it.next() {
                let k = String(decoding: UnsafeRawBufferPointer(rebasing: p[t.key]), as: UTF8.self)
                let v = String(decoding: UnsafeRawBufferPointer(rebasing: p[t.value]), as: UTF8.self)
                got.append(t.hasValue ? "\(k)=\(v)" : "\(k)!")
            }
            #expect(got == ["k=v", "flag!", "url=http://x:80/a", "empty="])
        }
    }

    /// Names of every length to 40 (the 16-byte scan, its overlapping last step and the byte
    /// loop), made of name bytes with at most one other byte anywhere: the parser keeps or
    /// refuses each like the rule `[A-Za-z0-9_.-]+`, and knows whether the name has a `.`.
    @Test func namesOfEveryLengthAreCheckedByteForByte() {
        var rng = SystemRandomNumberGenerator()
        let good = Array("abcxyzABCXYZ0189_.-".utf8)
        let bad = Array("!\"$%&'()*/;<=>?@[\\]^`{}~ \u{7F}".utf8) + [0x80, 0xC3, 0xFF]
        for length in 1..<41 {
            for _ in 0..<40 {
                var name = (0..<length).map { _ in good[Int(rng.next() % UInt64(good.count))] }
                let odd = rng.next() % 3 == 0
                if odd { name[Int(rng.next() % UInt64(length))] = bad[Int(rng.next() % UInt64(bad.count))] }
                let line = name + Array(":1|c|#k:v".utf8)
                line.withUnsafeBytes { p in
                    switch StatsDLine.parse(p) {
                    case .success(let parsed):
                        #expect(!odd, "\(name) parsed")
                        #expect(parsed.name == 0..<length)
                        #expect(parsed.nameHasDot == name.contains(0x2E), "\(name)")
                    case .failure(let e):
                        #expect(odd, "\(name): \(e.detail)")
                    }
                }
            }
        }
    }
}
