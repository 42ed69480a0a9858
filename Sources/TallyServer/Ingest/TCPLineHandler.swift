import NIOCore
import TallyCore
import TallySystem

/// Frames a TCP byte stream into newline-terminated lines for the event loop's `Ingestor`.
///
/// Complete lines of each read are folded as one packet; a partial line waits for the next
/// read. A partial line longer than `maxLineLength` is refused (`line_too_long`) and the rest
/// of it skipped up to the next newline, so one runaway sender loses one line, not the
/// connection. A partial line left when the peer closes is refused as `truncated_line`.
final class TCPLineHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    private let ingestor: Ingestor
    private let maxLineLength: Int
    private var pending: [UInt8] = []
    private var skippingToNewline = false

    init(ingestor: Ingestor, maxLineLength: Int) {
        self.ingestor = ingestor
        self.maxLineLength = maxLineLength
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        let now = MonotonicClock.now()
        buffer.withUnsafeReadableBytes { bytes in
            var start = 0
            if skippingToNewline {
                guard let nl = bytes.firstIndex(of: 0x0A) else { return }
                skippingToNewline = false
                start = nl + 1
            }
            if !pending.isEmpty {
                guard let nl = bytes[start...].firstIndex(of: 0x0A) else {
                    hold(UnsafeRawBufferPointer(rebasing: bytes[start...]), now: now)
                    return
                }
                pending.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[start..<nl]))
                pending.withUnsafeBytes { ingestor.ingest(packet: $0, now: now) }
                pending.removeAll(keepingCapacity: true)
                start = nl + 1
            }
            guard start < bytes.count else { return }
            if let last = bytes[start...].lastIndex(of: 0x0A) {
                ingestor.ingest(packet: UnsafeRawBufferPointer(rebasing: bytes[start..<last]), now: now)
                start = last + 1
            }
            if start < bytes.count { hold(UnsafeRawBufferPointer(rebasing: bytes[start...]), now: now) }
        }
    }

    /// Keeps a partial line, refusing it once it outgrows the limit.
    private func hold(_ bytes: UnsafeRawBufferPointer, now: Double) {
        pending.append(contentsOf: bytes)
        if pending.count > maxLineLength {
            pending.withUnsafeBytes {
                ingestor.refuse(
                    .lineTooLong, "line is over max_line_length (\(maxLineLength) bytes); skipped to the next newline",
                    line: UnsafeRawBufferPointer(rebasing: $0.prefix(200)), now: now)
            }
            pending.removeAll(keepingCapacity: false)
            skippingToNewline = true
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        if !pending.isEmpty {
            pending.withUnsafeBytes {
                ingestor.refuse(
                    .truncatedLine, "connection closed after \($0.count) bytes of an unfinished line", line: $0,
                    now: MonotonicClock.now())
            }
            pending.removeAll()
        }
        context.fireChannelInactive()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is IdleStateHandler.IdleStateEvent {
            context.close(promise: nil)  // tcp_idle_timeout: nothing read for that long
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        context.close(promise: nil)
    }
}
