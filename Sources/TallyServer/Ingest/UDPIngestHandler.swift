import NIOCore
import TallyCore
import TallySystem

/// Hands each received datagram to this channel's own `Ingestor`.
///
/// NIO reads up to 32 datagrams per wakeup and delivers them one `channelRead` each, then one
/// `channelReadComplete`: the clock is read once per such burst, not once per datagram (stamps
/// are tenths of a second; a burst takes microseconds).
final class UDPIngestHandler: ChannelInboundHandler {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>

    private let ingestor: Ingestor
    private var burstTime: Double?

    init(ingestor: Ingestor) { self.ingestor = ingestor }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let envelope = unwrapInboundIn(data)
        let now: Double
        if let t = burstTime {
            now = t
        } else {
            now = WallClock.now()
            burstTime = now
        }
        envelope.data.withUnsafeReadableBytes { ingestor.ingest(packet: $0, now: now) }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        burstTime = nil
        context.fireChannelReadComplete()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        // A datagram socket reports per-packet errors (e.g. ICMP); they must not close it.
    }
}
