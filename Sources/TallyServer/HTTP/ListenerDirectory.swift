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

    /// The bound addresses of `ingest` and `http`, in config order.
    static func entries(config: TallyConfig, ingest: IngestListeners, http: HTTPListeners) -> [Entry] {
        var out: [Entry] = []
        for (i, port) in ingest.udpPorts.enumerated() {
            let host = i < config.udp.count ? config.udp[i].host : "socket-activation"
            out.append(
                Entry(listener: "ingest.udp[\(i)]", proto: "udp", address: HostPort(host: host, port: port).description)
            )
        }
        for (i, port) in ingest.tcpPorts.enumerated() {
            let host = i < config.tcp.count ? config.tcp[i].host : "socket-activation"
            out.append(
                Entry(listener: "ingest.tcp[\(i)]", proto: "tcp", address: HostPort(host: host, port: port).description)
            )
        }
        for (i, u) in ingest.unix.enumerated() {
            out.append(Entry(listener: "ingest.unix[\(i)]", proto: "unix", address: u.receiver.path))
        }
        for e in http.services {
            out.append(
                Entry(
                    listener: "services.\(e.name)", proto: "http",
                    address: HostPort(host: config.metricsAddress, port: e.port).description))
        }
        if let admin = http.admin {
            let host = config.admin?.host ?? "127.0.0.1"
            out.append(
                Entry(listener: "admin", proto: "http", address: HostPort(host: host, port: admin.port).description))
        }
        return out
    }

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
