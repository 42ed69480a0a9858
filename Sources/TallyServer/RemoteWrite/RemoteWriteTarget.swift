import TallyCore

#if canImport(Glibc)
    import Glibc
#endif

/// A `remote_write` entry with its secrets read: what a sender needs, checked when the config
/// loads (start, `--check-config`, reload), so an unreadable password file is a config error
/// with its key and line, not a failed send at 3 a.m.
public struct RemoteWriteTarget: Sendable, Equatable {
    public var endpoint: RemoteWriteEndpoint
    /// `Basic …` or `Bearer …`, from the password or token file.
    var authorization: String?

    static func load(_ config: TallyConfig) throws(ConfigError) -> [RemoteWriteTarget] {
        var out: [RemoteWriteTarget] = []
        for (i, e) in config.remoteWrite.enumerated() {
            var t = RemoteWriteTarget(endpoint: e)
            for s in e.services ?? [] where !config.services.contains(where: { $0.name == s }) {
                throw config.locations.error(
                    "remote_write[\(i)].services", "'\(s)' is not one of the configured services")
            }
            if let auth = e.basicAuth {
                let password = try secret(auth.passwordFile, key: "remote_write[\(i)].basic_auth.password_file", config)
                t.authorization = "Basic " + base64(Array("\(auth.username):\(password)".utf8))
            }
            if let file = e.bearerTokenFile {
                t.authorization = "Bearer " + (try secret(file, key: "remote_write[\(i)].bearer_token_file", config))
            }
            out.append(t)
        }
        return out
    }

    /// A secret file's first line (a trailing newline is not part of it).
    static func secret(_ path: String, key: String, _ config: TallyConfig) throws(ConfigError) -> String {
        let text: String
        do {
            text = try FileText.read(path)
        } catch {
            throw config.locations.error(key, "\(error)")
        }
        let line = text.split(separator: "\n", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
        let value = line.hasSuffix("\r") ? String(line.dropLast()) : String(line)
        guard !value.isEmpty else { throw config.locations.error(key, "\(path) is empty") }
        return value
    }

    static func base64(_ bytes: [UInt8]) -> String {
        let table = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
        var out: [UInt8] = []
        var i = 0
        while i < bytes.count {
            let n = min(3, bytes.count - i)
            var v = UInt32(bytes[i]) << 16
            if n > 1 { v |= UInt32(bytes[i + 1]) << 8 }
            if n > 2 { v |= UInt32(bytes[i + 2]) }
            for j in 0..<4 { out.append(j <= n ? table[Int((v >> (18 - 6 * UInt32(j))) & 63)] : UInt8(ascii: "=")) }
            i += 3
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// This machine's name, the `instance` label unless external labels set one.
    static var hostName: String {
        var buf = [CChar](repeating: 0, count: 256)
        guard gethostname(&buf, buf.count) == 0 else { return "localhost" }
        return String(cString: buf)
    }
}
