import Testing

@testable import TallyServer

#if canImport(Glibc)
    import Glibc
#endif

@Suite struct HeartbeatsTests {
    @Test func partsSilentLongerThanMaxAgeAreStaleOldestFirst() {
        let l = Heartbeats()
        l.register("a", now: 100)
        l.register("b", now: 100)
        l.register("c", now: 100)
        l.beat("a", now: 105)
        #expect(
            l.stale(now: 105.5, maxAge: 1).map(\.part) == ["b", "c"]
                || l.stale(now: 105.5, maxAge: 1).map(\.part) == ["c", "b"])
        l.beat("b", now: 104)
        #expect(l.stale(now: 105.5, maxAge: 1).map(\.part) == ["c", "b"])
        l.beat("b", now: 105.2)
        l.beat("c", now: 105.2)
        #expect(l.stale(now: 105.5, maxAge: 1).isEmpty)
        l.unregister("c")
        #expect(l.stale(now: 200, maxAge: 1).map(\.part) == ["a", "b"])
    }
}
