import Logging
import TallyCore
import Testing

@testable import TallyServer

#if canImport(Glibc)
    import Glibc
#endif

/// The UDP receive loop over a real loopback socket: what is queued when it is asked to stop
/// is still folded, and a second tallyd's plain bind is refused.
@Suite struct UDPReceiverTests {
    static func send(_ datagrams: [String], to port: Int) {
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        for datagram in datagrams {
            let sent = withUnsafePointer(to: &address) { a in
                a.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa in
                    Array(datagram.utf8).withUnsafeBytes {
                        sendto(fd, $0.baseAddress, $0.count, 0, sa, socklen_t(MemoryLayout<sockaddr_in>.size))
                    }
                }
            }
            #expect(sent == datagram.utf8.count)
        }
    }

    /// Stopped before it runs, the loop empties the queue without waiting and returns: every
    /// line of every queued datagram counts, over several `recvmmsg` batches.
    @Test func aStoppedLoopFoldsWhatIsQueuedAndReturns() throws {
        let loaded = try LoadedConfig(TallyConfig.embeddedDefault())
        let registry = loaded.makeRegistry(now: 0)
        let ingestors = IngestorFactory(registry: registry, config: loaded.config, logger: Logger(label: "test"))
        let receiver = try UDPReceiver(
            binding: HostPort(host: "127.0.0.1", port: 0), what: "test", reusePort: true, receiveBuffer: 1 << 20)
        defer { receiver.close() }
        #expect(receiver.port > 0)
        let packet = (0..<5).map { "db_connections_total:\($0)|g|#service:risk_manager" }.joined(separator: "\n")
        let datagrams = DatagramReceiveLoop.batch * 3 + 1
        Self.send(Array(repeating: packet, count: datagrams), to: receiver.port)
        receiver.stop()
        var ticks = 0
        receiver.run(ingestors.make(transport: "udp")) { ticks += 1 }
        var total = IngestStats()
        for (_, s) in registry.ingestStats() { total.merge(s) }
        #expect(total.packets == datagrams)
        #expect(total.lines == datagrams * 5)
        #expect(total.accepted == datagrams * 5)
        #expect(ticks >= 4)
    }

    /// The probe bind has no SO_REUSEPORT: a port another socket holds is refused, said the way
    /// an operator can act on.
    @Test func aPortInUseIsNamed() throws {
        let first = try UDPReceiver(
            binding: HostPort(host: "127.0.0.1", port: 0), what: "first", reusePort: false, receiveBuffer: nil)
        defer { first.close() }
        do {
            _ = try UDPReceiver(
                binding: HostPort(host: "127.0.0.1", port: first.port), what: "UDP ingest on x", reusePort: false,
                receiveBuffer: nil)
            Issue.record("bound a port another socket holds")
        } catch {
            #expect("\(error)".contains("cannot listen: UDP ingest on x: address already in use"))
        }
    }
}
