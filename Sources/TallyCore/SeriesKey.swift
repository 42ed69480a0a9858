/// The series key: the bytes that identify one series inside a service's store.
///
/// Layout: the family id (u32, little endian), then the label values in the family's label
/// order, each ended by a NUL (documented families), or `name=value` pairs sorted by name
/// (undocumented families). Nothing outside this type reads or writes the family id's
/// position and width; the label bytes are written by the ingestor and read by the renderer.
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
