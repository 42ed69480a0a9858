import NIOCore
import TallyCore
import TallySystem

/// Hands each received datagram to this channel's own `Ingestor`.
final class UDPIngestHandler: ChannelInboundHandler {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>

    private let ingestor: Ingestor

    init(ingestor: Ingestor) { self.ingestor = ingestor }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let envelope = unwrapInboundIn(data)
        let now = WallClock.now()
        envelope.data.withUnsafeReadableBytes { ingestor.ingest(packet: $0, now: now) }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        // A datagram socket reports per-packet errors (e.g. ICMP); they must not close it.
    }
}
