/// Appends Prometheus text-format (0.0.4) pieces to one growing byte buffer.
///
/// The buffer is raw memory owned by this non-copyable value: appends are a capacity check
/// and a memcpy, with none of the generic `Array.append(contentsOf:)` machinery per piece.
public struct TextWriter: ~Copyable {
    private var base: UnsafeMutableRawPointer
    private var count = 0
    private var capacity: Int

    public init(capacity: Int = 4096) {
        self.capacity = max(capacity, 64)
        base = UnsafeMutableRawPointer.allocate(byteCount: self.capacity, alignment: 16)
    }

    deinit { base.deallocate() }

    /// A copy of what was written.
    public var bytes: [UInt8] { Array(UnsafeRawBufferPointer(start: base, count: count)) }

    public var byteCount: Int { count }

    @inline(__always) mutating func reserve(_ n: Int) {
        if count &+ n > capacity { grow(count + n) }
    }

    mutating func grow(_ needed: Int) {
        var c = capacity * 2
        while c < needed { c *= 2 }
        let b = UnsafeMutableRawPointer.allocate(byteCount: c, alignment: 16)
        b.copyMemory(from: base, byteCount: count)
        base.deallocate()
        base = b
        capacity = c
    }

    @inline(__always) public mutating func append(raw: UnsafeRawBufferPointer) {
        let n = raw.count
        guard n > 0 else { return }
        reserve(n)
        (base + count).copyMemory(from: raw.baseAddress!, byteCount: n)
        count &+= n
    }

    @inline(__always) public mutating func append(_ s: StaticString) {
        append(raw: UnsafeRawBufferPointer(start: s.utf8Start, count: s.utf8CodeUnitCount))
    }

    @inline(__always) public mutating func append(_ s: String) {
        var s = s
        s.withUTF8 { append(raw: UnsafeRawBufferPointer($0)) }
    }

    @inline(__always) public mutating func append(byte: UInt8) {
        reserve(1)
        base.storeBytes(of: byte, toByteOffset: count, as: UInt8.self)
        count &+= 1
    }

    @inline(__always) public mutating func append(bytes b: [UInt8]) {
        b.withUnsafeBytes { append(raw: $0) }
    }

    /// `# HELP name text` and `# TYPE name type`.
    /// A family of one unlabelled sample: `# HELP`, `# TYPE`, then `name value`.
    public mutating func single(name: String, help: String, type: FamilyType, value: Double) {
        header(name: name, help: help, type: type)
        append(name)
        append(byte: 0x20)
        self.value(value)
        append(byte: 0x0A)
    }

    /// The same with an integer sample.
    public mutating func single(name: String, help: String, type: FamilyType, integer: Int64) {
        header(name: name, help: help, type: type)
        append(name)
        append(byte: 0x20)
        self.integer(integer)
        append(byte: 0x0A)
    }

    public mutating func header(name: String, help: String, type: FamilyType) {
        append("# HELP ")
        append(name)
        append(byte: 0x20)
        for b in help.utf8 {
            switch b {
            case UInt8(ascii: "\\"): append("\\\\")
            case 0x0A: append("\\n")
            default: append(byte: b)
            }
        }
        append("\n# TYPE ")
        append(name)
        append(byte: 0x20)
        append(type.rawValue)
        append(byte: 0x0A)
    }

    /// OpenMetrics' `# TYPE`, `# UNIT` (when the name ends in it) and `# HELP` (with `"`
    /// escaped as well). `name` is the family's: a counter's without `_total`.
    public mutating func openMetricsHeader(name: String, help: String, type: FamilyType, unit: FamilyUnit) {
        append("# TYPE ")
        append(name)
        append(byte: 0x20)
        append(type.rawValue)
        if unit != .none && name.hasSuffix("_" + unit.rawValue) {
            append("\n# UNIT ")
            append(name)
            append(byte: 0x20)
            append(unit.rawValue)
        }
        append("\n# HELP ")
        append(name)
        append(byte: 0x20)
        for b in help.utf8 {
            switch b {
            case UInt8(ascii: "\\"): append("\\\\")
            case UInt8(ascii: "\""): append("\\\"")
            case 0x0A: append("\\n")
            default: append(byte: b)
            }
        }
        append(byte: 0x0A)
    }

    /// A label value with `\`, `"` and newline escaped.
    @inline(__always) public mutating func labelValue(_ v: UnsafeRawBufferPointer) {
        var clean = true
        for b in v where b == UInt8(ascii: "\\") || b == UInt8(ascii: "\"") || b == 0x0A {
            clean = false
            break
        }
        if clean {
            append(raw: v)
            return
        }
        for b in v {
            switch b {
            case UInt8(ascii: "\\"): append("\\\\")
            case UInt8(ascii: "\""): append("\\\"")
            case 0x0A: append("\\n")
            default: append(byte: b)
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
        if v.isNaN {
            append("NaN")
            return
        }
        if v.isInfinite {
            append(v < 0 ? "-Inf" : "+Inf")
            return
        }
        if v == v.rounded(.towardZero) && abs(v) < 1e15 {
            integer(Int64(v))
            return
        }
        append(v.description)
    }

    public mutating func integer(_ i: Int64) {
        if i == 0 {
            append(byte: 0x30)
            return
        }
        var n = i.magnitude
        if i < 0 { append(byte: UInt8(ascii: "-")) }
        var tmp: (UInt64, UInt64, UInt64) = (0, 0, 0)  // 24 bytes of digit scratch
        withUnsafeMutableBytes(of: &tmp) { buf in
            var pos = buf.count
            while n > 0 {
                pos -= 1
                buf[pos] = UInt8(truncatingIfNeeded: n % 10) + 0x30
                n /= 10
            }
            append(raw: UnsafeRawBufferPointer(rebasing: buf[pos...]))
        }
    }

    /// A bucket bound as it appears in `le` (bounds are finite): always with a fraction
    /// (`1.0`, `0.005`), as the Python client prints it.
    public static func bucketLabel(_ b: Double) -> String { b.description }
}
