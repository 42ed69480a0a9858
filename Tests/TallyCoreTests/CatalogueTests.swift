import Testing

@testable import TallyCore

@Suite struct CatalogueTests {
    static let bad: [([FamilyDescriptor], Catalogue.ValidationError)] = [
        ([.init(name: "1bad", type: .gauge, help: "", labels: [])], .invalidFamilyName("1bad")),
        ([.init(name: "c", type: .counter, help: "", labels: [])], .counterWithoutTotal("c")),
        ([.init(name: "g", type: .gauge, help: "", labels: ["a-b"])], .invalidLabelName(family: "g", label: "a-b")),
        ([.init(name: "g", type: .gauge, help: "", labels: ["a", "a"])], .duplicateLabel(family: "g", label: "a")),
        (
            [.init(name: "h", type: .histogram, help: "", labels: ["le"], buckets: [1])],
            .reservedLabel(family: "h", label: "le")
        ),
        (
            [.init(name: "h", type: .histogram, help: "", labels: [], buckets: [2, 1])],
            .badBuckets(family: "h", reason: "bucket bounds must be strictly ascending")
        ),
        (
            [
                .init(name: "h", type: .histogram, help: "", labels: [], buckets: [1]),
                .init(name: "h_count", type: .gauge, help: "", labels: []),
            ], .duplicateFamily("h_count")
        ),
    ]

    @Test(arguments: bad)
    func rejectsInvalidFamilies(_ families: [FamilyDescriptor], _ error: Catalogue.ValidationError) {
        #expect(throws: error) { try Catalogue(families: families) }
    }

    @Test func unitIsReadFromTheName() {
        #expect(
            FamilyDescriptor(name: "a_seconds", type: .histogram, help: "", labels: [], buckets: [1]).unit == .seconds)
        #expect(FamilyDescriptor(name: "a_bytes", type: .summary, help: "", labels: []).unit == .bytes)
        #expect(FamilyDescriptor(name: "a_usd", type: .gauge, help: "", labels: []).unit == FamilyUnit.none)
    }

    @Test func byteKeyTableFindsEverythingItInserted() {
        var t = ByteKeyTable(capacity: 1)
        let keys = (0..<50_000).map { Array("key-\($0)-\($0 * 7919)".utf8) }
        for (i, k) in keys.enumerated() {
            k.withUnsafeBytes { b in
                #expect(t.find(b, hash: ByteHash.hash(b)) == nil)
                #expect(t.insert(b, hash: ByteHash.hash(b)) == i)
            }
        }
        for (i, k) in keys.enumerated() {
            k.withUnsafeBytes { b in #expect(t.find(b, hash: ByteHash.hash(b)) == i) }
        }
        Array("missing".utf8).withUnsafeBytes { b in #expect(t.find(b, hash: ByteHash.hash(b)) == nil) }
        #expect(t.count == keys.count)
    }
}
