#if canImport(Glibc)
    import Glibc
#endif

/// Whether a warning about the host, not the config, was already given since the machine
/// booted: every restart would otherwise repeat it (a stock kernel's `net.core.rmem_max` is
/// below tallyd's default receive buffer until the operator raises it). A small file in the
/// runtime directory (`$RUNTIME_DIRECTORY` under systemd, else `/tmp`) holds the boot id of
/// the last warning; a reboot, or an unreadable file, warns again.
enum OncePerBoot {
    /// True the first time `key` is asked since boot (and records it); false after.
    static func first(_ key: String, directory: String? = nil) -> Bool {
        guard let boot = bootID() else { return true }
        let dir = directory ?? runtimeDirectory()
        let path = "\(dir)/tallyd-\(getuid())-\(key).boot"
        if let text = try? FileText.read(path), text == boot { return false }
        if let f = fopen(path, "w") {
            fputs(boot, f)
            fclose(f)
        }
        return true
    }

    static func bootID() -> String? {
        guard let text = try? FileText.read("/proc/sys/kernel/random/boot_id") else { return nil }
        let id = text.filter { !$0.isWhitespace }
        return id.isEmpty ? nil : id
    }

    private static func runtimeDirectory() -> String {
        if let raw = getenv("RUNTIME_DIRECTORY"), raw.pointee != 0 {
            // systemd may list several, separated by ':'.
            return String(String(cString: raw).split(separator: ":").first ?? "/tmp")
        }
        return "/tmp"
    }
}
