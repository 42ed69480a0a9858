import CCrypt

/// bcrypt through the system's libcrypt (`crypt_r`), the hashes `htpasswd -B`, Python's bcrypt
/// and exporter-toolkit's users write: `$2a$`, `$2b$` or `$2y$`, a two-digit cost, 53 characters.
public enum PasswordHash {
    /// Whether `hash` has bcrypt's shape (the cost within what libcrypt accepts, 4...31).
    static func isBcrypt(_ hash: String) -> Bool {
        let b = Array(hash.utf8)
        guard b.count == 60, b[0] == UInt8(ascii: "$"), b[1] == UInt8(ascii: "2"),
            [UInt8(ascii: "a"), UInt8(ascii: "b"), UInt8(ascii: "y")].contains(b[2]), b[3] == UInt8(ascii: "$"),
            b[6] == UInt8(ascii: "$"), let cost = Int(String(decoding: b[4..<6], as: UTF8.self)),
            (4...31).contains(cost)
        else { return false }
        return b[7...].allSatisfy { c in
            c == UInt8(ascii: ".") || c == UInt8(ascii: "/") || (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A)
                || (c >= 0x61 && c <= 0x7A)
        }
    }

    /// Whether `password` hashes to `hash`: one bcrypt run (tens of milliseconds at cost 10,
    /// which is the point), compared in constant time.
    static func verify(_ password: [UInt8], hash: String) -> Bool {
        guard !password.contains(0) else { return false }
        let data = UnsafeMutablePointer<crypt_data>.allocate(capacity: 1)
        defer { data.deallocate() }
        UnsafeMutableRawPointer(data).initializeMemory(
            as: UInt8.self, repeating: 0, count: MemoryLayout<crypt_data>.size)
        let phrase = password.map { CChar(bitPattern: $0) } + [0]
        guard let out = crypt_r(phrase, hash, data) else { return false }
        let computed = Array(String(cString: out).utf8)
        let expected = Array(hash.utf8)
        guard computed.count == expected.count else { return false }
        var difference: UInt8 = 0
        for i in computed.indices { difference |= computed[i] ^ expected[i] }
        return difference == 0
    }

    /// A new `$2b$` hash of `password` with a random salt (libcrypt reads the OS's random source).
    public static func make(_ password: String, cost: Int = 10) -> String? {
        var salt = [CChar](repeating: 0, count: 64)
        guard crypt_gensalt_rn("$2b$", UInt(cost), nil, 0, &salt, Int32(salt.count)) != nil else { return nil }
        let data = UnsafeMutablePointer<crypt_data>.allocate(capacity: 1)
        defer { data.deallocate() }
        UnsafeMutableRawPointer(data).initializeMemory(
            as: UInt8.self, repeating: 0, count: MemoryLayout<crypt_data>.size)
        guard let out = crypt_r(password, salt, data) else { return nil }
        let hash = String(cString: out)
        return isBcrypt(hash) ? hash : nil
    }
}
