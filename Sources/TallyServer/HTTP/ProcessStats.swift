#if canImport(Glibc)
    import Glibc
#endif

/// The daemon's own CPU time and memory (from /proc/self/stat) and descriptors, as the
/// Prometheus client libraries name them (`process_*`).
struct ProcessStats {
    var cpuSeconds: Double
    var residentBytes: Double
    var virtualBytes: Double

    /// Entries in /proc/self/fd (the directory's own descriptor not counted).
    static func openDescriptors() -> Int? {
        guard let dir = opendir("/proc/self/fd") else { return nil }
        defer { closedir(dir) }
        var count = 0
        while let entry = readdir(dir) {
            let first = withUnsafeBytes(of: entry.pointee.d_name) { $0[0] }
            if first != UInt8(ascii: ".") { count += 1 }
        }
        return count - 1
    }

    /// The soft RLIMIT_NOFILE.
    static func maxDescriptors() -> Int? {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return nil }
        return limit.rlim_cur == rlim_t.max ? nil : Int(limit.rlim_cur)
    }

    static func read() -> ProcessStats? {
        #if os(Linux)
            guard let f = fopen("/proc/self/stat", "r") else { return nil }
            defer { fclose(f) }
            var buf = [CChar](repeating: 0, count: 1024)
            guard fgets(&buf, Int32(buf.count), f) != nil else { return nil }
            let line = String(decoding: buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            // Fields after the command name, which is in parentheses and may hold spaces.
            guard let close = line.lastIndex(of: ")") else { return nil }
            let fields = line[line.index(after: close)...].split(separator: " ")
            // fields[0] is field 3 (state); utime is field 14, stime 15, vsize 23, rss 24.
            guard fields.count > 21, let utime = Double(fields[11]), let stime = Double(fields[12]),
                let vsize = Double(fields[20]), let rss = Double(fields[21])
            else {
                return nil
            }
            let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
            let page = Double(sysconf(Int32(_SC_PAGESIZE)))
            return ProcessStats(cpuSeconds: (utime + stime) / ticks, residentBytes: rss * page, virtualBytes: vsize)
        #else
            return nil
        #endif
    }
}
