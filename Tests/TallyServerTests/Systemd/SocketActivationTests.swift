import Testing

@testable import TallyServer

#if canImport(Glibc)
    import Glibc
#endif

/// Sorting passed descriptors, with real sockets on loopback (port 0: the kernel picks).
@Suite struct SocketActivationTests {
    /// A socket of `type` bound to 127.0.0.1:0 (listening when a stream), and its port.
    static func loopbackSocket(_ type: Int32) -> (fd: Int32, port: Int) {
        let fd = socket(AF_INET, type, 0)
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        _ = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        if type == Int32(SOCK_STREAM.rawValue) { listen(fd, 4) }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        return (fd, Int(UInt16(bigEndian: addr.sin_port)))
    }

    static func config(servicePort: Int, adminPort: Int) throws -> TallyConfig {
        try TallyConfig.parse(
            yaml: """
                services:
                  risk_manager: {port: \(servicePort)}
                admin: {address: 127.0.0.1, port: \(adminPort)}
                """, source: "t.yaml")
    }

    @Test func explicitNamesAreCheckedAgainstTheKind() throws {
        let udp = Self.loopbackSocket(Int32(SOCK_DGRAM.rawValue))
        let tcp = Self.loopbackSocket(Int32(SOCK_STREAM.rawValue))
        defer {
            close(udp.fd)
            close(tcp.fd)
        }
        let config = try Self.config(servicePort: 1, adminPort: 2)
        let sorted = try SocketActivation(
            passed: [.init(fd: udp.fd, name: "ingest-udp"), .init(fd: tcp.fd, name: "risk_manager")], config: config)
        #expect(sorted.udp == [.init(fd: udp.fd, port: udp.port)])
        #expect(sorted.services["risk_manager"] == .init(fd: tcp.fd, port: tcp.port))

        #expect(throws: StartupError.self) {
            try SocketActivation(passed: [.init(fd: udp.fd, name: "risk_manager")], config: config)
        }
        #expect(throws: StartupError.self) {
            try SocketActivation(passed: [.init(fd: tcp.fd, name: "ingest-udp")], config: config)
        }
        #expect(throws: StartupError.self) {
            try SocketActivation(passed: [.init(fd: tcp.fd, name: "nobody")], config: config)
        }
        do {
            _ = try SocketActivation(passed: [.init(fd: udp.fd, name: "admin")], config: config)
            Issue.record("a UDP socket named admin was accepted")
        } catch let error as StartupError {
            #expect(error.description.contains("is an IPv4 datagram socket"))
            #expect(error.description.contains("needs a listening TCP socket"))
        }
    }

    @Test func theNameTallyIsSortedByKindAndPort() throws {
        let udp = Self.loopbackSocket(Int32(SOCK_DGRAM.rawValue))
        let service = Self.loopbackSocket(Int32(SOCK_STREAM.rawValue))
        let admin = Self.loopbackSocket(Int32(SOCK_STREAM.rawValue))
        let stray = Self.loopbackSocket(Int32(SOCK_STREAM.rawValue))
        defer { for fd in [udp.fd, service.fd, admin.fd, stray.fd] { close(fd) } }
        let config = try Self.config(servicePort: service.port, adminPort: admin.port)
        let sorted = try SocketActivation(
            passed: [
                .init(fd: udp.fd, name: "tally"), .init(fd: service.fd, name: "tally"),
                .init(fd: admin.fd, name: "tally"),
            ], config: config)
        #expect(sorted.udp.map(\.fd) == [udp.fd])
        #expect(sorted.services["risk_manager"]?.fd == service.fd)
        #expect(sorted.admin?.fd == admin.fd)
        #expect(throws: StartupError.self) {
            try SocketActivation(passed: [.init(fd: stray.fd, name: "tally")], config: config)
        }
    }

    @Test func noPassedSocketsIsEmpty() throws {
        #expect(try SocketActivation(passed: [], config: TallyConfig.embeddedDefault()).isEmpty)
    }
}
