import Testing

@testable import TallyServer

/// The startup warning for a small `net.unix.max_dgram_qlen` (Unix senders then block after
/// that many queued datagrams and get through one per wakeup).
@Suite struct UnixQueueAdviceTests {
    @Test func aQueueBelow512IsReportedWithTheValueAndTheFix() throws {
        let advice = try #require(IngestListeners.unixQueueAdvice(queueLength: 10))
        #expect(advice.contains("net.unix.max_dgram_qlen is 10"))
        #expect(advice.contains("sysctl -w net.unix.max_dgram_qlen=512"))
    }

    @Test func systemdsValueOrMoreOrAnUnknownValueSaysNothing() {
        #expect(IngestListeners.unixQueueAdvice(queueLength: 512) == nil)
        #expect(IngestListeners.unixQueueAdvice(queueLength: 4096) == nil)
        #expect(IngestListeners.unixQueueAdvice(queueLength: nil) == nil)
    }

    @Test func theKernelsValueIsReadFromProc() throws {
        // Every Linux kernel with Unix sockets has the file; its value is whatever this host set.
        let length = try #require(IngestListeners.unixQueueLength())
        #expect(length > 0)
        #expect(IngestListeners.unixQueueLength("/nonexistent/max_dgram_qlen") == nil)
    }
}
