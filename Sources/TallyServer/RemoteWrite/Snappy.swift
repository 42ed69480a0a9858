import CSnappy

/// Snappy block compression, as remote write's `Content-Encoding: snappy` means it (the block
/// format, not the framed stream), from the system's libsnappy.
enum Snappy {
    static func compress(_ input: [UInt8]) -> [UInt8] {
        var length = snappy_max_compressed_length(input.count)
        var out = [UInt8](repeating: 0, count: length)
        let status = input.withUnsafeBytes { i in
            out.withUnsafeMutableBytes { o in
                snappy_compress(
                    i.baseAddress?.assumingMemoryBound(to: CChar.self), input.count,
                    o.baseAddress?.assumingMemoryBound(to: CChar.self), &length)
            }
        }
        precondition(status == SNAPPY_OK, "snappy_compress failed with a buffer of its own maximum size")
        out.removeLast(out.count - length)
        return out
    }

    /// nil for input that is not a snappy block (tests read what was sent).
    static func uncompress(_ input: [UInt8]) -> [UInt8]? {
        var length = 0
        let sized = input.withUnsafeBytes { i in
            snappy_uncompressed_length(i.baseAddress?.assumingMemoryBound(to: CChar.self), input.count, &length)
        }
        guard sized == SNAPPY_OK, length <= 1 << 30 else { return nil }
        var out = [UInt8](repeating: 0, count: length)
        let status = input.withUnsafeBytes { i in
            out.withUnsafeMutableBytes { o in
                snappy_uncompress(
                    i.baseAddress?.assumingMemoryBound(to: CChar.self), input.count,
                    o.baseAddress?.assumingMemoryBound(to: CChar.self), &length)
            }
        }
        return status == SNAPPY_OK ? out : nil
    }
}
