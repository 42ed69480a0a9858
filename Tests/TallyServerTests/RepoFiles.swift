import Foundation

/// Files of this repository (and the shared seed spec beside it), found from this source file.
enum RepoFiles {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    static func text(_ relative: String) throws -> String {
        try String(contentsOf: root.appendingPathComponent(relative), encoding: .utf8)
    }

    /// The seed spec from ../shared/seed/, if this checkout has one beside it.
    static func seedSpec() -> String? {
        let dir = root.deletingLastPathComponent().appendingPathComponent("shared/seed")
        guard let files = try? FileManager.default.contentsOfDirectory(atPath: dir.path) else { return nil }
        for f in files.sorted() where f.hasSuffix(".txt") {
            if let text = try? String(contentsOf: dir.appendingPathComponent(f), encoding: .utf8),
                text.contains("Prometheus Metrics Documentation")
            {
                return text
            }
        }
        return nil
    }
}
