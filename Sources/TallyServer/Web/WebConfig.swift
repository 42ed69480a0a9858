import NIOSSL
import TallyCore

/// `web_config_file`: TLS, basic auth and response headers for every HTTP endpoint, in the
/// format of Prometheus' exporter-toolkit (the file node_exporter and statsd_exporter read),
/// so one file serves them all.
///
/// Files it names are read when it is loaded (at start, `--check-config` and every reload),
/// so a renewed certificate is a changed config and a reload picks it up; paths are relative
/// to the web config file's directory, as exporter-toolkit reads them.
public struct WebConfig: Sendable, Equatable {
    public struct TLS: Sendable, Equatable {
        var certFile: String
        var keyFile: String
        var certPEM: [UInt8]
        var keyPEM: [UInt8]
        var clientAuth: ClientAuth = .none
        var clientCAPEM: [UInt8]?
        var minVersion: TLSVersion = .tlsv12
        var maxVersion: TLSVersion?
        var cipherSuites: [NIOTLSCipher] = []
    }

    /// exporter-toolkit's `client_auth_type`, as BoringSSL can enforce it.
    enum ClientAuth: String, Sendable, Equatable, CaseIterable {
        case none = "NoClientCert"
        case request = "RequestClientCert"
        case verifyIfGiven = "VerifyClientCertIfGiven"
        case requireAndVerify = "RequireAndVerifyClientCert"
    }

    public var source: String
    var tls: TLS?
    /// User → bcrypt hash.
    var users: [String: String] = [:]
    /// Extra response headers (exporter-toolkit's allowed set).
    var headers: [(name: String, value: String)] = []

    public static func == (a: WebConfig, b: WebConfig) -> Bool {
        a.source == b.source && a.tls == b.tls && a.users == b.users
            && a.headers.map(\.name) == b.headers.map(\.name) && a.headers.map(\.value) == b.headers.map(\.value)
    }

    public var requiresAuth: Bool { !users.isEmpty }
    public var usesTLS: Bool { tls != nil }

    /// exporter-toolkit allows these and no others.
    static let allowedHeaders = [
        "Strict-Transport-Security", "X-Content-Type-Options", "X-Frame-Options", "X-XSS-Protection",
        "Content-Security-Policy",
    ]

    static let versions: [String: TLSVersion] = ["TLS10": .tlsv1, "TLS11": .tlsv11, "TLS12": .tlsv12, "TLS13": .tlsv13]

    /// Go's names for the TLS 1.2 suites BoringSSL offers (TLS 1.3's are not configurable, in Go
    /// either).
    static let ciphers: [String: NIOTLSCipher] = [
        "TLS_RSA_WITH_AES_128_CBC_SHA": .TLS_RSA_WITH_AES_128_CBC_SHA,
        "TLS_RSA_WITH_AES_256_CBC_SHA": .TLS_RSA_WITH_AES_256_CBC_SHA,
        "TLS_RSA_WITH_AES_128_GCM_SHA256": .TLS_RSA_WITH_AES_128_GCM_SHA256,
        "TLS_RSA_WITH_AES_256_GCM_SHA384": .TLS_RSA_WITH_AES_256_GCM_SHA384,
        "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA": .TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA,
        "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA": .TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA,
        "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA": .TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA,
        "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA": .TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA,
        "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256": .TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
        "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384": .TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
        "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256": .TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
        "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384": .TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
        "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305": .TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
        "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256": .TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
        "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305": .TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
        "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256": .TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
    ]

    /// Reads and checks the file at `path`: every problem names its key and line.
    public static func load(path: String) throws -> WebConfig {
        let text: String
        do {
            text = try FileText.read(path)
        } catch {
            throw ConfigError(source: path, line: nil, key: "", problem: "cannot read the web config file: \(error)")
        }
        return try parse(yaml: text, source: path)
    }

