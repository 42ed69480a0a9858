import Testing

@testable import TallyServer

#if canImport(Glibc)
    import Glibc
#endif

@Suite struct ReceiveBufferConfigTests {
    @Test(arguments: [("8388608", 8 << 20), ("512KiB", 512 << 10), ("8MiB", 8 << 20), ("1G", 1 << 30)])
    func sizesParse(_ text: String, _ bytes: Int) throws {
        let c = try TallyConfig.parse(yaml: "ingest:\n  udp_receive_buffer: \(text)\n", source: "t.yaml")
        #expect(c.udpReceiveBuffer == bytes)
    }

    @Test func badSizeNamesTheKey() {
        do {
            _ = try TallyConfig.parse(yaml: "ingest:\n  udp_receive_buffer: lots\n", source: "t.yaml")
            Issue.record("accepted 'lots'")
        } catch {
            #expect("\(error)".contains("ingest.udp_receive_buffer"))
        }
    }
}
