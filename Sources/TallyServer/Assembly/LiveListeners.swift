import Logging
import NIOCore
import NIOPosix
import Synchronization
import TallyCore

/// Every listener tallyd has now, as a reload may change them: the UDP and Unix receive loops
/// (with their sockets), the TCP listeners, the service endpoints and the admin endpoint.
///
/// A reload changes them in two steps. `prepare` binds everything the new config adds (a
/// moved port: the new one), and on any failure closes what it bound and throws, so the
/// running listeners are untouched. `commit` then closes what the new config no longer has.
/// Sockets systemd passed are never closed by a reload. At shutdown each service takes its
/// kind (`takeUDP`, ...) and closes it.
final class LiveListeners: Sendable {
    struct Endpoint: Sendable {
        var name: String
        let endpoint: HTTPListeners.Endpoint
        /// The address it was bound on, as configured (port 0 stays 0).
        let configured: HostPort
        let adopted: Bool
    }

    struct State: Sendable {
        var udp: [UDPLoop]
        var tcp: [IngestListeners.TCPServer]
        var unix: [UnixLoop]
        var services: [Endpoint]
        var admin: Endpoint?
    }

    /// What `prepare` bound and what `commit` will close.
    struct Change: Sendable {
        var addedUDP: [IngestListeners.UDPGroup] = []
        var addedTCP: [IngestListeners.TCPServer] = []
        var addedUnix: [IngestListeners.UnixListener] = []
        var addedServices: [Endpoint] = []
        var newAdmin: Endpoint?
        var adminChanged = false
        var removedUDP: [HostPort] = []
        var removedTCP: [HostPort] = []
        /// Paths of Unix sockets to stop; `replaced` ones keep their (new) file.
        var removedUnix: [(path: String, replaced: Bool)] = []
        var removedServices: [String] = []
        /// A removed service's open endpoint given to a new service on the same address.
        var retargeted: [(from: String, to: String)] = []

        var summary: [String] {
            var out: [String] = []
            func add(_ what: String, _ items: [String]) {
                if !items.isEmpty { out.append("\(what) \(items.joined(separator: " "))") }
            }
            add(
                "bound",
                addedUDP.compactMap { $0.configured.map { "udp:\($0)" } }
                    + addedTCP.compactMap { $0.configured.map { "tcp:\($0)" } }
                    + addedUnix.map { "unix:\($0.receiver.path)" } + addedServices.map { "\($0.name)=\($0.configured)" }
                    + (newAdmin.map { ["admin=\($0.configured)"] } ?? []))
            add(
                "closed",
                removedUDP.map { "udp:\($0)" } + removedTCP.map { "tcp:\($0)" }
                    + removedUnix.filter { !$0.replaced }.map { "unix:\($0.path)" } + removedServices)
            add("moved endpoint", retargeted.map { "\($0.from)->\($0.to)" })
            return out
        }
    }

    let threads: Threads
    let ingestors: IngestorFactory
    let heartbeats: Heartbeats
    let serving: HTTPServing
    let registry: Registry
    let scrapes: ScrapeStats
    let adminRoute: HTTPEndpointHandler.Route
    let tcpIngestors: TCPIngestors
    let tcpSettings: TCPSettings
    let logger: Logger
    /// `/debug/wedge-ingest-loops`: the UDP loops stop reading.
    let wedge: DebugWedge
    private let state: Mutex<State>

    init(
        ingest: IngestListeners, http: HTTPListeners, config: TallyConfig, activation: SocketActivation,
        threads: Threads, ingestors: IngestorFactory, heartbeats: Heartbeats, serving: HTTPServing,
        registry: Registry, scrapes: ScrapeStats, adminRoute: @escaping HTTPEndpointHandler.Route,
        tcpIngestors: TCPIngestors, tcpSettings: TCPSettings, wedge: DebugWedge = DebugWedge(), logger: Logger
    ) {
        self.threads = threads
        self.ingestors = ingestors
        self.heartbeats = heartbeats
        self.serving = serving
        self.registry = registry
        self.scrapes = scrapes
        self.adminRoute = adminRoute
        self.tcpIngestors = tcpIngestors
        self.tcpSettings = tcpSettings
        self.logger = logger
        self.wedge = wedge
        let services = http.services.map { e in
            Endpoint(
                name: e.name, endpoint: e,
                configured: HostPort(
                    host: config.metricsAddress, port: config.services.first { $0.name == e.name }?.port ?? e.port),
                adopted: activation.services[e.name] != nil)
        }
        let admin = http.admin.map { e in
            Endpoint(
                name: "admin", endpoint: e, configured: config.admin ?? HostPort(host: "127.0.0.1", port: 9102),
                adopted: activation.admin != nil)
        }
        let udp = ingest.udp.map { UDPLoop($0, ingestors: ingestors, heartbeats: heartbeats, wedge: wedge) }
        let unix = ingest.unix.map { UnixLoop($0, ingestors: ingestors, heartbeats: heartbeats) }
        state = Mutex(State(udp: udp, tcp: ingest.tcp, unix: unix, services: services, admin: admin))
    }

