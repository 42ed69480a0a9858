/// Appends Prometheus text-format (0.0.4) pieces to one growing byte buffer.
public struct TextWriter {
    public var bytes: [UInt8] = []

    public init(capacity: Int = 4096) { bytes.reserveCapacity(capacity) }

    @inline(__always) public mutating func append(_ s: StaticString) {
        bytes.append(contentsOf: UnsafeRawBufferPointer(start: s.utf8Start, count: s.utf8CodeUnitCount))
    }

    @inline(__always) public mutating func append(_ s: String) { bytes.append(contentsOf: s.utf8) }

    @inline(__always) public mutating func append(raw: UnsafeRawBufferPointer) { bytes.append(contentsOf: raw) }

    @inline(__always) public mutating func append(byte: UInt8) { bytes.append(byte) }

    /// `# HELP name text` and `# TYPE name type`.
    public mutating func header(name: String, help: String, type: FamilyType) {
        append("# HELP ")
        append(name)
        append(byte: 0x20)
        for b in help.utf8 {
            switch b {
            case UInt8(ascii: "\\"): append("\\\\")
            case 0x0A: append("\\n")
            default: bytes.append(b)
            }
        }
        append("\n# TYPE ")
        append(name)
        append(byte: 0x20)
        append(type.rawValue)
        append(byte: 0x0A)
    }

    /// A label value with `\`, `"` and newline escaped.
    @inline(__always) public mutating func labelValue(_ v: UnsafeRawBufferPointer) {
        for b in v {
            switch b {
            case UInt8(ascii: "\\"): append("\\\\")
            case UInt8(ascii: "\""): append("\\\"")
            case 0x0A: append("\\n")
            default: bytes.append(b)
            }
        }
    }

    public mutating func labelValue(_ v: String) {
        var v = v
        v.withUTF8 { labelValue(UnsafeRawBufferPointer($0)) }
    }

    /// A sample value: integers without exponent or fraction, the rest shortest round-trip,
    /// and `NaN`, `+Inf`, `-Inf` as Prometheus spells them.
    public mutating func value(_ v: Double) {
        if v.isNaN { append("NaN"); return }
        if v.isInfinite { append(v < 0 ? "-Inf" : "+Inf"); return }
        if v == v.rounded(.towardZero) && abs(v) < 1e15 {
            integer(Int64(v))
            return
        }
        append(v.description)
    }

    public mutating func integer(_ i: Int64) {
        if i == 0 { bytes.append(0x30); return }
        var n = i.magnitude
        if i < 0 { bytes.append(UInt8(ascii: "-")) }
        var tmp: (UInt64, UInt64, UInt64) = (0, 0, 0)  // 24 bytes of digit scratch
        withUnsafeMutableBytes(of: &tmp) { buf in
            var pos = buf.count
            while n > 0 {
                pos -= 1
                buf[pos] = UInt8(truncatingIfNeeded: n % 10) + 0x30
                n /= 10
            }
            bytes.append(contentsOf: UnsafeRawBufferPointer(rebasing: buf[pos...]))
        }
    }

    /// A bucket bound as it appears in `le` (bounds are finite): always with a fraction
    /// (`1.0`, `0.005`), as the Python client prints it.
    public static func bucketLabel(_ b: Double) -> String { b.description }
}
