import CTallyCPU

/// Finding bytes in a buffer 16 at a time (`CTallyScan.h`): StatsD lines are scanned for
/// `\n`, `|`, `,` and `:` many times, and most runs between them are longer than a word.
public enum ByteScan {
    /// The index of the first `byte` in `p[from..<to]`, or `to` when there is none.
    @inline(__always)
    public static func find(_ byte: UInt8, _ p: UnsafeRawBufferPointer, from: Int, to: Int) -> Int {
        guard from < to else { return to }
        return tally_find_byte(p.baseAddress!, p.count, from, to, byte)
    }

    /// One pass for two bytes: the first `stop` in `p[from..<to]` (or `to`), and the first
    /// `mark` before it (or `stop`'s index when there is none). A tag is `key:value,`: the
    /// comma ends it, the first colon splits it, and both come from the same loads.
    @inline(__always)
    public static func find(
        _ stop: UInt8, first mark: UInt8, _ p: UnsafeRawBufferPointer, from: Int, to: Int
    ) -> (stop: Int, mark: Int) {
        guard from < to else { return (to, to) }
        let r = tally_find_pair(p.baseAddress!, p.count, from, to, stop, mark)
        return (r.stop, r.mark)
    }
}
