import Logging
import NIOCore
import Synchronization
import TallySystem

/// What every HTTP endpoint shares: the responses in flight (shutdown waits for them), the
/// web config's security, the connection limit, and what was refused.
final class HTTPServing: Sendable {
    let inFlight = InFlightRequests()
    let security: WebSecurity
    let refusals: HTTPRefusals
    private let maxConnectionsValue: Atomic<Int>

    init(maxConnections: Int, security: WebSecurity, logger: Logger) {
        maxConnectionsValue = Atomic(maxConnections)
        self.security = security
        refusals = HTTPRefusals(logger: logger)
    }

    /// `metrics.max_connections`; a reload changes it for connections accepted afterwards.
    var maxConnections: Int {
        get { maxConnectionsValue.load(ordering: .relaxed) }
        set { maxConnectionsValue.store(newValue, ordering: .relaxed) }
    }
}

/// Connections open on one listener, so a limit can refuse the one too many.
final class ConnectionCount: Sendable {
    private let value = Atomic<Int>(0)

    /// Counts one in; false (and nothing counted) when `limit` are already open.
    func enter(limit: Int) -> Bool {
        let now = value.add(1, ordering: .relaxed).newValue
        guard now > limit else { return true }
        value.subtract(1, ordering: .relaxed)
        return false
    }

    func leave() { value.subtract(1, ordering: .relaxed) }

    var current: Int { value.load(ordering: .relaxed) }
}

/// The connections open on one HTTP endpoint, so the limit can make room: a new connection
/// past `metrics.max_connections` closes the longest-idle one (connected but sending nothing,
/// or kept alive after its response), and only when every connection is mid-request is the
/// new one closed instead. Idle connections cost an attacker nothing to hold, so without this a
/// few dozen of them would lock Prometheus out.
final class ConnectionTable: Sendable {
    /// One connection: idle since when (nil while a request is read or answered).
    final class Slot: Sendable {
        let channel: any Channel
        private let idleSince = Mutex<Double?>(nil)

        init(channel: any Channel, now: Double) {
            self.channel = channel
            idleSince.withLock { $0 = now }
        }

        func busy() { idleSince.withLock { $0 = nil } }
        func idle(now: Double) { idleSince.withLock { $0 = now } }
        var idleSinceValue: Double? { idleSince.withLock { $0 } }
    }

    enum Admission {
        case admitted(Slot)
        /// Admitted after closing this idle connection.
        case admittedClosingIdle(Slot)
        case refused
    }

    private let slots = Mutex<[ObjectIdentifier: Slot]>([:])

    func admit(_ channel: any Channel, limit: Int, now: Double = MonotonicClock.now()) -> Admission {
        let slot = Slot(channel: channel, now: now)
        return slots.withLock { all -> Admission in
            if all.count < limit {
                all[ObjectIdentifier(channel)] = slot
                return .admitted(slot)
            }
            var victim: (ObjectIdentifier, Slot, Double)? = nil
            for (id, s) in all {
                guard let since = s.idleSinceValue else { continue }
                if victim == nil || since < victim!.2 { victim = (id, s, since) }
            }
            guard let victim else { return .refused }
            all[victim.0] = nil
            victim.1.channel.close(promise: nil)
            all[ObjectIdentifier(channel)] = slot
            return .admittedClosingIdle(slot)
        }
    }

    func remove(_ channel: any Channel) { _ = slots.withLock { $0.removeValue(forKey: ObjectIdentifier(channel)) } }

    var count: Int { slots.withLock { $0.count } }
}

/// HTTP requests and connections refused, by endpoint and reason, each logged at most once per
/// ten seconds per (endpoint, reason) with the number held back.
final class HTTPRefusals: Sendable {
    enum Reason: String, CaseIterable, Sendable {
        /// Over `metrics.max_connections` with every connection mid-request: closed as accepted.
        case tooManyConnections = "too_many_connections"
        /// Over `metrics.max_connections`: the longest-idle connection was closed to make room.
        case idleClosedForNew = "idle_closed_for_new"
        /// Request headers over 8 KiB: 431.
        case headersTooLarge = "headers_too_large"
        /// A request not complete within 10 s of its first byte (slowloris): closed.
        case requestTimeout = "request_timeout"
        /// A wrong user or password: 401.
        case authFailed = "auth_failed"
        /// An address that failed too often, answered 429 without checking.
        case authRateLimited = "auth_rate_limited"
        /// A TLS handshake that failed (no client certificate, an untrusted one, plain HTTP).
        case tlsHandshake = "tls_handshake"

        var explanation: String {
            switch self {
            case .tooManyConnections:
                return "metrics.max_connections connections are open, every one mid-request; closed at once"
            case .idleClosedForNew:
                return "metrics.max_connections connections are open; the longest-idle one was closed for a new one"
            case .headersTooLarge: return "request headers over 8 KiB; answered 431"
            case .requestTimeout: return "the request was not complete within 10s (a slow client); closed"
            case .authFailed: return "wrong user or password; answered 401"
            case .authRateLimited: return "too many failed logins from this address; answered 429"
            case .tlsHandshake: return "the TLS handshake failed"
            }
        }
    }

    struct Key: Hashable, Sendable {
        let endpoint: String
        let reason: Reason
    }

    struct Entry: Sendable {
        var count = 0
        var lastLog = -Double.infinity
        var held = 0
    }

    private let entries = Mutex<[Key: Entry]>([:])
    private let logger: Logger

    init(logger: Logger) { self.logger = logger }

    func count(_ reason: Reason, endpoint: String, detail: String = "") {
        let now = MonotonicClock.now()
        let held: Int? = entries.withLock { all in
            var e = all[Key(endpoint: endpoint, reason: reason), default: Entry()]
            e.count += 1
            var result: Int? = nil
            if now - e.lastLog >= 10 {
                result = e.held
                e.lastLog = now
                e.held = 0
            } else {
                e.held += 1
            }
            all[Key(endpoint: endpoint, reason: reason)] = e
            return result
        }
        guard let held else { return }
        var message = "\(endpoint): refused (\(reason.rawValue)): \(reason.explanation)"
        if !detail.isEmpty { message += " (\(detail))" }
        if held > 0 { message += "; \(held) more like it in the last 10s" }
        logger.warning("\(message)")
    }

    func total(_ reason: Reason, endpoint: String) -> Int {
        entries.withLock { $0[Key(endpoint: endpoint, reason: reason)]?.count ?? 0 }
    }

    var all: [Key: Int] { entries.withLock { $0.mapValues(\.count) } }
}
