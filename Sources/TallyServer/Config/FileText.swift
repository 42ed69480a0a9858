import Glibc

/// Whole-file reads and atomic writes, with errors that name the path.
public enum FileText {
    public static func read(_ path: String) throws -> String {
        String(decoding: try readBytes(path), as: UTF8.self)
    }

    public static func readBytes(_ path: String) throws -> [UInt8] {
        guard let f = fopen(path, "r") else {
            throw StartupError(description: "\(path): cannot open: \(String(cString: strerror(errno)))")
        }
        defer { fclose(f) }
        var out = [UInt8]()
        var buf = [UInt8](repeating: 0, count: 65_536)
        while true {
            let n = fread(&buf, 1, buf.count, f)
            if n > 0 { out.append(contentsOf: buf[0..<n]) }
            if n < buf.count { break }
        }
        if ferror(f) != 0 { throw StartupError(description: "\(path): read error") }
        return out
    }

    /// Writes `bytes` to `path.tmp`, syncs it and renames it over `path`: a reader (or a crash)
    /// sees the old file or the new one, never half of one.
    public static func writeAtomically(_ bytes: [UInt8], to path: String) throws {
        let tmp = path + ".tmp"
        let fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw StartupError(description: "\(tmp): cannot create: \(String(cString: strerror(errno)))")
        }
        var written = 0
        let failure: String? = bytes.withUnsafeBytes { b -> String? in
            while written < b.count {
                let n = write(fd, b.baseAddress! + written, b.count - written)
                if n < 0 {
                    if errno == EINTR { continue }
                    return String(cString: strerror(errno))
                }
                written += n
            }
            return fsync(fd) == 0 ? nil : String(cString: strerror(errno))
        }
        close(fd)
        if let failure {
            unlink(tmp)
            throw StartupError(description: "\(tmp): cannot write: \(failure)")
        }
        guard rename(tmp, path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(tmp)
            throw StartupError(description: "\(path): cannot replace: \(reason)")
        }
    }
}
