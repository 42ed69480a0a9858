import Testing

@testable import TallyCore

@Suite struct IngestorTests {
    let req = #"http_requests_total{method="GET",path="/x",status="200"}"#

    @Test func countersAddAndHonourSampleRate() {
        let h = Harness()
        h.send("http_requests_total:1|c|#service:strategy_service,method:GET,path:/x,status:200")
        h.send("http_requests_total:2|c|@0.5|#service:strategy_service,method:GET,path:/x,status:200")
        #expect(h.value("strategy_service", req) == 5)
        #expect(h.stats.accepted == 2)
    }

    @Test func counterMayBeNamedWithoutTotal() {
        let h = Harness()
        h.send("http_requests:3|c|#service:strategy_service,method:GET,path:/x,status:200")
        #expect(h.value("strategy_service", req) == 3)
    }

    @Test func routingByTagPrefixAndDefault() {
        let h = Harness(defaultService: "risk_manager")
        h.send("http_requests_total:1|c|#service_name:strategy_service,method:GET,path:/x,status:200")
        h.send("order_executor.http_requests_total:1|c|#method:GET,path:/x,status:200")
        h.send("http_requests_total:1|c|#method:GET,path:/x,status:200")
        #expect(h.value("strategy_service", req) == 1)
        #expect(h.value("order_executor", req) == 1)
        #expect(h.value("risk_manager", req) == 1)
        #expect(h.reasons.isEmpty)
    }

    /// Two identity tags that disagree are refused like a prefix and a tag that disagree; two
    /// that agree are one identity.
    @Test func disagreeingIdentityTagsAreAServiceMismatch() {
        let h = Harness()
        h.send(
            "http_requests_total:1|c|#service:risk_manager,service_name:strategy_service,method:GET,path:/x,status:200")
        #expect(h.reasons == [.serviceMismatch])
        #expect(h.value("strategy_service", req) == nil)
        #expect(h.value("risk_manager", req) == nil)
        h.send(
            "http_requests_total:1|c|#service:risk_manager,service_name:risk_manager,method:GET,path:/x,status:200")
        #expect(h.value("risk_manager", req) == 1)
        #expect(h.reasons == [.serviceMismatch])
    }