    var current: State { state.withLock { $0 } }

    // MARK: reload

    /// Binds what `new` adds to `old`; throws (having closed what it bound) if anything fails.
    func prepare(from old: TallyConfig, to new: TallyConfig) async throws -> Change {
        let now = current
        var change = Change()
        do {
            // UDP and TCP: by address as configured; an address systemd holds stays as it is.
            let adoptedUDP = Set(now.udp.map(\.group).filter(\.adopted).map(\.port))
            let liveUDP = now.udp.compactMap(\.group.configured)
            for address in new.udp where !liveUDP.contains(address) && !adoptedUDP.contains(address.port) {
                change.addedUDP.append(
                    try IngestListeners.bindUDP(address, config: new, threads: threads, logger: logger))
            }
            change.removedUDP = liveUDP.filter { !new.udp.contains($0) }
            let adoptedTCP = Set(now.tcp.filter(\.adopted).map(\.port))
            let liveTCP = now.tcp.compactMap(\.configured)
            for address in new.tcp where !liveTCP.contains(address) && !adoptedTCP.contains(address.port) {
                change.addedTCP.append(
                    try await IngestListeners.bindTCP(
                        address,
                        bootstrap: IngestListeners.tcpBootstrap(
                            threads: threads, pool: tcpIngestors, settings: tcpSettings)))
            }
            change.removedTCP = liveTCP.filter { !new.tcp.contains($0) }
            // Unix: by path; a changed entry (service, mode, group) is a new socket at the path.
            for socket in new.unix {
                let live = now.unix.first { $0.path == socket.path }
                if let live, live.listener.adopted || live.listener.socket == socket { continue }
                if live != nil { change.removedUnix.append((socket.path, true)) }
                change.addedUnix.append(try IngestListeners.makeUnix(socket, config: new))
            }
            for live in now.unix where !live.listener.adopted && !new.unix.contains(where: { $0.path == live.path }) {
                change.removedUnix.append((live.path, false))
            }
            // Services: a new one, or one whose address moved, is bound before the old one closes;
            // a new one on the address of one that goes takes over its open endpoint.
            let leaving = now.services.filter { live in
                !live.adopted
                    && !new.services.contains {
                        $0.name == live.name && HostPort(host: new.metricsAddress, port: $0.port) == live.configured
                    }
            }
            var takenOver: Set<String> = []
            for service in new.services {
                let address = HostPort(host: new.metricsAddress, port: service.port)
                if let live = now.services.first(where: { $0.name == service.name }),
                    live.adopted || live.configured == address
                {
                    continue
                }
                if address.port != 0,
                    let old = leaving.first(where: { $0.configured == address && !takenOver.contains($0.name) })
                {
                    takenOver.insert(old.name)
                    change.retargeted.append((old.name, service.name))
                    continue
                }
                let target = EndpointTarget(service.name)
                let endpoint = try await HTTPListeners.bindService(
                    name: service.name, target: target, host: address.host, port: address.port, threads: threads,
                    serving: serving, route: MetricsRoute.make(registry: registry, service: target, scrapes: scrapes))
                change.addedServices.append(
                    Endpoint(name: service.name, endpoint: endpoint, configured: address, adopted: false))
            }
            change.removedServices = leaving.map(\.name).filter { !takenOver.contains($0) }
            // Admin.
            if new.admin != old.admin, now.admin?.adopted != true {
                change.adminChanged = true
                if let address = new.admin {
                    let endpoint = try await HTTPListeners.bindService(
                        name: "the admin endpoint", target: nil, host: address.host, port: address.port,
                        threads: threads, serving: serving, route: adminRoute)
                    change.newAdmin = Endpoint(name: "admin", endpoint: endpoint, configured: address, adopted: false)
                }
            }
        } catch {
            await rollback(change)
            throw error
        }
        // The first Unix socket, added by this reload: the same advice as at startup.
        if now.unix.isEmpty && !change.addedUnix.isEmpty { IngestListeners.warnIfUnixQueueIsSmall(logger) }
        return change
    }

