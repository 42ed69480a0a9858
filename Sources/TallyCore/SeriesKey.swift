/// The series key: the bytes that identify one series inside a service's store.
///
/// Layout: the family id (u32, little endian), then one field per label, each ended by a NUL:
/// the value alone in the family's label order (documented families), or `name`, 0x01,
/// `value`, sorted by name (undocumented families). Nothing outside this type reads or writes
/// the family id's position and width; the ingestor writes the fields and the renderer and
/// `forEachLabel` read them.
public enum SeriesKey {
    /// Bytes before the labels.
    public static let familyIDSize = 4

    /// The family id a key starts with.
    @inline(__always)
    public static func family(of key: UnsafeRawBufferPointer) -> Int {
        Int(key.loadUnaligned(as: UInt32.self).littleEndian)
    }

    /// The label bytes after the family id.
    @inline(__always)
    public static func labels(of key: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: key[familyIDSize...])
    }

    /// Calls `body` with each label field of `key`: the name (undocumented families only) and
    /// the value.
    public static func forEachLabel(
        of key: UnsafeRawBufferPointer,
        _ body: (_ index: Int, _ name: UnsafeRawBufferPointer?, _ value: UnsafeRawBufferPointer) -> Void
    ) {
        var index = 0
        var start = familyIDSize
        var separator: Int? = nil
        var j = familyIDSize
        while j < key.count {
            if key[j] == 1 && separator == nil { separator = j }
            if key[j] == 0 {
                if let s = separator {
                    body(
                        index, UnsafeRawBufferPointer(rebasing: key[start..<s]),
                        UnsafeRawBufferPointer(rebasing: key[(s + 1)..<j]))
                } else {
                    body(index, nil, UnsafeRawBufferPointer(rebasing: key[start..<j]))
                }
                index += 1
                start = j + 1
                separator = nil
            }
            j += 1
        }
    }

    /// A whole key: `family` then `labels`.
    public static func make(family: Int, labels: some Collection<UInt8>, into key: inout [UInt8]) {
        key.removeAll(keepingCapacity: true)
        withUnsafeBytes(of: UInt32(family).littleEndian) { key.append(contentsOf: $0) }
        key.append(contentsOf: labels)
    }

    /// The family id as a key's first bytes, for a key being built in place.
    @inline(__always)
    static func withFamilyBytes<R>(_ family: Int, _ body: (UnsafeRawBufferPointer) -> R) -> R {
        withUnsafeBytes(of: UInt32(family).littleEndian, body)
    }
}
