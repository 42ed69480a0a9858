import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

/// One remote-write POST over NIO's own HTTP/1.1 client pipeline (one connection per request:
/// at one request per endpoint every few seconds, keep-alive would save nothing worth its
/// state), on tallyd's remote-write event loop, so a slow receiver never holds a loop that
/// ingest or scrapes use.
enum RemoteWriteClient {
    struct Response: Sendable {
        var status: Int
        /// Seconds, from `Retry-After` (delta-seconds only).
        var retryAfter: Double?
        /// The first 4 KiB of the body, for the log.
        var body: String
    }

    struct Timeout: Error, CustomStringConvertible {
        let seconds: Double
        var description: String { "no answer within \(seconds)s" }
    }

    struct Closed: Error, CustomStringConvertible {
        var description: String { "the receiver closed the connection before answering" }
    }

    static func post(
        _ target: RemoteWriteEndpoint, body: [UInt8], headers: [(String, String)], timeout: Double,
        group: any EventLoopGroup, tls: NIOSSLContext?
    ) async throws -> Response {
        guard let parts = target.parts else { throw Closed() }
        let loop = group.next()
        let promise = loop.makePromise(of: Response.self)
        let bootstrap = ClientBootstrap(group: loop)
            .connectTimeout(.milliseconds(Int64(timeout * 1000)))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let sync = channel.pipeline.syncOperations
                    if parts.tls, let tls {
                        let sni = (try? SocketAddress(ipAddress: parts.host, port: 0)) == nil ? parts.host : nil
                        try sync.addHandler(NIOSSLClientHandler(context: tls, serverHostname: sni))
                    }
                    try sync.addHTTPClientHandlers()
                    try sync.addHandler(ResponseCollector(promise))
                }
            }
        let timer = loop.scheduleTask(in: .milliseconds(Int64(timeout * 1000))) {
            promise.fail(Timeout(seconds: timeout))
        }
        defer { timer.cancel() }
        let channel: any Channel
        do {
            channel = try await bootstrap.connect(host: parts.host, port: parts.port).get()
        } catch {
            promise.fail(error)
            throw error
        }
        defer { channel.close(promise: nil) }
        var head = HTTPRequestHead(version: .http1_1, method: .POST, uri: parts.path)
        let defaultPort = parts.tls ? 443 : 80
        head.headers.add(name: "Host", value: parts.port == defaultPort ? parts.host : "\(parts.host):\(parts.port)")
        head.headers.add(name: "Content-Length", value: String(body.count))
        head.headers.add(name: "Connection", value: "close")
        for (name, value) in headers { head.headers.add(name: name, value: value) }
        var buffer = channel.allocator.buffer(capacity: body.count)
        buffer.writeBytes(body)
        channel.write(HTTPClientRequestPart.head(head), promise: nil)
        channel.write(HTTPClientRequestPart.body(.byteBuffer(buffer)), promise: nil)
        channel.writeAndFlush(HTTPClientRequestPart.end(nil), promise: nil)
        return try await promise.futureResult.get()
    }

    /// Collects the status, `Retry-After` and the start of the body.
    final class ResponseCollector: ChannelInboundHandler {
        typealias InboundIn = HTTPClientResponsePart

        private let promise: EventLoopPromise<Response>
        private var response: Response?

        init(_ promise: EventLoopPromise<Response>) { self.promise = promise }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head(let h):
                response = Response(
                    status: Int(h.status.code), retryAfter: h.headers["Retry-After"].first.flatMap { Double($0) },
                    body: "")
            case .body(var b):
                if var r = response, r.body.utf8.count < 4096 {
                    r.body += b.readString(length: min(b.readableBytes, 4096 - r.body.utf8.count)) ?? ""
                    response = r
                }
            case .end:
                if let response { promise.succeed(response) }
                context.close(promise: nil)
            }
        }

        func channelInactive(context: ChannelHandlerContext) {
            promise.fail(Closed())
            context.fireChannelInactive()
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            promise.fail(error)
            context.close(promise: nil)
        }
    }
}
