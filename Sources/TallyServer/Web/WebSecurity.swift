import FoundationEssentials
import NIOCore
import NIOPosix
import NIOSSL
import Synchronization
import TallySystem

/// The web config as the endpoints apply it: the TLS context new connections get, the users
/// basic auth accepts, the headers every response carries. A reload swaps it whole; open
/// connections keep the context they were accepted with, so a renewed certificate drops no
/// scrape.
///
/// bcrypt is slow on purpose, so a password runs through it once: verified (user, password)
/// pairs are remembered (as keyed digests, not as text), and an address that keeps failing is
/// answered 429 without running it at all. bcrypt itself runs on a thread of its own, never on
/// the HTTP event loop.
final class WebSecurity: Sendable {
    struct Current: Sendable {
        var web: WebConfig?
        var ssl: NIOSSLContext?
    }

    /// What a request's credentials get it.
    enum Decision: Sendable {
        case allowed
        /// No (or unreadable) credentials: 401 with a challenge; not a failure.
        case challenge
        /// A wrong user or password, known without bcrypt: 401, counted.
        case refused
        /// This address failed too often: 429.
        case limited(retryAfter: Int)
        /// Needs one bcrypt run.
        case verify(Pending)
    }

    struct Pending: Sendable {
        let user: String
        let password: [UInt8]
        let hash: String
        let digest: Int
        let address: String
    }

    /// Failed attempts per address: a bucket of `burst`, refilled at `perSecond`.
    struct Bucket: Sendable {
        var tokens: Double
        var at: Double
    }

    static let burst = 10.0
    static let perSecond = 1.0
    static let maxRemembered = 4096

    private let current: Mutex<Current>
    private let verified = Mutex<Set<Int>>([])
    private let failures = Mutex<[String: Bucket]>([:])
    /// bcrypt's thread.
    let pool: NIOThreadPool

    init(_ web: WebConfig?, pool: NIOThreadPool) throws {
        current = Mutex(Current(web: web, ssl: try web?.makeSSLContext()))
        self.pool = pool
    }

    /// A reloaded web config: new connections get its context; remembered passwords are
    /// forgotten (a user may have been removed or changed).
    func apply(_ web: WebConfig?) throws {
        let ssl = try web?.makeSSLContext()
        current.withLock { $0 = Current(web: web, ssl: ssl) }
        verified.withLock { $0.removeAll() }
    }

    var sslContext: NIOSSLContext? { current.withLock { $0.ssl } }
    var headers: [(name: String, value: String)] { current.withLock { $0.web?.headers ?? [] } }
    var requiresAuth: Bool { current.withLock { $0.web?.requiresAuth ?? false } }

    /// What `authorization` (the header's value) gets a client at `address`.
    func decide(authorization: String?, address: String, now: Double = MonotonicClock.now()) -> Decision {
        let users = current.withLock { $0.web?.users ?? [:] }
        guard !users.isEmpty else { return .allowed }
        guard let authorization, let (user, password) = Self.basicCredentials(authorization) else {
            return .challenge
        }
        var hasher = Hasher()
        hasher.combine(user)
        hasher.combine(password)
        hasher.combine(users[user] ?? "")
        let digest = hasher.finalize()
        if verified.withLock({ $0.contains(digest) }) { return .allowed }
        if let wait = limitedFor(address, now: now) { return .limited(retryAfter: wait) }
        guard let hash = users[user] else {
            recordFailure(address, now: now)
            return .refused
        }
        return .verify(Pending(user: user, password: password, hash: hash, digest: digest, address: address))
    }

    /// Runs bcrypt for `pending` on the security thread; true when the password is right.
    func verify(_ pending: Pending, on loop: any EventLoop) -> EventLoopFuture<Bool> {
        pool.runIfActive(eventLoop: loop) { [self] in
            let ok = PasswordHash.verify(pending.password, hash: pending.hash)
            if ok {
                verified.withLock { set in
                    if set.count >= Self.maxRemembered { set.removeAll() }
                    set.insert(pending.digest)
                }
            } else {
                recordFailure(pending.address, now: MonotonicClock.now())
            }
            return ok
        }
    }

    /// Seconds until `address` may try again, or nil if it may now.
    private func limitedFor(_ address: String, now: Double) -> Int? {
        failures.withLock { all in
            guard var b = all[address] else { return nil }
            b.tokens = min(Self.burst, b.tokens + (now - b.at) * Self.perSecond)
            b.at = now
            all[address] = b
            return b.tokens >= 1 ? nil : Int(((1 - b.tokens) / Self.perSecond).rounded(.up))
        }
    }

    private func recordFailure(_ address: String, now: Double) {
        failures.withLock { all in
            if all.count >= Self.maxRemembered && all[address] == nil { all.removeAll() }
            var b = all[address] ?? Bucket(tokens: Self.burst, at: now)
            b.tokens = min(Self.burst, b.tokens + (now - b.at) * Self.perSecond) - 1
            b.at = now
            all[address] = b
        }
    }

    /// `Basic base64(user:password)` → (user, password bytes).
    static func basicCredentials(_ header: String) -> (String, [UInt8])? {
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "basic",
            let decoded = Data(base64Encoded: String(parts[1]).trimmingWhitespace())
        else { return nil }
        let bytes = [UInt8](decoded)
        guard let colon = bytes.firstIndex(of: UInt8(ascii: ":")) else { return nil }
        return (String(decoding: bytes[..<colon], as: UTF8.self), Array(bytes[(colon + 1)...]))
    }
}