    /// Each way a line's service fails names what it is about. The fold keeps the problem as
    /// indices and writes the detail only when the line is refused: these are those details.
    @Test func serviceRefusalsNameTheServicesInvolved() {
        let h = Harness()
        h.send("http_requests_total:1|c|#service:nope,method:GET,path:/x,status:200")
        h.send(
            "http_requests_total:1|c|#service:risk_manager,service_name:strategy_service,method:GET,path:/x,status:200")
        h.send("order_executor.http_requests_total:1|c|#service:risk_manager,method:GET,path:/x,status:200")
        h.send("http_requests_total:1|c|#method:GET,path:/x,status:200")
        let bound = Harness(boundService: testServices.firstIndex(of: "risk_manager"))
        bound.send("http_requests_total:1|c|#service:order_executor,method:GET,path:/x,status:200")
        let got = (h.rejections.withLock { $0 } + bound.rejections.withLock { $0 }).map {
            "\($0.reason.rawValue): \($0.detail)"
        }
        #expect(
            got == [
                "unknown_service: service 'nope' is not configured",
                "service_mismatch: the identity tags disagree: 'risk_manager', then 'strategy_service' "
                    + "(service_name and service must name one service)",
                "service_mismatch: prefix names 'order_executor' but the tag names 'risk_manager'",
                "no_service: no service_name/service tag, no <service>. prefix and no default_service",
                "service_mismatch: this socket belongs to 'risk_manager', the line names 'order_executor'",
            ])
    }

    /// What is wrong with the line itself is named before a missing service, in the order
    /// syntax, value, family/type/unit, labels, service (README "Why a line is refused").
    static let orderWithoutService: [(String, RejectReason)] = [
        ("x:1|q", .unknownType),
        ("x:NaN|c", .invalidValue),
        ("x:-5|c", .invalidValue),
        ("http_requests_total:1|g|#method:GET,path:/x,status:200", .typeMismatch),
        ("http_request_size_bytes:12|ms|#method:GET,path:/x", .unitMismatch),
        ("http_requests_total:1|c|#method:GET,path:/x", .missingLabel),
        ("http_requests_total:1|c|#method:GET,path:/x,status:200", .noService),
        ("brand_new_family:1|c", .noService),
        ("http_requests_total:1|c|#service:nope,method:GET,path:/x,status:200", .unknownService),
        ("http_requests_total:1|c|#service:nope,method:GET,path:/x", .missingLabel),
    ]

    @Test(arguments: orderWithoutService)
    func theLineItselfIsNamedBeforeTheService(_ line: String, _ reason: RejectReason) {
        let h = Harness()
        h.send(line)
        #expect(h.reasons == [reason])
        #expect(h.registry.seriesCounts().reduce(0, +) == 0)
    }

    /// A line refused for its service creates no undocumented family (a flood of such lines
    /// cannot use up the 10,000 undocumented families).
    @Test func aLineWithoutServiceCreatesNoFamily() {
        let h = Harness()
        let before = h.registry.families.undocumentedCount
        h.send("brand_new_family:1|c")
        #expect(h.registry.families.undocumentedCount == before)
    }

    static let rejections: [(String, RejectReason)] = [
        ("http_requests_total:1|c|#method:GET,path:/x,status:200", .noService),
        ("http_requests_total:1|c|#service:nope,method:GET,path:/x,status:200", .unknownService),
        (
            "order_executor.http_requests_total:1|c|#service:risk_manager,method:GET,path:/x,status:200",
            .serviceMismatch
        ),
        ("http_requests_total:1|g|#service:risk_manager,method:GET,path:/x,status:200", .typeMismatch),
        ("http_request_duration_seconds:1|c|#service:risk_manager,method:GET,path:/x", .typeMismatch),
        ("http_request_size_bytes:5|ms|#service:risk_manager,method:GET,path:/x", .unitMismatch),
        ("http_requests_total:1|c|#service:risk_manager,method:GET,path:/x", .missingLabel),
        ("http_requests_total:1|c|#service:risk_manager,method:GET,path:/x,status:", .missingLabel),
        ("http_requests_total:-1|c|#service:risk_manager,method:GET,path:/x,status:200", .invalidValue),
        ("http_requests_total:NaN|c|#service:risk_manager,method:GET,path:/x,status:200", .invalidValue),
        ("db_connections_total:nan|g|#service:risk_manager", .invalidValue),
        ("db_connections_total:0x10|g|#service:risk_manager", .invalidValue),
        ("db_connections_total:1e999|g|#service:risk_manager", .invalidValue),
        ("risk_manager.foo:1|c|#bad-tag!:x", .invalidLabelName),
        ("risk_manager.foo:1|h|#le:1", .invalidLabelName),
        // Reserved in every family, not only where Prometheus puts them.
        ("risk_manager.y2:1|c|#le:1", .invalidLabelName),
        ("risk_manager.depth:1|g|#quantile:0.5", .invalidLabelName),
        ("http_requests_total:u1|s|#service:risk_manager,method:GET,path:/x,status:200", .typeMismatch),
        ("risk_manager.visitors:a::b|s", .invalidValue),
        ("risk_manager.:1|c", .invalidName),
    ]

    @Test(arguments: rejections)
    func rejectsWithReason(_ line: String, _ reason: RejectReason) {
        let h = Harness()
        h.send(line)
        #expect(h.reasons == [reason])
        #expect(h.stats.rejected(reason) == 1)
        #expect(h.stats.accepted == 0)
        #expect(h.registry.seriesCounts().reduce(0, +) == 0)
    }

    /// `|h`/`|d` observe in the family's own unit; a family a timer created is in seconds, so
    /// a later `|h` of the same name is in seconds too. The other order is a `unit_mismatch`,
    /// since `|ms` only goes into seconds families (README "Undocumented families").
    @Test func histogramsAfterATimerAreInSecondsAndTheOtherOrderIsAUnitMismatch() {
        let timerFirst = Harness()
        timerFirst.send("risk_manager.fetch:250|ms")
        timerFirst.send("risk_manager.fetch:2|h")
        #expect(timerFirst.reasons.isEmpty)
        #expect(timerFirst.value("risk_manager", "fetch_seconds_count") == 2)
        #expect(timerFirst.value("risk_manager", "fetch_seconds_sum") == 2.25)

        let histogramFirst = Harness()
        histogramFirst.send("risk_manager.fetch:2|h")
        histogramFirst.send("risk_manager.fetch:250|ms")
        #expect(histogramFirst.reasons == [.unitMismatch])
        #expect(histogramFirst.value("risk_manager", "fetch_count") == 1)
    }

    @Test func badLinesNeverAffectOtherLinesOfThePacket() {
        let h = Harness()
        let good = "http_requests_total:1|c|#service:strategy_service,method:GET,path:/x,status:200"
        h.send(
            [
                good, "garbage", "http_requests_total:-1|c|#service:strategy_service,method:GET,path:/x,status:200",
                good + "\r", "", "  " + good + "  ", "\u{1}\u{2}:|", good,
            ].joined(separator: "\n") + "\n")
        #expect(h.value("strategy_service", req) == 4)
        #expect(h.stats.lines == 7)
        #expect(h.stats.accepted == 4)
        #expect(h.stats.rejectedTotal == 3)
    }

    @Test func invalidUTF8AndNULAreRejectedPerLine() {
        let h = Harness()
        var packet = Array("db_connections_total:1|g|#service:risk_manager\n".utf8)
        packet +=
            Array("position_pnl_usd:1|g|#service:risk_manager,position_id:".utf8) + [0xFF, 0xFE]
            + Array(",symbol:X\n".utf8)
        packet +=
            Array("position_pnl_usd:1|g|#service:risk_manager,position_id:a".utf8) + [0x00] + Array(",symbol:X\n".utf8)
        h.sendBytes(packet)
        #expect(h.reasons == [.invalidUTF8, .invalidUTF8])
        #expect(h.value("risk_manager", #"db_connections_total{service_name="risk_manager"}"#) == 1)
    }

    @Test func gaugesSetAndAdjust() {
        let h = Harness()
        let s = #"db_connections_total{service_name="risk_manager"}"#
        h.send("db_connections_total:10|g|#service:risk_manager")
        h.send("db_connections_total:+5|g|#service:risk_manager")
        h.send("db_connections_total:-3|g|#service:risk_manager")
        #expect(h.value("risk_manager", s) == 12)
        h.send("db_connections_total:4|g|#service:risk_manager")
        #expect(h.value("risk_manager", s) == 4)
    }

    @Test func timersLandInSecondsWithSampleRateWeights() {
        let h = Harness()
        h.send("http_request_duration_seconds:7|ms|@0.5|#service:strategy_service,method:GET,path:/x")
        h.send("http_request_duration_seconds:0.2|h|#service:strategy_service,method:GET,path:/x")
        h.send("http_request_duration_seconds:50:2000|d|#service:strategy_service,method:GET,path:/x")
        let l = #"method="GET",path="/x""#
        #expect(h.value("strategy_service", "http_request_duration_seconds_bucket{\(l),le=\"0.005\"}") == 0)
        #expect(h.value("strategy_service", "http_request_duration_seconds_bucket{\(l),le=\"0.01\"}") == 2)
        #expect(h.value("strategy_service", "http_request_duration_seconds_bucket{\(l),le=\"1.0\"}") == 3)
        #expect(h.value("strategy_service", "http_request_duration_seconds_bucket{\(l),le=\"+Inf\"}") == 5)
        #expect(h.value("strategy_service", "http_request_duration_seconds_count{\(l)}") == 5)
        let sum = h.value("strategy_service", "http_request_duration_seconds_sum{\(l)}")!
        #expect(abs(sum - (0.014 + 0.2 + 2050)) < 1e-9)
    }

    @Test func summaryWithoutQuantiles() {
        let h = Harness()
        h.send("http_request_size_bytes:100|h|#service:strategy_service,method:POST,path:/s")
        h.send("http_request_size_bytes:300|d|@0.5|#service:strategy_service,method:POST,path:/s")
        #expect(h.value("strategy_service", #"http_request_size_bytes_sum{method="POST",path="/s"}"#) == 700)
        #expect(h.value("strategy_service", #"http_request_size_bytes_count{method="POST",path="/s"}"#) == 3)
        #expect(!h.render("strategy_service").contains("quantile"))
    }

    @Test func undocumentedTagsAreDroppedAndCountedPerFamilyAndTag() {
        let h = Harness()
        h.send("http_requests_total:1|c|#service:strategy_service,method:GET,path:/x,status:200,env:prod,host:a,flag")
        h.send("http_requests_total:1|c|#service:strategy_service,method:GET,path:/x,status:200,env:dev")
        #expect(h.value("strategy_service", req) == 2)
        let dropped = Dictionary(uniqueKeysWithValues: h.stats.droppedTags.map { ("\($0.family)/\($0.tag)", $0.count) })
        #expect(dropped == ["0/env": 2, "0/host": 1])
        #expect(h.stats.valuelessTags == 1)
        #expect(!h.render("strategy_service").contains("env="))
    }

    @Test func duplicateTagLastWins() {
        let h = Harness()
        h.send("http_requests_total:1|c|#service:strategy_service,method:GET,path:/x,status:500,status:200")
        #expect(h.value("strategy_service", req) == 1)
    }

    @Test func unknownFamiliesAreCreatedWithPrometheusNames() {
        let h = Harness()
        h.send("strategy_service.api.calls:2|c|#region:eu")
        h.send("api_calls_total:1|c|#service:strategy_service,region:eu")
        h.send("strategy_service.queue-depth:7|g")
        h.send("strategy_service.fetch:1500|ms")
        h.send("strategy_service.fetch_ms:250|ms")
        let text = h.render("strategy_service")
        #expect(h.value("strategy_service", #"api_calls_total{region="eu"}"#) == 3)
        #expect(h.value("strategy_service", "queue_depth") == 7)
        // `fetch` and `fetch_ms` are two spellings of one family in seconds.
        #expect(h.value("strategy_service", "fetch_seconds_sum") == 1.75)
        #expect(h.value("strategy_service", "fetch_seconds_count") == 2)
        #expect(text.contains("# TYPE fetch_seconds histogram"))
        #expect(text.contains("# TYPE api_calls_total counter"))
        #expect(h.reasons.isEmpty)
    }

    @Test func unknownFamilyKeepsItsFirstType() {
        let h = Harness()
        h.send("strategy_service.jobs:1|c")
        h.send("strategy_service.jobs:1|g")
        #expect(h.reasons == [.typeMismatch])
    }

    @Test func undocumentedNamesMayNotClashWithDocumentedSeries() {
        let h = Harness()
        h.send("strategy_service.http_request_duration_seconds_bucket:1|g")
        #expect(h.reasons == [.nameConflict])
    }

    @Test func rejectPolicyRefusesUnknownFamilies() {
        let h = Harness(policy: .reject)
        h.send("strategy_service.whatever:1|c")
        #expect(h.reasons == [.unknownFamily])
        #expect(h.registry.families.snapshot().count == testCatalogue.families.count)
    }

    @Test func rejectedLineCreatesNoFamily() {
        let h = Harness()
        h.send("strategy_service.x:NaN|c")
        #expect(h.registry.families.snapshot().count == testCatalogue.families.count)
    }

    @Test func undocumentedLabelsAreSortedSoTagOrderDoesNotSplitSeries() {
        let h = Harness()
        h.send("strategy_service.ev:1|c|#b:2,a:1")
        h.send("strategy_service.ev:1|c|#a:1,b:2")
        #expect(h.value("strategy_service", #"ev_total{a="1",b="2"}"#) == 2)
    }

    @Test func hostileLabelValuesAreEscaped() {
        let h = Harness()
        h.send(#"position_pnl_usd:1|g|#service:risk_manager,position_id:a"b\c,symbol:}{"#)
        let text = h.render("risk_manager")
        #expect(text.contains(#"position_pnl_usd{position_id="a\"b\\c",symbol="}{"} 1"#))
    }

    @Test func eachServiceSeesOnlyItsOwnSeries() {
        let h = Harness()
        h.send("http_requests_total:1|c|#service:strategy_service,method:GET,path:/x,status:200")
        #expect(!h.render("risk_manager").contains("http_requests_total"))
        #expect(h.render("strategy_service").contains("http_requests_total"))
    }

    @Test func rejectionsCarryTheLineAndDetail() {
        let h = Harness()
        h.send("http_requests_total:1|c|#service:risk_manager,method:GET")
        let r = h.rejections.withLock { $0 }
        #expect(r.count == 1)
        #expect(r[0].line == "http_requests_total:1|c|#service:risk_manager,method:GET")
        #expect(r[0].detail.contains("'path'"))
        #expect(r[0].message.contains("missing_label"))
    }

    @Test func rejectionLogIsRateLimitedPerReason() {
        let limiter = RejectLogLimiter(interval: 1)
        #expect(limiter.admit(.invalidValue, now: 10) == 0)
        #expect(limiter.admit(.invalidValue, now: 10.5) == nil)
        #expect(limiter.admit(.invalidValue, now: 10.6) == nil)
        #expect(limiter.admit(.malformedLine, now: 10.6) == 0)
        #expect(limiter.admit(.invalidValue, now: 11.1) == 2)
    }

    @Test func manySeriesAcrossShardsAllRender() {
        let h = Harness(shards: 8)
        for i in 0..<2_000 {
            h.send("position_pnl_usd:\(i)|g|#service:risk_manager,position_id:p\(i),symbol:S")
        }
        #expect(h.registry.seriesCounts()[1] == 2_000)
        let lines = h.render("risk_manager").split(separator: "\n").filter { $0.hasPrefix("position_pnl_usd{") }
        #expect(lines.count == 2_000)
        // Series come out sorted by label values (byte order), whatever shard holds them.
        let ids = lines.map { $0.split(separator: "\"")[1] }
        #expect(ids == ids.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) })
        #expect(ids.first == "p0" && ids[1] == "p1" && ids[2] == "p10")
        #expect(h.value("risk_manager", #"position_pnl_usd{position_id="p1234",symbol="S"}"#) == 1234)
    }
}

/// Lines by service and by (service, family), as the status page's rates read them.
@Suite struct LineCountTests {
    @Test func linesAreCountedByServiceAndFamily() {
        let h = Harness()
        for _ in 0..<3 { h.send("http_requests_total:1|c|#service:risk_manager,method:GET,path:/x,status:200") }
        h.send("http_requests_total:1|c|#service:order_executor,method:GET,path:/x,status:200")
        h.send("http_requests_total:1|g|#service:order_executor,method:GET,path:/x,status:200")  // refused, counted
        h.send("x:NaN|c")  // no identity
        let stats = h.stats
        let family = Array("http_requests_total".utf8).withUnsafeBytes {
            h.registry.families.resolve($0, kind: .counter)
        }
        guard case .found(let id) = family else {
            Issue.record("no family")
            return
        }
        #expect(stats.lines(family: id, service: 1) == 3)
        #expect(stats.lines(family: id, service: 2) == 2)
        #expect(stats.lines(family: id) == 5)
        #expect(stats.lines(service: 1) == 3)
        #expect(stats.lines(service: 2) == 2)
        #expect(stats.lines(service: nil) == 1)
    }
}
