import TallyCore
import TallySystem

#if canImport(Glibc)
    import CTallyNet
    import Glibc
#endif

/// The receive loop every datagram socket runs (UDP and Unix), on a thread of its own: a
/// blocking `recvmmsg` of up to `batch` datagrams, each folded straight from its slot.
///
/// One system call brings every datagram that is queued, the clock is read once per call, and
/// nothing is allocated or copied per datagram: this is what a tagged UDP line costs on top of
/// its fold, which NIO's datagram channel (an `AddressedEnvelope` and a sender address
/// formatted per datagram, an epoll wakeup per burst) made about 10 % of the daemon's CPU.
/// The socket needs `SO_RCVTIMEO` (200 ms): that is how often `tick` runs when nothing
/// arrives, and how soon a stop is seen.
enum DatagramReceiveLoop {
    /// Datagrams read per system call, and the largest datagram taken whole.
    static let batch = 16
    static let datagramSize = 65_536
    /// Slots start 2112 bytes (33 cache lines) apart modulo 64 KiB. At a stride of exactly
    /// 64 KiB the first bytes of all 16 slots (all a small datagram uses) fall into the same
    /// L1 and L2 cache sets, more slots than those sets have ways: the datagrams a call brings
    /// evict each other before they are parsed. (The measurement is in commit 645a865.)
    static let slotStride = datagramSize + 2112
    /// How long a stopping loop keeps emptying its queue when senders do not stop.
    static let drainLimit = 1.0

    /// Receives until `isStopping()` says so, then empties what is still queued (at most
    /// `drainLimit` seconds) and returns. `tick` runs after every call, at least every 200 ms.
    ///
    /// With `senders` (a peer-identity Unix socket), each datagram folds as its sender's
    /// service, and a datagram from a sender the maps do not name is refused line by line as
    /// `unknown_sender`; `name` says which socket in that message.
    static func run(
        fd: Int32, name: String, ingestor: Ingestor, senders: UnixDatagramReceiver.Senders? = nil,
        isStopping: () -> Bool, tick: () -> Void
    ) {
        let storage = RawBuffer<UInt8>(capacity: batch * slotStride)
        defer { withExtendedLifetime(storage) {} }
        let buffers = (0..<batch).map { UnsafeMutableRawPointer?(storage.raw + $0 * slotStride) }
        var lengths = [Int](repeating: 0, count: batch)
        var packets = [UnsafeRawBufferPointer](repeating: UnsafeRawBufferPointer(start: nil, count: 0), count: batch)
        var uids = [UInt32](repeating: 0, count: batch)
        var gids = [UInt32](repeating: 0, count: batch)
        var drainUntil: Double?
        while true {
            if drainUntil == nil && isStopping() { drainUntil = MonotonicClock.now() + drainLimit }
            let flags = drainUntil != nil ? Int32(MSG_DONTWAIT) : Int32(MSG_WAITFORONE)
            let n = buffers.withUnsafeBufferPointer { b in
                lengths.withUnsafeMutableBufferPointer { l in
                    guard senders != nil else {
                        return tally_recvmmsg(fd, b.baseAddress, datagramSize, l.baseAddress, UInt32(batch), flags)
                    }
                    return uids.withUnsafeMutableBufferPointer { u in
                        gids.withUnsafeMutableBufferPointer { g in
                            tally_recvmmsg_creds(
                                fd, b.baseAddress, datagramSize, l.baseAddress, u.baseAddress, g.baseAddress,
                                UInt32(batch), flags)
                        }
                    }
                }
            }
            if n >= 0 {
                let now = MonotonicClock.now()
                var folded = 0
                for i in 0..<Int(n) {
                    let packet = UnsafeRawBufferPointer(
                        start: buffers[i], count: lengths[i] == -1 ? datagramSize : lengths[i])
                    if lengths[i] == -1 {
                        ingestor.refuse(
                            .lineTooLong,
                            "a datagram longer than \(datagramSize) bytes was cut; send smaller packets",
                            line: UnsafeRawBufferPointer(rebasing: packet[0..<200]), now: now)
                    } else if lengths[i] > 0, let senders {
                        if let service = senders.service(uid: uids[i], gid: gids[i]) {
                            ingestor.ingest(packet: packet, now: now, boundService: service)
                        } else {
                            ingestor.refuseAll(
                                .unknownSender,
                                "uid \(uids[i]) (gid \(gids[i])) is not in this socket's uids/gids: \(name)",
                                packet: packet, now: now)
                        }
                    } else if lengths[i] > 0 {
                        packets[folded] = packet
                        folded += 1
                    }
                }
                // The call's datagrams in one fold: the stats lock, the liveness update and the
                // catalogue check once per call, not per datagram.
                if folded > 0 {
                    packets.withUnsafeBufferPointer {
                        ingestor.ingest(packets: UnsafeBufferPointer(rebasing: $0[0..<folded]), now: now)
                    }
                }
                if let drainUntil, MonotonicClock.now() >= drainUntil { break }
            } else if errno == EAGAIN || errno == EWOULDBLOCK {
                if drainUntil != nil { break }
            } else if errno != EINTR {
                break
            }
            tick()
        }
    }

    /// Sets the 200 ms receive timeout the loop relies on, and makes the socket blocking
    /// (systemd may pass it non-blocking).
    static func prepare(_ fd: Int32) {
        var timeout = timeval(tv_sec: 0, tv_usec: 200_000)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let flags = fcntl(fd, F_GETFL)
        if flags >= 0 && flags & O_NONBLOCK != 0 { _ = fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) }
    }

    /// The receive buffer the kernel granted (Linux reports twice that, bookkeeping included).
    static func receiveBuffer(_ fd: Int32) -> Int {
        var size: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        guard getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, &length) == 0 else { return 0 }
        return Int(size) / 2
    }
}
