import Synchronization

/// Lets one log line per reason through per interval, and counts what it held back so the
/// next line can say how many were suppressed.
public final class RejectLogLimiter: Sendable {
    struct Slot: Sendable {
        var last = -Double.infinity
        var suppressed = 0
    }

    public let interval: Double
    private let slots: Mutex<[Slot]>

    public init(interval: Double = 1.0) {
        self.interval = interval
        slots = Mutex([Slot](repeating: Slot(), count: RejectReason.allCases.count))
    }

    /// nil: stay quiet. Otherwise log, mentioning the returned number of suppressed lines.
    /// `force` admits the line even inside the interval (and starts a new one).
    public func admit(_ reason: RejectReason, now: Double, force: Bool = false) -> Int? {
        slots.withLock { slots in
            let i = reason.ordinal
            if force || now - slots[i].last >= interval {
                let suppressed = slots[i].suppressed
                slots[i] = Slot(last: now, suppressed: 0)
                return suppressed
            }
            slots[i].suppressed += 1
            return nil
        }
    }
}

/// A refused line as the operator sees it in the log.
public struct Rejection: Sendable, Equatable {
    public var reason: RejectReason
    public var detail: String
    /// The line, truncated to 200 bytes, non-printable bytes escaped.
    public var line: String
    public var transport: String
    /// Lines refused for the same reason and not logged since the previous log line.
    public var suppressed: Int

    public var message: String {
        var m = "rejected line (\(reason.rawValue)): \(detail): \"\(line)\" via \(transport)"
        if suppressed > 0 { m += " (\(suppressed) more \(reason.rawValue) rejections not logged)" }
        return m
    }
}

/// Makes untrusted bytes safe to print on one log line.
public enum LogEscaper {
    public static func escape(_ bytes: UnsafeRawBufferPointer, limit: Int) -> String {
        var out = ""
        out.reserveCapacity(min(bytes.count, limit) + 8)
        let hex: [Character] = Array("0123456789abcdef")
        // Decode as UTF-8 where valid so unicode stays readable; escape controls and junk.
        var i = 0
        var emitted = 0
        while i < bytes.count && emitted < limit {
            let b = bytes[i]
            if b >= 0x20 && b < 0x7F {
                if b == UInt8(ascii: "\\") || b == UInt8(ascii: "\"") { out.append("\\") }
                out.append(Character(Unicode.Scalar(b)))
                i += 1
                emitted += 1
                continue
            }
            let len = UTF8Validation.sequenceLength(bytes, at: i)
            if len > 1 {
                out += String(decoding: UnsafeRawBufferPointer(rebasing: bytes[i..<i + len]), as: UTF8.self)
                i += len
                emitted += len
                continue
            }
            switch b {
            case 0x0A: out += "\\n"
            case 0x0D: out += "\\r"
            case 0x09: out += "\\t"
            default:
                out += "\\x"
                out.append(hex[Int(b >> 4)])
                out.append(hex[Int(b & 0xF)])
            }
            i += 1
            emitted += 1
        }
        if i < bytes.count { out += "…" }
        return out
    }
}
