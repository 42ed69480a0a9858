import Synchronization
import TallyCore

/// Where every listener ended up, as bound (port 0 resolved), for the admin endpoint's
/// `tally_listener_info`. Filled once by `Daemon.run` after the last bind, before the group
/// runs; until then (the admin endpoint answers as soon as it is bound) it is empty.
final class ListenerDirectory: Sendable {
    struct Entry: Sendable, Equatable {
        /// The config key: `ingest.udp[0]`, `services.risk_manager`, `admin`.
        var listener: String
        var proto: String
        var address: String
    }

    private let entries = Mutex<(list: [Entry], udpPorts: [Int])>(([], []))

    var all: [Entry] { entries.withLock { $0.list } }

    /// The UDP ports as bound, for the kernel drop counters.
    var udpPorts: [Int] { entries.withLock { $0.udpPorts } }

    func publish(_ list: [Entry], udpPorts: [Int]) { entries.withLock { $0 = (list, udpPorts) } }

    func render(_ w: inout TextWriter) {
        let list = all
        guard !list.isEmpty else { return }
        w.header(
            name: "tally_listener_info", help: "Every listener and the address it is bound to (port 0 resolved).",
            type: .gauge)
        for e in list {
            w.append("tally_listener_info{listener=\"")
            w.labelValue(e.listener)
            w.append("\",protocol=\"")
            w.labelValue(e.proto)
            w.append("\",address=\"")
            w.labelValue(e.address)
            w.append("\"} 1\n")
        }
    }
}
