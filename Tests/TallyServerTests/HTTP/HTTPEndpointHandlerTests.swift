import Logging
import NIOCore
import NIOEmbedded
import NIOHTTP1
import NIOPosix
import Synchronization
import Testing

@testable import TallyServer

/// Routing through NIO's `EmbeddedChannel`: known paths, 404, 405, HEAD, query strings, and
/// the in-flight count shutdown waits on.
@Suite struct HTTPEndpointHandlerTests {
    /// What the endpoints share, with no web config (no TLS, no users).
    static func serving() -> HTTPServing {
        HTTPServing(
            maxConnections: 64, security: try! WebSecurity(nil, pool: NIOThreadPool(numberOfThreads: 1)),
            logger: Logger(label: "test"))
    }

    static func channel(serving: HTTPServing = serving()) throws -> EmbeddedChannel {
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(
            HTTPEndpointHandler(
                name: "risk_manager", endpoint: "risk_manager", serving: serving,
                route: HTTPEndpointHandler.readOnly { request in
                    request.path == "/metrics" ? .text("up 1\n") : nil
                }))
        return channel
    }

    /// Sends one request and reads back (head, body).
    static func request(
        _ channel: EmbeddedChannel, _ method: HTTPMethod, _ uri: String
    ) throws -> (HTTPResponseHead, String) {
        var head = HTTPRequestHead(version: .http1_1, method: method, uri: uri)
        head.headers.add(name: "Host", value: "localhost")
        try channel.writeInbound(HTTPServerRequestPart.head(head))
        try channel.writeInbound(HTTPServerRequestPart.end(nil))
        guard case .head(let response) = try channel.readOutbound(as: HTTPServerResponsePart.self) else {
            throw Missing.head
        }
        var body = ""
        while let part = try channel.readOutbound(as: HTTPServerResponsePart.self) {
            if case .body(.byteBuffer(let buffer)) = part { body += String(buffer: buffer) }
            if case .end = part { break }
        }
        return (response, body)
    }

    enum Missing: Error { case head }

    @Test func aKnownPathIsServedWithItsLength() throws {
        let channel = try Self.channel()
        let (head, body) = try Self.request(channel, .GET, "/metrics?x=1")
        #expect(head.status == .ok)
        #expect(body == "up 1\n")
        #expect(head.headers["Content-Length"] == ["5"])
        #expect(head.headers["Content-Type"] == ["text/plain; charset=utf-8"])
        _ = try channel.finish()
    }

    @Test func anUnknownPathIs404NamingWhatIsServed() throws {
        let channel = try Self.channel()
        let (head, body) = try Self.request(channel, .GET, "/other")
        #expect(head.status == .notFound)
        #expect(body == "404 not found: risk_manager serves /metrics\n")
        _ = try channel.finish()
    }

    @Test func otherMethodsAre405WithAllow() throws {
        let channel = try Self.channel()
        let (head, body) = try Self.request(channel, .POST, "/metrics")
        #expect(head.status == .methodNotAllowed)
        #expect(head.headers["Allow"] == ["GET, HEAD"])
        #expect(body == "method POST not allowed; use GET, HEAD\n")
        _ = try channel.finish()
    }

    @Test func headHasTheLengthButNoBody() throws {
        let channel = try Self.channel()
        let (head, body) = try Self.request(channel, .HEAD, "/metrics")
        #expect(head.status == .ok)
        #expect(head.headers["Content-Length"] == ["5"])
        #expect(body.isEmpty)
        _ = try channel.finish()
    }

    /// The route runs while its response counts as in flight; the count drops once written.
    @Test func aResponseIsInFlightUntilWritten() throws {
        let serving = Self.serving()
        let inFlight = serving.inFlight
        let seen = Mutex(-1)
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(
            HTTPEndpointHandler(name: "admin", endpoint: "admin", serving: serving) { _, _ in
                seen.withLock { $0 = inFlight.current }
                return .now(.text("ok\n"))
            })
        _ = try Self.request(channel, .GET, "/healthz")
        #expect(seen.withLock { $0 } == 1)
        #expect(inFlight.current == 0)
        _ = try channel.finish()
    }

