import FoundationEssentials
import Logging
import NIOCore
import NIOEmbedded
import NIOPosix
import Testing

@testable import TallyServer

@Suite struct WebConfigTests {
    @Test func bcryptHashesRoundTripThroughLibcrypt() throws {
        let hash = try #require(PasswordHash.make("s3cret", cost: 4))
        #expect(hash.hasPrefix("$2b$04$") && PasswordHash.isBcrypt(hash))
        #expect(PasswordHash.verify(Array("s3cret".utf8), hash: hash))
        #expect(!PasswordHash.verify(Array("s3cre".utf8), hash: hash))
        #expect(!PasswordHash.verify(Array("s3cret\u{0}x".utf8), hash: hash))
        // A $2y$ hash as htpasswd writes it (password "test"; made by Python's bcrypt, prefix as htpasswd spells it).
        #expect(
            PasswordHash.verify(
                Array("test".utf8), hash: "$2y$05$NLIzfyQ8trPshqMqurX7LOk4C99Jrt41xOQGrYTNHy9M0GC7fsePS"))
    }

    @Test(arguments: [
        "plain", "$2b$10$short", "$1$abcdefgh$abcdefghijklmnopqrstuv", "$2b$99$" + String(repeating: "a", count: 53),
    ])
    func whatIsNotABcryptHashIsRefused(_ hash: String) {
        #expect(!PasswordHash.isBcrypt(hash))
    }

    @Test func usersAndHeadersParse() throws {
        let hash = try #require(PasswordHash.make("pw", cost: 4))
        let web = try WebConfig.parse(
            yaml: "basic_auth_users:\n  prometheus: '\(hash)'\nhttp_server_config:\n  headers:\n"
                + "    x-frame-options: deny\n",
            source: "web.yml")
        #expect(web.users == ["prometheus": hash])
        #expect(web.headers.map(\.name) == ["X-Frame-Options"] && web.headers.map(\.value) == ["deny"])
        #expect(web.requiresAuth && !web.usesTLS)
    }

    @Test(arguments: [
        ("basic_auth_users:\n  alice: nope\n", "web.yml:2: basic_auth_users.alice: not a bcrypt hash"),
        ("tls_server_config:\n  key_file: k\n", "web.yml:2: tls_server_config: cert_file is required"),
        ("http_server_config:\n  headers:\n    Server: x\n", "web.yml:3: http_server_config.headers.Server: header"),
        ("basic_auth: {}\n", "web.yml:1: basic_auth: unknown key"),
    ])
    func mistakesNameTheKeyAndLine(_ yaml: String, _ expected: String) {
        #expect {
            try WebConfig.parse(yaml: yaml, source: "web.yml")
        } throws: { error in
            "\(error)".hasPrefix(expected)
        }
    }

    @Test func securityChallengesRefusesAndLimitsBeforeRunningBcrypt() throws {
        let hash = try #require(PasswordHash.make("pw", cost: 4))
        let web = try WebConfig.parse(yaml: "basic_auth_users:\n  prom: '\(hash)'\n", source: "web.yml")
        let security = try WebSecurity(web, pool: NIOThreadPool(numberOfThreads: 1))
        func basic(_ s: String) -> String { "Basic " + Data(s.utf8).base64EncodedString() }
        guard case .challenge = security.decide(authorization: nil, address: "a", now: 0) else {
            Issue.record("no credentials must be challenged")
            return
        }
        guard case .verify = security.decide(authorization: basic("prom:pw"), address: "a", now: 0) else {
            Issue.record("a known user's password needs bcrypt")
            return
        }
        // An unknown user is refused without bcrypt; ten of them use up the address's burst.
        for _ in 0..<10 {
            guard case .refused = security.decide(authorization: basic("eve:x"), address: "b", now: 0) else {
                Issue.record("an unknown user must be refused")
                return
            }
        }
        guard case .limited(let wait) = security.decide(authorization: basic("prom:pw"), address: "b", now: 0) else {
            Issue.record("the eleventh failure in a second must be limited")
            return
        }
        #expect(wait >= 1)
        // Another address is not affected; time refills the bucket.
        guard case .verify = security.decide(authorization: basic("prom:pw"), address: "c", now: 0),
            case .verify = security.decide(authorization: basic("prom:pw"), address: "b", now: 2)
        else {
            Issue.record("limits are per address and refill")
            return
        }
    }
}
