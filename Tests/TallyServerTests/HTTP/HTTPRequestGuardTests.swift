import Logging
import NIOCore
import NIOEmbedded
import Testing

@testable import TallyServer

/// The guard on bytes, through NIO's `EmbeddedChannel` and its virtual clock.
@Suite struct HTTPRequestGuardTests {
    static func channel() throws -> (EmbeddedChannel, HTTPRefusals) {
        let refusals = HTTPRefusals(logger: Logger(label: "test"))
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(HTTPRequestGuard(endpoint: "x", refusals: refusals))
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        return (channel, refusals)
    }

    static func send(_ channel: EmbeddedChannel, _ text: String) throws {
        try channel.writeInbound(channel.allocator.buffer(string: text))
    }

    static func written(_ channel: EmbeddedChannel) throws -> String {
        var out = ""
        while let b = try channel.readOutbound(as: ByteBuffer.self) { out += String(buffer: b) }
        return out
    }

    @Test func aNormalRequestPassesUntouchedEvenInPieces() throws {
        let (channel, refusals) = try Self.channel()
        try Self.send(channel, "GET /metrics HTTP/1.1\r\nHost: x\r")
        try Self.send(channel, "\n\r\n")
        var seen = ""
        while let b = try channel.readInbound(as: ByteBuffer.self) { seen += String(buffer: b) }
        #expect(seen == "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(channel.isActive)
        #expect(refusals.total(.headersTooLarge, endpoint: "x") == 0)
    }

    @Test func headersOver8KiBGet431AndTheConnectionCloses() throws {
        let (channel, refusals) = try Self.channel()
        try Self.send(channel, "GET /metrics HTTP/1.1\r\nX-Big: " + String(repeating: "a", count: 9000))
        #expect(try Self.written(channel).hasPrefix("HTTP/1.1 431 Request Header Fields Too Large\r\n"))
        #expect(!channel.isActive)
        #expect(refusals.total(.headersTooLarge, endpoint: "x") == 1)
    }

    @Test func aRequestNotCompleteWithin10sIsClosed() throws {
        let (channel, refusals) = try Self.channel()
        try Self.send(channel, "GET /metrics HTTP/1.1\r\nHost: x\r\n")
        channel.embeddedEventLoop.advanceTime(by: .seconds(9))
        #expect(channel.isActive)
        channel.embeddedEventLoop.advanceTime(by: .seconds(2))
        #expect(!channel.isActive)
        #expect(refusals.total(.requestTimeout, endpoint: "x") == 1)
    }

    @Test func anIdleKeepAliveConnectionClosesAfter60sButNotDuringAResponse() throws {
        let (channel, refusals) = try Self.channel()
        try Self.send(channel, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        channel.pipeline.triggerUserOutboundEvent(HTTPRequestGuard.Event.requestComplete, promise: nil)
        channel.embeddedEventLoop.advanceTime(by: .seconds(70))
        #expect(channel.isActive)  // the response is still being written
        channel.pipeline.triggerUserOutboundEvent(HTTPRequestGuard.Event.responseWritten, promise: nil)
        channel.embeddedEventLoop.advanceTime(by: .seconds(59))
        #expect(channel.isActive)
        channel.embeddedEventLoop.advanceTime(by: .seconds(2))
        #expect(!channel.isActive)
        #expect(refusals.total(.requestTimeout, endpoint: "x") == 0)
    }
}

@Suite struct ConnectionTableTests {
    @Test func pastTheLimitTheLongestIdleMakesRoomAndBusyOnesNever() throws {
        let table = ConnectionTable()
        let channels = (0..<4).map { _ in EmbeddedChannel() }
        for c in channels { try c.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait() }
        guard case .admitted(let a) = table.admit(channels[0], limit: 2, now: 1),
            case .admitted(let b) = table.admit(channels[1], limit: 2, now: 2)
        else {
            Issue.record("two fit under a limit of two")
            return
        }
        b.busy()
        // The third closes the idle first one, not the busy second.
        guard case .admittedClosingIdle(let c) = table.admit(channels[2], limit: 2, now: 3) else {
            Issue.record("an idle connection must make room")
            return
        }
        #expect(!channels[0].isActive && channels[1].isActive && table.count == 2)
        _ = a
        c.busy()
        // Every connection mid-request: the new one is refused.
        guard case .refused = table.admit(channels[3], limit: 2, now: 4) else {
            Issue.record("with none idle the new connection is refused")
            return
        }
        #expect(channels[1].isActive && channels[2].isActive && table.count == 2)
    }
}
