import ArgumentParser
import Dispatch
import Synchronization
import TallyCore
import TallySystem

#if canImport(Glibc)
    import Glibc
#endif

/// A load generator: prebuilt packets of counter lines over S series, sent in batches
/// (sendmmsg) by P senders at a target rate, with tallyd's own counters read before and after.
struct Load: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Send counter lines as fast as asked and report what tallyd received and what it cost.",
        usage: "tally load [--rate N|max] [--duration D] [--senders N] [--series N] [options]",
        discussion: """
            The target is --udp, --unix or --tcp, else TALLY_ADDR. Before and after, tallyd's \
            admin endpoint (--admin) is read: lines received, accepted and refused, kernel \
            drops, and process_cpu_seconds_total, from which CPU-seconds per million lines \
            follow.

            The last line is machine-readable: RESULT key=value ...
            """)

    @Option(help: "UDP target host:port.") var udp: String?
    @Option(help: "Unix datagram socket path.") var unix: String?
    @Option(help: "TCP target host:port.") var tcp: String?
    @Option(help: "Total lines per second, or 'max'.") var rate = "max"
    @Option(help: "Lines per datagram (or per TCP write).") var linesPerPacket = 20
    @Option(help: "Distinct series (orders_placed_total{symbol=...}).") var series = 10_000
    @Option(help: "How long to send: 500ms, 10s, 1m.") var duration = "10s"
    @Option(help: "Sending threads (each with its own socket).") var senders = 1
    @Option(help: "tallyd's admin endpoint host:port, or 'none'.") var admin = "127.0.0.1:9102"
    @Option(help: "The service the lines name.") var service = "order_executor"
    @Option(
        help: ArgumentHelp(
            "What the lines look like: tagged (orders_placed_total, 4 labels, DogStatsD tags), plain "
                + "(orders_placed_total.S<n>:1|c, for a default_service), timer (order_execution_duration_seconds, "
                + "|ms).",
            valueName: "tagged|plain|timer"))
    var shape = "tagged"
    @Option(help: "The identity tag of tagged and timer lines: service or service_name.") var identityTag = "service"

    func validate() throws {
        guard [udp, unix, tcp].compactMap({ $0 }).count <= 1 else {
            throw ValidationError("give at most one of --udp, --unix, --tcp")
        }
        guard linesPerPacket >= 1, series >= 1, senders >= 1 else {
            throw ValidationError("--lines-per-packet, --series and --senders must be at least 1")
        }
        guard rate == "max" || (Double(rate) ?? 0) > 0 else {
            throw ValidationError("--rate is a number of lines per second or 'max'")
        }
        guard Load.seconds(duration) != nil else { throw ValidationError("--duration looks like 500ms, 10s, 1m or 1h") }
        guard ["tagged", "plain", "timer"].contains(shape) else {
            throw ValidationError("--shape is tagged, plain or timer")
        }
        guard ["service", "service_name"].contains(identityTag) else {
            throw ValidationError("--identity-tag is service or service_name")
        }
    }

    /// A positive duration (`DurationText`: 500ms, 10s, 1m, 1h).
    /// The most prebuilt lines a run may hold (1 GiB: 10M tagged series).
    static let maxPacketBytes = 1 << 30

    static func seconds(_ text: String) -> Double? {
        DurationText.seconds(text).flatMap { $0 > 0 ? $0 : nil }
    }

    static func now() -> Double { MonotonicClock.now() }

    /// One line of `shape` for series `s`: the same lines the benchmarks and the peer runs use.
    static func line(shape: String, series s: Int, service: String, identityTag: String) -> String {
        switch shape {
        case "plain":
            return "orders_placed_total.S\(s):1|c"
        case "timer":
            return "order_execution_duration_seconds:\(s % 997)|ms|#\(identityTag):\(service),order_type:T\(s)"
        default:
            return "orders_placed_total:1|c|#\(identityTag):\(service),order_type:limit,symbol:SYM\(s),side:buy"
        }
    }

    func run() throws {
        let address: TallyAddress
        if let udp {
            address = try TallyAddress.parse(udp)
        } else if let unix {
            address = .unix(path: unix)
        } else if let tcp {
            address = try TallyAddress.parse("tcp:" + tcp)
        } else {
            address = try TallyAddress.fromEnvironment()
        }
        let seconds = Load.seconds(duration)!
        let adminTarget: (String, Int)? = admin == "none" ? nil : try TallyAddress.hostPort(admin)

        // Packets: consecutive series per packet, enough packets to cover every series, built
        // before the clock starts. What that would take past `maxPacketBytes` is refused, not
        // quietly cut to fewer series.
        let packetCount = (series + linesPerPacket - 1) / linesPerPacket
        let lineBytes = Load.line(shape: shape, series: series - 1, service: service, identityTag: identityTag).utf8
            .count
        let estimate = (lineBytes + 1) * packetCount * linesPerPacket
        guard estimate <= Load.maxPacketBytes else {
            throw CleanExit.failure(
                code: 64,
                "tally: --series \(series) needs about \(estimate >> 20) MiB of prebuilt lines; at most "
                    + "\(Load.maxPacketBytes >> 20) MiB (about \(Load.maxPacketBytes / (lineBytes + 1)) series of this shape)"
            )
        }
        let covered = series
        let stream = !address.isDatagram
        var packets: [[UInt8]] = []
        packets.reserveCapacity(packetCount)
        for p in 0..<packetCount {
            var text = ""
            for j in 0..<linesPerPacket {
                let s = (p * linesPerPacket + j) % series
                if j > 0 { text += "\n" }
                text += Load.line(shape: shape, series: s, service: service, identityTag: identityTag)
            }
            if stream { text += "\n" }
            packets.append(Array(text.utf8))
        }

        let pool = PacketPool(packets)
        let before = try adminTarget.map { try AdminScrape.fetch(host: $0.0, port: $0.1) }
        let rateLimit = rate == "max" ? nil : Double(rate)! / Double(senders)
        let sentPackets = Atomic<Int>(0)
        let unsentPackets = Atomic<Int>(0)
        let failure = Mutex<String?>(nil)
        let start = Load.now()
        let batch = stream ? 16 : 64
        DispatchQueue.concurrentPerform(iterations: senders) { sender in
            do {
                let connection = try Connection(address)
                var ptrs = [UnsafeRawPointer?](repeating: nil, count: batch)
                var lens = [Int](repeating: 0, count: batch)
                var next = (sender * 7919) % packetCount
                var mine = 0
                var unsent = 0
                let deadline = start + seconds
                // With a rate, a batch is at most ~10 ms of lines, so the run ends on time
                // (a batch of 64 packets of 20 lines is 1.28 s at 1000 lines/s).
                let thisBatch = rateLimit.map { max(1, min(batch, Int($0 * 0.01) / linesPerPacket)) } ?? batch
                while true {
                    let t = Load.now()
                    if t >= deadline { break }
                    for i in 0..<thisBatch {
                        ptrs[i] = UnsafeRawPointer(pool.base + pool.offsets[next])
                        lens[i] = pool.lengths[next]
                        next += 1
                        if next == packetCount { next = 0 }
                    }
                    let n = ptrs.withUnsafeBufferPointer { p in
                        lens.withUnsafeBufferPointer { l in
                            connection.sendBatch(
                                UnsafeBufferPointer(rebasing: p[0..<thisBatch]),
                                lengths: UnsafeBufferPointer(rebasing: l[0..<thisBatch]))
                        }
                    }
                    mine += n
                    unsent += thisBatch - n
                    // The packets not sent go first next time. A batch may be longer than the
                    // packet list (64 datagrams, 50 packets for 1000 series of 20 lines).
                    if n < thisBatch { next = ((next - (thisBatch - n)) % packetCount + packetCount) % packetCount }
                    if let rateLimit {
                        // Never past the deadline: the last batch's wait is cut short there.
                        let due = min(start + Double(mine * linesPerPacket) / rateLimit, deadline)
                        let wait = due - Load.now()
                        if wait > 0 {
                            var ts = timespec(tv_sec: Int(wait), tv_nsec: Int((wait - Double(Int(wait))) * 1e9))
                            nanosleep(&ts, nil)
                        }
                    }
                }
                sentPackets.add(mine, ordering: .relaxed)
                unsentPackets.add(unsent, ordering: .relaxed)
            } catch {
                failure.withLock { $0 = "\(error)" }
            }
        }
        let elapsed = Load.now() - start
        if let message = failure.withLock({ $0 }) { throw AddressError(message: message) }
        let sentLines = sentPackets.load(ordering: .relaxed) * linesPerPacket
        let unsent = unsentPackets.load(ordering: .relaxed)
        if unsent > 0 {
            StandardError.print(
                "tally: warning: the kernel refused \(unsent) sends to \(address) (over UDP: nothing listened there, "
                    + "or the send buffer was full); the figures below count only the packets that went out")
        }
        print(
            "sent      \(sentLines) lines in \(fmt(elapsed, 2)) s = "
                + "\(fmt(Double(sentLines) / elapsed / 1e6, 3))M lines/s (\(senders) senders, \(linesPerPacket) "
                + "lines/packet, \(covered) series, \(address))"
        )

        guard let adminTarget, let before else {
            print(
                "RESULT sent_lines=\(sentLines) seconds=\(fmt(elapsed, 3)) sent_lps=\(Int(Double(sentLines) / elapsed))"
            )
            return
        }
        // Let tallyd empty its queues: wait until its received count stops moving (max 5 s).
        var after = try AdminScrape.fetch(host: adminTarget.0, port: adminTarget.1)
        let settle = Load.now() + 5
        while Load.now() < settle {
            usleep(200_000)
            let again = try AdminScrape.fetch(host: adminTarget.0, port: adminTarget.1)
            let done = again.total("tally_lines_received_total") == after.total("tally_lines_received_total")
            after = again
            if done { break }
        }
        func delta(_ name: String) -> Double { after.total(name) - before.total(name) }
        let received = delta("tally_lines_received_total")
        let accepted = delta("tally_lines_accepted_total")
        let rejected = delta("tally_lines_rejected_total")
        let drops = delta("tally_udp_receive_drops_total")
        let cpu = delta("process_cpu_seconds_total")
        let perMillion = received > 0 ? cpu / received * 1e6 : 0
        print(
            "received  \(Int(received)) lines "
                + "(\(fmt(sentLines > 0 ? received / Double(sentLines) * 100 : 0, 2))% of sent), accepted "
                + "\(Int(accepted)), refused \(Int(rejected)), kernel drops \(Int(drops)) datagrams"
        )
        print(
            "tallyd    \(fmt(cpu, 2)) CPU-seconds = \(fmt(perMillion, 3)) CPU-seconds per million lines "
                + "received; \(fmt(received / elapsed / 1e6, 3))M lines/s received"
        )
        print(
            "RESULT sent_lines=\(sentLines) seconds=\(fmt(elapsed, 3)) "
                + "sent_lps=\(Int(Double(sentLines) / elapsed)) received=\(Int(received)) "
                + "accepted=\(Int(accepted)) rejected=\(Int(rejected)) drops=\(Int(drops)) "
                + "cpu_seconds=\(fmt(cpu, 3)) cpu_per_million=\(fmt(perMillion, 3))"
        )
    }
}

func fmt(_ v: Double, _ digits: Int) -> String {
    var buf = [CChar](repeating: 0, count: 64)
    _ = withVaList([v]) { vsnprintf(&buf, 64, "%.\(digits)f", $0) }
    return String(decoding: buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}

/// Every packet back to back in one allocation, so senders on other threads can hand raw
/// pointers to sendmmsg; freed with the last copy of the pool (its `RawBuffer`).
struct PacketPool: Sendable {
    private let storage: RawBuffer<UInt8>
    var base: UnsafeMutableRawPointer { storage.raw }
    let offsets: [Int]
    let lengths: [Int]

    init(_ packets: [[UInt8]]) {
        let total = packets.reduce(0) { $0 + $1.count }
        let storage = RawBuffer<UInt8>(capacity: total)
        let buffer = storage.raw
        var starts: [Int] = []
        var at = 0
        for p in packets {
            starts.append(at)
            p.withUnsafeBytes { (buffer + at).copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
            at += p.count
        }
        self.storage = storage
        offsets = starts
        lengths = packets.map(\.count)
    }
}
