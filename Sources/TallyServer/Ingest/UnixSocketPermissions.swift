#if canImport(Glibc)
    import Glibc
#endif

/// Mode and group of an ingest socket: who may send is decided by who may write the file.
enum UnixSocketPermissions {
    static func apply(path: String, mode: UInt32, group: String?) throws {
        if let group {
            guard let entry = getgrnam(group) else {
                throw StartupError(description: "unix socket \(path): group '\(group)' does not exist")
            }
            guard chown(path, uid_t(bitPattern: -1), entry.pointee.gr_gid) == 0 else {
                throw StartupError(
                    description:
                        "unix socket \(path): cannot give it to group '\(group)': \(String(cString: strerror(errno)))")
            }
        }
        guard chmod(path, mode_t(mode)) == 0 else {
            throw StartupError(
                description:
                    "unix socket \(path): cannot set mode \(String(mode, radix: 8)): "
                    + "\(String(cString: strerror(errno)))"
            )
        }
    }
}
