import CZlib

/// gzip (RFC 1952) with zlib's deflate, for scrapers that send `Accept-Encoding: gzip`
/// (Prometheus does): a /metrics body of repetitive text shrinks about tenfold.
public enum Gzip {
    /// Level 1: nearly all of the size win for a fraction of the time of the default level.
    static let level: Int32 = 1

    /// `bytes` gzip-compressed, or nil if zlib failed (the caller then sends them as they are).
    public static func compress(_ bytes: [UInt8]) -> [UInt8]? {
        var stream = z_stream()
        // windowBits 15 + 16: a gzip header and trailer instead of zlib's.
        guard
            deflateInit2_(
                &stream, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY, ZLIB_VERSION,
                Int32(MemoryLayout<z_stream>.size)) == Z_OK
        else { return nil }
        defer { deflateEnd(&stream) }
        // Uninitialized: zero-filling a bound the size of the input costs a page fault and a
        // memset per 4 KiB for bytes deflate overwrites anyway.
        var result: Int32 = Z_STREAM_ERROR
        let out = [UInt8](unsafeUninitializedCapacity: Int(deflateBound(&stream, uLong(bytes.count))) + 32) {
            output, written in
            result = bytes.withUnsafeBufferPointer { input in
                stream.next_in = UnsafeMutablePointer(mutating: input.baseAddress)
                stream.avail_in = uInt(input.count)
                stream.next_out = output.baseAddress
                stream.avail_out = uInt(output.count)
                return deflate(&stream, Z_FINISH)
            }
            written = result == Z_STREAM_END ? Int(stream.total_out) : 0
        }
        guard result == Z_STREAM_END else { return nil }
        return out
    }

    /// True when an `Accept-Encoding` header value admits gzip (`gzip`, `gzip;q=0.5`, `*`),
    /// and does not refuse it with `q=0`.
    static func accepted(_ header: String) -> Bool {
        for part in header.split(separator: ",") {
            let fields = part.split(separator: ";").map { $0.trimmingCharacters() }
            guard let coding = fields.first?.lowercased(), coding == "gzip" || coding == "*" else { continue }
            let q = fields.dropFirst().first { $0.hasPrefix("q=") }.flatMap { Double($0.dropFirst(2)) } ?? 1
            return q > 0
        }
        return false
    }
}
