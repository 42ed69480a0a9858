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

/// HTTP requests and connections refused, by endpoint and reason, each logged at most once per
/// ten seconds per (endpoint, reason) with the number held back.
final class HTTPRefusals: Sendable {
    enum Reason: String, CaseIterable, Sendable {
        /// Over `metrics.max_connections`: closed as accepted.
        case tooManyConnections = "too_many_connections"
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
            case .tooManyConnections: return "metrics.max_connections connections are open; closed at once"
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