    static func parse(yaml: String, source: String) throws(ConfigError) -> WebConfig {
        let root = try ConfigNode.parse(yaml: yaml, source: source)
        var web = WebConfig(source: source)
        if root.isNull { return web }
        let top = try root.mapping(allowed: ["tls_server_config", "http_server_config", "basic_auth_users"])
        let directory = source.split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(separator: "/")
        func resolve(_ node: ConfigNode) throws(ConfigError) -> (String, [UInt8]) {
            let given = try node.string()
            guard !given.isEmpty else { throw node.error("give a path") }
            let path = given.hasPrefix("/") || directory.isEmpty ? given : directory + "/" + given
            do {
                return (path, try FileText.readBytes(path))
            } catch {
                throw node.error("\(error)")
            }
        }
        if let node = top["tls_server_config"], !node.isNull {
            let m = try node.mapping(allowed: [
                "cert_file", "key_file", "client_auth_type", "client_ca_file", "min_version", "max_version",
                "cipher_suites", "prefer_server_cipher_suites",
            ])
            guard let certNode = m["cert_file"] else { throw node.error("cert_file is required with TLS") }
            guard let keyNode = m["key_file"] else { throw node.error("key_file is required with TLS") }
            let (certFile, certPEM) = try resolve(certNode)
            let (keyFile, keyPEM) = try resolve(keyNode)
            var tls = TLS(certFile: certFile, keyFile: keyFile, certPEM: certPEM, keyPEM: keyPEM)
            do {
                _ = try NIOSSLCertificate.fromPEMBytes(certPEM)
            } catch {
                throw certNode.error("\(certFile) holds no PEM certificate (\(error))")
            }
            do {
                _ = try NIOSSLPrivateKey(bytes: keyPEM, format: .pem)
            } catch {
                throw keyNode.error("\(keyFile) holds no PEM private key (\(error))")
            }
            if let n = m["client_auth_type"] {
                let name = try n.string()
                if name == "RequireAnyClientCert" {
                    throw n.error(
                        "RequireAnyClientCert (a certificate nobody verifies) is not supported: use "
                            + "RequireAndVerifyClientCert with client_ca_file")
                }
                guard let auth = ClientAuth(rawValue: name) else {
                    throw n.error(
                        "unknown client_auth_type '\(name)' (one of: \(ClientAuth.allCases.map(\.rawValue).joined(separator: ", ")))"
                    )
                }
                tls.clientAuth = auth
            }
            if let n = m["client_ca_file"] { tls.clientCAPEM = try resolve(n).1 }
            if tls.clientAuth == .verifyIfGiven || tls.clientAuth == .requireAndVerify {
                guard tls.clientCAPEM != nil else {
                    throw (m["client_auth_type"] ?? node).error("\(tls.clientAuth.rawValue) needs client_ca_file")
                }
            }
            if let ca = tls.clientCAPEM, let n = m["client_ca_file"] {
                do {
                    guard !(try NIOSSLCertificate.fromPEMBytes(ca)).isEmpty else { throw n.error("no certificate") }
                } catch {
                    throw n.error("holds no PEM certificate (\(error))")
                }
            }
            for (key, assign) in [("min_version", true), ("max_version", false)] {
                guard let n = m[key] else { continue }
                let name = try n.string()
                guard let v = versions[name] else {
                    throw n.error("unknown TLS version '\(name)' (TLS10, TLS11, TLS12, TLS13)")
                }
                if assign { tls.minVersion = v } else { tls.maxVersion = v }
            }
            if let n = m["cipher_suites"] {
                for item in try n.sequence() {
                    let name = try item.string()
                    guard let c = ciphers[name] else {
                        throw item.error(
                            "unknown or unsupported cipher suite '\(name)' (TLS 1.2 suites by their Go names, e.g. "
                                + "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256)")
                    }
                    tls.cipherSuites.append(c)
                }
            }
            if let n = m["prefer_server_cipher_suites"] { _ = try n.bool() }  // BoringSSL's server order always wins
            web.tls = tls
            // The whole context, as connections will get it: a key that does not fit the
            // certificate is refused here, not at the first handshake.
            do {
                _ = try web.makeSSLContext()
            } catch {
                throw node.error("the certificate and key do not make a TLS context: \(error)")
            }
        }
        if let node = top["http_server_config"], !node.isNull {
            let m = try node.mapping(allowed: ["headers", "http2"])
            if let h = m["http2"] { _ = try h.bool() }  // tallyd speaks HTTP/1.1, which every scraper does
            if let h = m["headers"] {
                for (name, value) in try h.orderedMapping() {
                    guard let canonical = allowedHeaders.first(where: { $0.lowercased() == name.lowercased() }) else {
                        throw value.error(
                            "header '\(name)' may not be set (one of: \(allowedHeaders.joined(separator: ", ")))")
                    }
                    web.headers.append((canonical, try value.string()))
                }
            }
        }
        if let node = top["basic_auth_users"], !node.isNull {
            for (user, value) in try node.orderedMapping() {
                guard !user.isEmpty, !user.contains(":") else {
                    throw value.error("a user name may not be empty or contain ':'")
                }
                let hash = try value.string()
                guard PasswordHash.isBcrypt(hash) else {
                    throw value.error(
                        "not a bcrypt hash ($2y$10$... from htpasswd -nBC 10 \(user), or tally hash-password)")
                }
                web.users[user] = hash
            }
        }
        return web
    }

    /// The server context for new connections.
    func makeSSLContext() throws -> NIOSSLContext? {
        guard let tls else { return nil }
        var c = TLSConfiguration.makeServerConfiguration(
            certificateChain: try NIOSSLCertificate.fromPEMBytes(tls.certPEM).map { .certificate($0) },
            privateKey: .privateKey(try NIOSSLPrivateKey(bytes: tls.keyPEM, format: .pem)))
        c.minimumTLSVersion = tls.minVersion
        c.maximumTLSVersion = tls.maxVersion
        if !tls.cipherSuites.isEmpty { c.cipherSuiteValues = tls.cipherSuites }
        switch tls.clientAuth {
        case .none, .request: c.certificateVerification = .none
        case .verifyIfGiven: c.certificateVerification = .optionalVerification
        case .requireAndVerify: c.certificateVerification = .noHostnameVerification
        }
        if let ca = tls.clientCAPEM {
            c.trustRoots = .certificates(try NIOSSLCertificate.fromPEMBytes(ca))
        }
        return try NIOSSLContext(configuration: c)
    }
}
