import NIOCore
import TallySystem

/// Bounds what one HTTP client can hold: request headers (request line, header lines and the
/// blank line ending them) of at most 8 KiB (431 beyond), a
/// request complete within 10 s of its first byte (a slowloris client is closed), and a
/// keep-alive connection idle at most 60 s. Sits between TLS and the HTTP decoder and passes
/// every byte through unchanged; `HTTPEndpointHandler` tells it, by outbound user events, when
/// a request is complete and when its response is written.
final class HTTPRequestGuard: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    struct Limits: Sendable {
        var maxHeaderBytes = 8192
        var requestTimeout = TimeAmount.seconds(10)
        var idleTimeout = TimeAmount.seconds(60)
    }

    /// Sent by the endpoint handler.
    enum Event: Sendable {
        case requestComplete
        case responseWritten
    }

    private let limits: Limits
    private let endpoint: String
    private let refusals: HTTPRefusals
    /// Header bytes of the request being read, and how much of `\r\n\r\n` they end with.
    private var headerBytes = 0
    private var terminator = 0
    private var readingRequest = false
    private var responsesPending = 0
    private var refused = false
    private var requestDeadline: Scheduled<Void>?
    private var idleDeadline: Scheduled<Void>?
    /// Where the endpoint's connection table sees whether this connection is idle.
    private let slot: ConnectionTable.Slot?

    init(endpoint: String, refusals: HTTPRefusals, limits: Limits = Limits(), slot: ConnectionTable.Slot? = nil) {
        self.endpoint = endpoint
        self.refusals = refusals
        self.limits = limits
        self.slot = slot
    }

    /// A new connection has `requestTimeout` to send its first request (a client that connects
    /// and says nothing is a slow client too).
    func channelActive(context: ChannelHandlerContext) {
        armRequestDeadline(context)
        context.fireChannelActive()
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { armRequestDeadline(context) }
    }

    func channelInactive(context: ChannelHandlerContext) {
        requestDeadline?.cancel()
        idleDeadline?.cancel()
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !refused else { return }
        let buffer = unwrapInboundIn(data)
        if !readingRequest {
            readingRequest = true
            slot?.busy()
            idleDeadline?.cancel()
            idleDeadline = nil
            if requestDeadline == nil { armRequestDeadline(context) }
        }
        if terminator < 4 {
            // Scan for the end of the header block; bytes after it are the body (or the next
            // request, which the next requestComplete starts counting).
            let view = buffer.readableBytesView
            var i = view.startIndex
            while i < view.endIndex && terminator < 4 {
                let b = view[i]
                let want: UInt8 = terminator % 2 == 0 ? 0x0D : 0x0A
                if b == want {
                    terminator += 1
                } else if b == 0x0D {
                    terminator = 1
                } else {
                    terminator = 0
                }
                headerBytes += 1
                i = view.index(after: i)
            }
            // Checked whether or not this read also ended the header block: a whole request in
            // one read is held to the limit like one that trickles in.
            if headerBytes > limits.maxHeaderBytes {
                refuse(
                    context, status: "431 Request Header Fields Too Large", reason: .headersTooLarge,
                    detail: "over \(limits.maxHeaderBytes) bytes of headers")
                return
            }
        }
        context.fireChannelRead(data)
    }

    func triggerUserOutboundEvent(context: ChannelHandlerContext, event: Any, promise: EventLoopPromise<Void>?) {
        guard let e = event as? Event else {
            context.triggerUserOutboundEvent(event, promise: promise)
            return
        }
        switch e {
        case .requestComplete:
            requestDeadline?.cancel()
            requestDeadline = nil
            readingRequest = false
            headerBytes = 0
            terminator = 0
            responsesPending += 1
        case .responseWritten:
            responsesPending = max(0, responsesPending - 1)
            if responsesPending == 0 && !readingRequest {
                slot?.idle(now: MonotonicClock.now())
                armIdle(context)
            }
        }
        promise?.succeed(())
    }

    private func armRequestDeadline(_ context: ChannelHandlerContext) {
        requestDeadline?.cancel()
        let ctx = NIOLoopBound(context, eventLoop: context.eventLoop)
        let handler = NIOLoopBound(self, eventLoop: context.eventLoop)
        requestDeadline = context.eventLoop.scheduleTask(in: limits.requestTimeout) {
            handler.value.refusals.count(.requestTimeout, endpoint: handler.value.endpoint)
            handler.value.refused = true
            ctx.value.close(promise: nil)
        }
    }

    private func armIdle(_ context: ChannelHandlerContext) {
        idleDeadline?.cancel()
        let ctx = NIOLoopBound(context, eventLoop: context.eventLoop)
        idleDeadline = context.eventLoop.scheduleTask(in: limits.idleTimeout) {
            ctx.value.close(promise: nil)  // an idle keep-alive connection: not an error
        }
    }

    private func refuse(_ context: ChannelHandlerContext, status: String, reason: HTTPRefusals.Reason, detail: String) {
        refused = true
        requestDeadline?.cancel()
        refusals.count(reason, endpoint: endpoint, detail: detail)
        let body = "\(status.drop { $0 != " " }.dropFirst())\n"
        var out = context.channel.allocator.buffer(capacity: 160)
        out.writeString(
            "HTTP/1.1 \(status)\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: \(body.utf8.count)\r\n"
                + "Connection: close\r\n\r\n\(body)")
        let ctx = NIOLoopBound(context, eventLoop: context.eventLoop)
        context.writeAndFlush(wrapOutboundOut(out)).whenComplete { _ in ctx.value.close(promise: nil) }
    }
}
