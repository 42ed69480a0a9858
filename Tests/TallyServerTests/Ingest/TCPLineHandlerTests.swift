import Logging
import NIOCore
import NIOEmbedded
import TallyCore
import Testing

@testable import TallyServer

/// TCP framing through NIO's `EmbeddedChannel`: lines split across reads, several per read,
/// a runaway partial line, and a partial line left at close.
@Suite struct TCPLineHandlerTests {
    /// A registry on the embedded default config and a channel whose handler folds into it.
    static func channel(maxLineLength: Int = 64) throws -> (EmbeddedChannel, Registry) {
        let loaded = try LoadedConfig(TallyConfig.embeddedDefault())
        let registry = loaded.makeRegistry(now: 0)
        let ingestors = IngestorFactory(registry: registry, config: loaded.config, logger: Logger(label: "test"))
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(
            TCPLineHandler(ingestor: ingestors.make(transport: "tcp"), maxLineLength: maxLineLength))
        return (channel, registry)
    }

    static func stats(_ registry: Registry) -> IngestStats {
        var total = IngestStats()
        for (_, s) in registry.ingestStats() { total.merge(s) }
        return total
    }

    static func write(_ channel: EmbeddedChannel, _ text: String) throws {
        try channel.writeInbound(channel.allocator.buffer(string: text))
    }

    static let line = "db_connections_total:7|g|#service:risk_manager"

    @Test func linesSplitAcrossReadsAreJoined() throws {
        let (channel, registry) = try Self.channel()
        try Self.write(channel, String(Self.line.prefix(10)))
        #expect(Self.stats(registry).lines == 0)
        try Self.write(channel, String(Self.line.dropFirst(10)) + "\n" + Self.line + "\n")
        let stats = Self.stats(registry)
        #expect(stats.lines == 2)
        #expect(stats.accepted == 2)
        _ = try channel.finish()
    }

    @Test func aRunawayLineIsRefusedOnceAndTheNextLineCounts() throws {
        let (channel, registry) = try Self.channel(maxLineLength: 64)
        try Self.write(channel, String(repeating: "x", count: 50))
        try Self.write(channel, String(repeating: "y", count: 50))
        #expect(Self.stats(registry).rejected(.lineTooLong) == 1)
        // The rest of the runaway line is skipped up to its newline; the next line is whole.
        try Self.write(channel, String(repeating: "z", count: 30) + "\n" + Self.line + "\n")
        let stats = Self.stats(registry)
        #expect(stats.rejected(.lineTooLong) == 1)
        #expect(stats.accepted == 1)
        _ = try channel.finish()
    }

    @Test func aPartialLineAtCloseIsATruncatedLine() throws {
        let (channel, registry) = try Self.channel()
        try Self.write(channel, Self.line + "\n" + "db_conn")
        _ = try channel.finish()
        let stats = Self.stats(registry)
        #expect(stats.accepted == 1)
        #expect(stats.rejected(.truncatedLine) == 1)
    }
}
