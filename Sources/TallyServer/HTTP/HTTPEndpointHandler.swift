import NIOCore
import NIOHTTP1

/// A minimal HTTP/1.1 responder: `GET`/`HEAD` on known paths, 404 elsewhere, 405 for other
/// methods. What each path returns is given by `route`, called on the endpoint's event loop.
final class HTTPEndpointHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    struct Response: Sendable {
        var status: HTTPResponseStatus
        var contentType: String
        var body: [UInt8]

        /// A plain-text answer (health checks, errors).
        static func text(_ text: String, status: HTTPResponseStatus = .ok) -> Response {
            Response(status: status, contentType: "text/plain; charset=utf-8", body: Array(text.utf8))
        }
    }

    /// Given the path (query removed), the response; nil = 404.
    typealias Route = @Sendable (String) -> Response?

    private let route: Route
    private let name: String
    private let inFlight: InFlightRequests
    private var head: HTTPRequestHead?

    init(name: String, inFlight: InFlightRequests, route: @escaping Route) {
        self.name = name
        self.inFlight = inFlight
        self.route = route
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let h): head = h
        case .body: break
        case .end:
            guard let head else { return }
            self.head = nil
            respond(context: context, head: head)
        }
    }

    private func respond(context: ChannelHandlerContext, head: HTTPRequestHead) {
        inFlight.begin()
        let path = String(head.uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first ?? "")
        var response: Response
        if head.method != .GET && head.method != .HEAD {
            response = .text("method \(head.method.rawValue) not allowed; use GET\n", status: .methodNotAllowed)
        } else if let r = route(path) {
            response = r
        } else {
            response = .text("404 not found: \(name) serves /metrics\n", status: .notFound)
        }
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: response.contentType)
        headers.add(name: "Content-Length", value: String(response.body.count))
        if response.status == .methodNotAllowed { headers.add(name: "Allow", value: "GET, HEAD") }
        let keepAlive = head.isKeepAlive
        if !keepAlive { headers.add(name: "Connection", value: "close") }
        context.write(
            wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: response.status, headers: headers))),
            promise: nil)
        if head.method != .HEAD {
            var buffer = context.channel.allocator.buffer(capacity: response.body.count)
            buffer.writeBytes(response.body)
            context.write(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
        }
        let done = context.writeAndFlush(wrapOutboundOut(.end(nil)))
        let inFlight = self.inFlight
        done.whenComplete { _ in inFlight.end() }
        if !keepAlive {
            let ctx = NIOLoopBound(context, eventLoop: context.eventLoop)
            done.whenComplete { _ in ctx.value.close(promise: nil) }
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        context.close(promise: nil)
    }
}
