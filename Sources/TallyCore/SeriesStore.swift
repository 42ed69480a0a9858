/// The series of one service inside one shard: keys in a byte table, state in flat arrays.
///
/// A series key is the family id (4 bytes, little endian) followed by its label data:
/// for documented families the label values in catalogue order, each ended by NUL; for
/// undocumented families `name SOH value NUL` pairs sorted by name. NUL never occurs in an
/// accepted line, so keys are unambiguous and sort in label order.
public struct SeriesStore: Sendable {
    var table = ByteKeyTable(capacity: 64)
    /// Offset of each series' first Double in `values`.
    var offsets: [UInt32] = []
    /// Counter/gauge: the value. Histogram: per-bucket counts, sum, count. Summary: sum, count.
    var values: [Double] = []

    public init() {}

    public var count: Int { table.count }

    /// The values offset of the series `key`, if it exists.
    @inline(__always)
    func find(_ key: UnsafeRawBufferPointer, hash: UInt64) -> Int? {
        table.find(key, hash: hash).map { Int(offsets[$0]) }
    }

    /// The series for `key`, creating it with `width` zeroed Doubles if absent.
    @inline(__always)
    mutating func series(_ key: UnsafeRawBufferPointer, hash: UInt64, width: Int) -> Int {
        if let i = table.find(key, hash: hash) { return Int(offsets[i]) }
        return insert(key, hash: hash, width: width)
    }

    /// Creates the series `key` (which must be absent) with `width` zeroed Doubles.
    mutating func insert(_ key: UnsafeRawBufferPointer, hash: UInt64, width: Int) -> Int {
        table.insert(key, hash: hash)
        let offset = values.count
        offsets.append(UInt32(offset))
        values.append(contentsOf: repeatElement(0, count: width))
        return offset
    }

    public var allocatedBytes: Int {
        table.allocatedBytes + offsets.capacity * 4 + values.capacity * 8
    }
}

/// What one accepted value does to its series.
public enum SampleUpdate: Sendable {
    case add(Double)
    case set(Double)
    /// Bucket index (== bucket count for +Inf only), bucket count, value, weight (1/rate).
    case observe(bucket: Int, buckets: Int, value: Double, weight: Double)
    /// Summary without quantiles: value, weight.
    case summarize(value: Double, weight: Double)
}

extension SeriesStore {
    @inline(__always)
    mutating func apply(_ update: SampleUpdate, at offset: Int) {
        values.withUnsafeMutableBufferPointer { v in
            switch update {
            case .add(let x): v[offset] += x
            case .set(let x): v[offset] = x
            case .observe(let bucket, let buckets, let value, let weight):
                if bucket < buckets { v[offset + bucket] += weight }
                v[offset + buckets] += value * weight
                v[offset + buckets + 1] += weight
            case .summarize(let value, let weight):
                v[offset] += value * weight
                v[offset + 1] += weight
            }
        }
    }
}
