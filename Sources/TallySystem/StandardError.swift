#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// `print(..., to: &err)` for both executables: unbuffered writes to descriptor 2, so a message
/// is out before the process exits.
public struct StandardError: TextOutputStream {
    public init() {}

    public mutating func write(_ string: String) {
        var s = string
        s.withUTF8 { bytes in
            var offset = 0
            while offset < bytes.count {
                let n = Glibc.write(2, bytes.baseAddress! + offset, bytes.count - offset)
                if n <= 0 { return }
                offset += n
            }
        }
    }

    /// Writes `message` and a newline.
    public static func print(_ message: String) {
        var err = StandardError()
        Swift.print(message, to: &err)
    }
}
