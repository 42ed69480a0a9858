import Testing

@testable import TallyServer

#if canImport(Glibc)
    import Glibc
#endif

@Suite struct UDPDropsTests {
    @Test func parsesPortAndDropsColumns() {
        let text = """
              sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops
             1: 0100007F:1FBD 00000000:0000 07 00000000 00000000 00:00000000 00000000     0        0 57213 2 0000000000000000 17
             2: 0100007F:1FBD 00000000:0000 07 00000000 00000000 00:00000000 00000000     0        0 57214 2 0000000000000000 3
             3: 00000000:0044 00000000:0000 07 00000000 00000000 00:00000000 00000000     0        0 1234 2 0000000000000000 0
            """
        let rows = UDPDrops.parse(text)
        #expect(rows.map(\.port) == [8125, 8125, 68])
        #expect(rows.map(\.drops) == [17, 3, 0])
    }
}
