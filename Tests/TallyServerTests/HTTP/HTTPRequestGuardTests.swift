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
