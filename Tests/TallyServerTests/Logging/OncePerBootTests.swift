import Foundation
import Testing

@testable import TallyServer

@Suite struct OncePerBootTests {
    @Test func aKeyIsFirstOncePerBootAndEachKeyOnItsOwn() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("once-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        #expect(OncePerBoot.bootID() != nil)
        #expect(OncePerBoot.first("a", directory: dir.path))
        #expect(!OncePerBoot.first("a", directory: dir.path))
        #expect(OncePerBoot.first("b", directory: dir.path))
        // A stamp from another boot warns again.
        let stamp = dir.appendingPathComponent("tallyd-\(getuid())-a.boot")
        try "another-boot".write(to: stamp, atomically: true, encoding: .utf8)
        #expect(OncePerBoot.first("a", directory: dir.path))
    }
}