    /// Takes in what `prepare` bound and closes what the new config no longer has.
    func commit(_ change: Change) async {
        var closing: [any Channel] = []
        var stopping: [(UnixLoop, Bool)] = []
        var stoppingUDP: [UDPLoop] = []
        let newUDP = change.addedUDP.map { UDPLoop($0, ingestors: ingestors, heartbeats: heartbeats, wedge: wedge) }
        let newLoops = change.addedUnix.map { UnixLoop($0, ingestors: ingestors, heartbeats: heartbeats) }
        state.withLock { s in
            for address in change.removedUDP {
                stoppingUDP += s.udp.filter { $0.group.configured == address }
                s.udp.removeAll { $0.group.configured == address }
            }
            s.udp += newUDP
            for address in change.removedTCP {
                closing += s.tcp.filter { $0.configured == address }.map(\.channel)
                s.tcp.removeAll { $0.configured == address }
            }
            s.tcp += change.addedTCP
            for (path, replaced) in change.removedUnix {
                for loop in s.unix where loop.path == path && !newLoops.contains(where: { $0 === loop }) {
                    stopping.append((loop, !replaced))
                }
                s.unix.removeAll { loop in loop.path == path && stopping.contains { $0.0 === loop } }
            }
            s.unix += newLoops
            for name in change.removedServices + change.addedServices.map(\.name) {
                for e in s.services
                where e.name == name
                    && !change.addedServices.contains(where: { $0.endpoint.channel === e.endpoint.channel })
                {
                    closing.append(e.endpoint.channel)
                }
                s.services.removeAll { e in e.name == name && closing.contains { $0 === e.endpoint.channel } }
            }
            s.services += change.addedServices
            for (from, to) in change.retargeted {
                for i in s.services.indices where s.services[i].name == from {
                    s.services[i].endpoint.target?.retarget(to)
                    s.services[i].name = to
                }
            }
            if change.adminChanged {
                if let old = s.admin { closing.append(old.endpoint.channel) }
                s.admin = change.newAdmin
            }
        }
        await Binding.closeAll(closing)
        for loop in stoppingUDP { await loop.stop() }
        for (loop, unlinking) in stopping { await loop.stop(unlinking: unlinking) }
    }

    /// Closes what `prepare` bound (a later step failed).
    func rollback(_ change: Change) async {
        await Binding.closeAll(
            change.addedTCP.map(\.channel) + change.addedServices.map(\.endpoint.channel)
                + (change.newAdmin.map { [$0.endpoint.channel] } ?? []))
        for group in change.addedUDP { for receiver in group.receivers { receiver.close() } }
        for u in change.addedUnix {
            u.receiver.close(unlinking: !change.removedUnix.contains { $0.path == u.receiver.path })
        }
    }

    // MARK: shutdown

    /// Every UDP loop empties its queue (at most a second each) and closes its sockets.
    func stopUDP() async {
        let loops = state.withLock { s in
            defer { s.udp = [] }
            return s.udp
        }
        await withTaskGroup(of: Void.self) { group in
            for loop in loops { group.addTask { await loop.stop() } }
        }
    }

    func takeTCP() -> [any Channel] {
        state.withLock { s in
            defer { s.tcp = [] }
            return s.tcp.map(\.channel)
        }
    }

    func takeHTTP() -> [any Channel] {
        state.withLock { s in
            defer {
                s.services = []
                s.admin = nil
            }
            return s.services.map(\.endpoint.channel) + (s.admin.map { [$0.endpoint.channel] } ?? [])
        }
    }

    func stopUnix() async {
        let loops = state.withLock { s in
            defer { s.unix = [] }
            return s.unix
        }
        await withTaskGroup(of: Void.self) { group in
            for loop in loops { group.addTask { await loop.stop() } }
        }
    }

    // MARK: directory

    /// Every listener as bound now, for `tally_listener_info` and the status page.
    func entries(config: TallyConfig) -> (list: [ListenerDirectory.Entry], udpPorts: [Int]) {
        let s = current
        var out: [ListenerDirectory.Entry] = []
        for (i, g) in s.udp.map(\.group).enumerated() {
            out.append(
                .init(
                    listener: "ingest.udp[\(i)]", proto: "udp",
                    address: HostPort(host: g.configured?.host ?? "*", port: g.port).description))
        }
        for (i, t) in s.tcp.enumerated() {
            out.append(
                .init(
                    listener: "ingest.tcp[\(i)]", proto: "tcp",
                    address: HostPort(host: t.configured?.host ?? "*", port: t.port).description))
        }
        for (i, u) in s.unix.enumerated() {
            out.append(.init(listener: "ingest.unix[\(i)]", proto: "unix", address: u.path))
        }
        for e in s.services {
            out.append(
                .init(
                    listener: "services.\(e.name)", proto: "http",
                    address: HostPort(host: e.configured.host, port: e.endpoint.port).description))
        }
        if let a = s.admin {
            out.append(
                .init(
                    listener: "admin", proto: "http",
                    address: HostPort(host: a.configured.host, port: a.endpoint.port).description))
        }
        return (out, s.udp.map(\.group.port))
    }
}
