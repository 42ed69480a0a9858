import FoundationEssentials
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
                t.authorization = "Basic " + Data("\(auth.username):\(password)".utf8).base64EncodedString()
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

    /// This machine's name, the `instance` label unless external labels set one.
    static var hostName: String {
        var buf = [CChar](repeating: 0, count: 256)
        guard gethostname(&buf, buf.count) == 0 else { return "localhost" }
        return String(cString: buf)
    }
}