    /// A reply that comes later (a reload) is written when it is ready, and counts as in flight
    /// until then.
    @Test func aLaterReplyIsWrittenWhenReady() throws {
        let serving = Self.serving()
        let inFlight = serving.inFlight
        let channel = EmbeddedChannel()
        let promise = channel.eventLoop.makePromise(of: HTTPEndpointHandler.Response.self)
        try channel.pipeline.syncOperations.addHandler(
            HTTPEndpointHandler(name: "admin", endpoint: "admin", serving: serving) { _, _ in
                .later(promise.futureResult)
            })
        var head = HTTPRequestHead(version: .http1_1, method: .POST, uri: "/-/reload")
        head.headers.add(name: "Host", value: "localhost")
        try channel.writeInbound(HTTPServerRequestPart.head(head))
        try channel.writeInbound(HTTPServerRequestPart.end(nil))
        #expect(try channel.readOutbound(as: HTTPServerResponsePart.self) == nil)
        #expect(inFlight.current == 1)
        promise.succeed(.text("bad\n", status: .badRequest))
        guard case .head(let response) = try channel.readOutbound(as: HTTPServerResponsePart.self) else {
            throw Missing.head
        }
        #expect(response.status == .badRequest)
        #expect(inFlight.current == 0)
        _ = try channel.finish()
    }

    @Test func theQueryIsParsedAndTheMethodKept() {
        let r = HTTPEndpointHandler.Request(method: .GET, uri: "/metrics?service=risk_manager&x")
        #expect(r.path == "/metrics")
        #expect(r.query == ["service": "risk_manager", "x": ""])
        #expect(r.isRead)
        #expect(!HTTPEndpointHandler.Request(method: .POST, uri: "/").isRead)
    }
}

/// gzip for scrapers that ask for it (Prometheus does), identity otherwise.
@Suite struct GzipTests {
    @Test(arguments: [
        ("gzip", true), ("gzip, deflate", true), ("deflate, gzip;q=0.5", true), ("*", true),
        ("identity", false), ("gzip;q=0", false), ("", false), ("br", false),
    ])
    func acceptEncoding(_ header: String, _ accepted: Bool) {
        #expect(Gzip.accepted(header) == accepted)
    }

    @Test func aLargeBodyIsCompressedWhenAskedAndOnlyThen() throws {
        let body = String(repeating: "http_requests_total{method=\"GET\"} 1\n", count: 200)
        for (accept, gzip) in [("gzip", true), ("identity", false)] {
            let channel = EmbeddedChannel()
            try channel.pipeline.syncOperations.addHandler(
                HTTPEndpointHandler(name: "x", endpoint: "x", serving: HTTPEndpointHandlerTests.serving()) { _, _ in
                    .now(.text(body))
                })
            var head = HTTPRequestHead(version: .http1_1, method: .GET, uri: "/metrics")
            head.headers.add(name: "Accept-Encoding", value: accept)
            try channel.writeInbound(HTTPServerRequestPart.head(head))
            try channel.writeInbound(HTTPServerRequestPart.end(nil))
            guard case .head(let response) = try channel.readOutbound(as: HTTPServerResponsePart.self) else {
                Issue.record("no head")
                return
            }
            var bytes: [UInt8] = []
            while let part = try channel.readOutbound(as: HTTPServerResponsePart.self) {
                if case .body(.byteBuffer(let b)) = part { bytes += Array(b.readableBytesView) }
                if case .end = part { break }
            }
            #expect(response.headers["Vary"] == ["Accept-Encoding"])
            if gzip {
                #expect(response.headers["Content-Encoding"] == ["gzip"])
                #expect(bytes.prefix(2) == [0x1F, 0x8B])
                #expect(bytes.count < body.utf8.count / 5)
            } else {
                #expect(response.headers["Content-Encoding"].isEmpty)
                #expect(bytes == Array(body.utf8))
            }
            #expect(response.headers["Content-Length"] == [String(bytes.count)])
            _ = try channel.finish()
        }
    }
}
