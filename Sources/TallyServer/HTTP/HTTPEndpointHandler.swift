import NIOCore
import NIOHTTP1
import TallyCore

/// A minimal HTTP/1.1 responder. What each request gets is decided by `route`, called on the
/// endpoint's event loop: a response now, one later (a reload runs in its own service), or nil
/// for 404. `GET` routes answer `HEAD` too, without the body.
final class HTTPEndpointHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    struct Response: Sendable {
        var status: HTTPResponseStatus
        var contentType: String
        var body: [UInt8]
        var headers: [(String, String)] = []

        /// A plain-text answer (health checks, errors).
        static func text(_ text: String, status: HTTPResponseStatus = .ok) -> Response {
            Response(status: status, contentType: "text/plain; charset=utf-8", body: Array(text.utf8))
        }

        /// 405 naming what the path takes.
        static func methodNotAllowed(_ method: HTTPMethod, allow: String) -> Response {
            var r = text("method \(method.rawValue) not allowed; use \(allow)\n", status: .methodNotAllowed)
            r.headers.append(("Allow", allow))
            return r
        }
    }

    struct Request: Sendable {
        var method: HTTPMethod
        /// Without the query.
        var path: String
        /// `?a=1&b=2`, percent-decoding left out (names and values here are plain words).
        var query: [String: String]
        /// What the `Accept` header asks for.
        var format: ExpositionFormat

        init(method: HTTPMethod, uri: String, accept: String? = nil) {
            self.method = method
            format = ExpositionFormat(accept: accept)
            let parts = uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
            path = String(parts.first ?? "")
            var query: [String: String] = [:]
            if parts.count > 1 {
                for pair in parts[1].split(separator: "&") {
                    let kv = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                    query[String(kv[0])] = kv.count > 1 ? String(kv[1]) : ""
                }
            }
            self.query = query
        }

        var isRead: Bool { method == .GET || method == .HEAD }
    }

    enum Reply: Sendable {
        case now(Response)
        case later(EventLoopFuture<Response>)
    }

    /// The reply to a request; nil = 404.
    typealias Route = @Sendable (Request, any EventLoop) -> Reply?

    /// A route that only reads: `GET`/`HEAD` on the paths `paths` answers, 405 for any other
    /// method, 404 elsewhere.
    static func readOnly(_ paths: @escaping @Sendable (Request) -> Response?) -> Route {
        { request, _ in
            guard request.isRead else { return .now(.methodNotAllowed(request.method, allow: "GET, HEAD")) }
            return paths(request).map { .now($0) }
        }
    }

    private let route: Route
    private let name: String
    /// The endpoint as counters and logs name it: the service, or `admin`.
    private let endpoint: String
    private let serving: HTTPServing
    private var inFlight: InFlightRequests { serving.inFlight }
    private var head: HTTPRequestHead?

    init(name: String, endpoint: String, serving: HTTPServing, route: @escaping Route) {
        self.name = name
        self.endpoint = endpoint
        self.serving = serving
        self.route = route
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let h): head = h
        case .body: break
        case .end:
            guard let head else { return }
            self.head = nil
            context.triggerUserOutboundEvent(HTTPRequestGuard.Event.requestComplete, promise: nil)
            authorize(context: context, head: head)
        }
    }

    /// Basic auth first, when the web config has users: a wrong password never reaches a route.
    private func authorize(context: ChannelHandlerContext, head: HTTPRequestHead) {
        let address = context.remoteAddress?.ipAddress ?? "unix"
        switch serving.security.decide(authorization: head.headers["Authorization"].first, address: address) {
        case .allowed:
            respond(context: context, head: head)
        case .challenge:
            inFlight.begin()
            write(Self.unauthorized, head: head, context: context)
        case .refused:
            serving.refusals.count(.authFailed, endpoint: endpoint, detail: "from \(address)")
            inFlight.begin()
            write(Self.unauthorized, head: head, context: context)
        case .limited(let retryAfter):
            serving.refusals.count(.authRateLimited, endpoint: endpoint, detail: "from \(address)")
            inFlight.begin()
            var r = Response.text("429 too many failed logins from \(address); retry later\n", status: .tooManyRequests)
            r.headers.append(("Retry-After", String(retryAfter)))
            write(r, head: head, context: context)
        case .verify(let pending):
            let ctx = NIOLoopBound(context, eventLoop: context.eventLoop)
            let handler = NIOLoopBound(self, eventLoop: context.eventLoop)
            serving.security.verify(pending, on: context.eventLoop).whenComplete { result in
                let h = handler.value
                if case .success(true) = result {
                    h.respond(context: ctx.value, head: head)
                } else {
                    h.serving.refusals.count(.authFailed, endpoint: h.endpoint, detail: "from \(address)")
                    h.inFlight.begin()
                    h.write(Self.unauthorized, head: head, context: ctx.value)
                }
            }
        }
    }

    static var unauthorized: Response {
        var r = Response.text("401 unauthorized: basic auth required\n", status: .unauthorized)
        r.headers.append(("WWW-Authenticate", "Basic realm=\"tallyd\", charset=\"UTF-8\""))
        return r
    }

    private func respond(context: ChannelHandlerContext, head: HTTPRequestHead) {
        inFlight.begin()
        let accept = head.headers["Accept"]
        let request = Request(
            method: head.method, uri: head.uri, accept: accept.isEmpty ? nil : accept.joined(separator: ","))
        switch route(request, context.eventLoop) {
        case .now(let response)?:
            write(response, head: head, context: context)
        case .later(let future)?:
            let ctx = NIOLoopBound(context, eventLoop: context.eventLoop)
            let handler = NIOLoopBound(self, eventLoop: context.eventLoop)
            future.whenComplete { result in
                let response: Response
                switch result {
                case .success(let r): response = r
                case .failure(let e): response = .text("\(e)\n", status: .internalServerError)
                }
                handler.value.write(response, head: head, context: ctx.value)
            }
        case nil:
            write(.text("404 not found: \(serves)\n", status: .notFound), head: head, context: context)
        }
    }

    /// What a 404 says this endpoint serves.
    private var serves: String {
        guard endpoint == "admin" else { return "\(name) serves /metrics" }
        return "\(name) serves / (the status page), /api/v1/status, /metrics, /-/healthy, /-/ready and POST /-/reload"
    }

    /// Bodies smaller than this go as they are: compressing them saves nothing worth the time.
    static let gzipThreshold = 1024

    private func write(_ response: Response, head: HTTPRequestHead, context: ChannelHandlerContext) {
        var headers = HTTPHeaders()
        var body = response.body
        if body.count >= Self.gzipThreshold, head.headers["Accept-Encoding"].contains(where: Gzip.accepted),
            let compressed = Gzip.compress(body)
        {
            body = compressed
            headers.add(name: "Content-Encoding", value: "gzip")
        }
        if response.body.count >= Self.gzipThreshold { headers.add(name: "Vary", value: "Accept-Encoding") }
        headers.add(name: "Content-Type", value: response.contentType)
        headers.add(name: "Content-Length", value: String(body.count))
        for (name, value) in response.headers { headers.add(name: name, value: value) }
        for (name, value) in serving.security.headers { headers.add(name: name, value: value) }
        let keepAlive = head.isKeepAlive
        if !keepAlive { headers.add(name: "Connection", value: "close") }
        context.write(
            wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: response.status, headers: headers))),
            promise: nil)
        if head.method != .HEAD {
            var buffer = context.channel.allocator.buffer(capacity: body.count)
            buffer.writeBytes(body)
            context.write(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
        }
        let done = context.writeAndFlush(wrapOutboundOut(.end(nil)))
        let inFlight = self.inFlight
        let written = NIOLoopBound(context, eventLoop: context.eventLoop)
        done.whenComplete { _ in
            inFlight.end()
            written.value.triggerUserOutboundEvent(HTTPRequestGuard.Event.responseWritten, promise: nil)
        }
        if !keepAlive {
            let ctx = NIOLoopBound(context, eventLoop: context.eventLoop)
            done.whenComplete { _ in ctx.value.close(promise: nil) }
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        context.close(promise: nil)
    }
}
