import Testing

@testable import TallyCore

/// Sets, expiry, drop_labels and duplicate tags: what `limits` does to series over time.
@Suite struct SetTests {
    @Test func aSetCountsDistinctMembers() {
        let h = Harness()
        h.send("risk_manager.visitors:alice|s\nrisk_manager.visitors:bob|s\nrisk_manager.visitors:alice|s")
        h.send("risk_manager.visitors:carol:dave:bob|s")
        #expect(h.reasons == [])
        #expect(h.render("risk_manager").contains("# TYPE visitors gauge"))
        #expect(h.value("risk_manager", "visitors") == 4)
    }

    @Test func aDocumentedGaugeTakesSetsToo() {
        let h = Harness()
        h.send("db_connections_total:c1|s|#service:order_executor\ndb_connections_total:c2|s|#service:order_executor")
        #expect(h.value("order_executor", "db_connections_total{service_name=\"order_executor\"}") == 2)
    }

    @Test func membersLeaveTheWindow() {
        let h = Harness(limits: Limits(setWindow: 60))
        h.send("risk_manager.visitors:alice|s", now: 1000)
        h.send("risk_manager.visitors:bob|s", now: 1030)
        h.registry.sweep(now: 1050)
        #expect(h.value("risk_manager", "visitors") == 2)
        h.registry.sweep(now: 1070)  // alice last seen 70 s ago
        #expect(h.value("risk_manager", "visitors") == 1)
        h.send("risk_manager.visitors:alice|s", now: 1071)
        #expect(h.value("risk_manager", "visitors") == 2)
        h.registry.sweep(now: 1200)
        #expect(h.value("risk_manager", "visitors") == 0)
    }

    @Test func aFullSetRefusesNewMembersAndKeepsCounting() {
        let h = Harness(limits: Limits(setMaxValues: 3))
        h.send("risk_manager.visitors:a:b:c|s")
        h.send("risk_manager.visitors:d|s\nrisk_manager.visitors:a|s")
        #expect(h.reasons == [.setOverflow])
        #expect(h.stats.rejected(.setOverflow) == 1)
        #expect(h.value("risk_manager", "visitors") == 3)
        #expect(h.rejections.withLock { $0[0].detail.contains("set_max_values") })
    }
}

@Suite struct ExpiryTests {
    @Test func seriesExpireAfterTheirTTLAndFreeTheirPlace() {
        let h = Harness(limits: Limits(families: ["position_pnl_usd": 1], ttl: 10))
        h.send("position_pnl_usd:5|g|#service:risk_manager,position_id:p1,symbol:X", now: 1000)
        h.send("position_pnl_usd:5|g|#service:risk_manager,position_id:p2,symbol:X", now: 1000)
        #expect(h.reasons == [.cardinalityLimit])
        #expect(h.registry.sweep(now: 1009) == 0)
        #expect(h.value("risk_manager", "position_pnl_usd{position_id=\"p1\",symbol=\"X\"}") == 5)
        #expect(h.registry.sweep(now: 1011) == 1)
        #expect(h.value("risk_manager", "position_pnl_usd{position_id=\"p1\",symbol=\"X\"}") == nil)
        #expect(h.registry.expiredSeries == 1)
        // Its place under the family limit is free again.
        h.send("position_pnl_usd:7|g|#service:risk_manager,position_id:p2,symbol:X", now: 1012)
        #expect(h.reasons == [.cardinalityLimit])
        #expect(h.value("risk_manager", "position_pnl_usd{position_id=\"p2\",symbol=\"X\"}", now: 1012) == 7)
    }

    @Test func anUpdateKeepsASeriesAlive() {
        let h = Harness(limits: Limits(ttl: 10))
        h.send("risk_manager.jobs:1|c", now: 1000)
        h.send("risk_manager.jobs:1|c", now: 1008)
        h.registry.sweep(now: 1015)
        #expect(h.value("risk_manager", "jobs_total") == 2)
        h.registry.sweep(now: 1019)
        #expect(h.value("risk_manager", "jobs_total") == nil)
    }

    @Test func perFamilyTTLOverridesAndServiceGaugesNeverExpire() {
        let h = Harness(limits: Limits(ttl: 10, familyTTL: ["jobs_total": 0, "db_connections_total": 100]))
        h.send(
            "risk_manager.jobs:1|c\nrisk_manager.other:1|c\ndb_connections_total:3|g|#service:risk_manager", now: 1000)
        h.send("service_up:1|g|#service:risk_manager", now: 1000)
        h.registry.sweep(now: 1050)
        let text = h.render("risk_manager", now: 1050)
        #expect(text.contains("jobs_total 1"))
        #expect(!text.contains("other_total"))
        #expect(text.contains("db_connections_total{service_name=\"risk_manager\"} 3"))
        #expect(Limits(ttl: 1).ttl(family: "service_info") == 0)
        #expect(Limits(ttl: 1).ttl(family: "service_up") == 0)
    }

    @Test func noTTLMeansNothingExpires() {
        let h = Harness()
        h.send("risk_manager.jobs:1|c", now: 1000)
        #expect(h.registry.sweep(now: 1_000_000) == 0)
        #expect(h.value("risk_manager", "jobs_total") == 1)
    }
}

@Suite struct DropLabelsTests {
    @Test func aDocumentedLabelIsAggregatedAway() {
        let h = Harness(limits: Limits(dropLabels: ["position_pnl_usd": ["position_id"]]))
        h.send("position_pnl_usd:5|g|#service:risk_manager,position_id:p1,symbol:X")
        h.send("position_pnl_usd:+2|g|#service:risk_manager,position_id:p2,symbol:X")
        #expect(h.reasons == [])
        #expect(h.registry.seriesCounts()[1] == 1)
        #expect(h.value("risk_manager", "position_pnl_usd{symbol=\"X\"}") == 7)
        #expect(h.stats.droppedTags.isEmpty)  // dropped on purpose, not noise
    }

    @Test func anUndocumentedFamilyDropsTagsToo() {
        let h = Harness(limits: Limits(dropLabels: ["jobs_total": ["request_id"]]))
        h.send("risk_manager.jobs:1|c|#request_id:r1,queue:a\nrisk_manager.jobs:1|c|#request_id:r2,queue:a")
        h.send("risk_manager.jobs:1|c|#request.id:r3,queue:a")  // the sanitized name is what is dropped
        #expect(h.value("risk_manager", "jobs_total{queue=\"a\"}") == 3)
    }

    @Test func dropLabelsAreCheckedAgainstTheCatalogue() {
        #expect(FamilyTable.problem(dropLabels: ["position_pnl_usd": ["position_id"]], catalogue: testCatalogue) == nil)
        #expect(
            FamilyTable.problem(dropLabels: ["position_pnl_usd": ["side"]], catalogue: testCatalogue)?.contains(
                "'side' is not a label of position_pnl_usd") == true)
        #expect(
            FamilyTable.problem(dropLabels: ["db_connections_total": ["service_name"]], catalogue: testCatalogue)?
                .contains("service_name cannot be dropped") == true)
        #expect(FamilyTable.problem(dropLabels: ["some_undocumented": ["x"]], catalogue: testCatalogue) == nil)
    }

    @Test func duplicateTagsCountAndTheLastWins() {
        let h = Harness()
        h.send("http_requests_total:1|c|#service:risk_manager,method:GET,method:POST,path:/x,status:200")
        h.send("risk_manager.jobs:1|c|#queue:a,queue:b")
        #expect(h.stats.duplicateTags == 2)
        #expect(h.value("risk_manager", "http_requests_total{method=\"POST\",path=\"/x\",status=\"200\"}") == 1)
        #expect(h.value("risk_manager", "jobs_total{queue=\"b\"}") == 1)
    }
}

@Suite struct CatalogueSwapTests {
    static let swapped = try! Catalogue(families: [
        FamilyDescriptor(
            name: "http_requests_total", type: .counter, help: "Requests (new help).",
            labels: ["method", "path", "status"]),
        FamilyDescriptor(name: "service_up", type: .gauge, help: "Up.", labels: ["service_name"]),
        FamilyDescriptor(name: "position_pnl_usd", type: .gauge, help: "PnL.", labels: ["symbol", "side"]),
        FamilyDescriptor(name: "orders_total", type: .counter, help: "Orders.", labels: ["service_name"]),
    ])

    @Test func unchangedFamiliesKeepTheirSeriesChangedOnesStartOver() {
        let h = Harness()
        h.send("http_requests_total:3|c|#service:risk_manager,method:GET,path:/x,status:200")
        h.send("position_pnl_usd:5|g|#service:risk_manager,position_id:p1,symbol:X")
        h.send("db_connections_total:4|g|#service:risk_manager")
        h.send("risk_manager.jobs:1|c")
        let before = h.registry.families.generation
        let removed = h.registry.replaceCatalogue(Self.swapped, dropLabels: [:], defaultBuckets: [1])
        #expect(removed == 2)  // position_pnl_usd (labels changed), db_connections_total (left the catalogue)
        #expect(h.registry.families.generation == before + 1)
        let text = h.render("risk_manager")
        #expect(text.contains("# HELP http_requests_total Requests (new help)."))
        #expect(text.contains("status=\"200\"} 3"))
        #expect(!text.contains("position_pnl_usd"))
        #expect(!text.contains("db_connections_total"))
        #expect(text.contains("jobs_total 1"))  // undocumented families stay
        // The running ingestor picks the new catalogue up on its next packet.
        h.send("http_requests_total:1|c|#service:risk_manager,method:GET,path:/x,status:200")
        h.send("position_pnl_usd:9|g|#service:risk_manager,symbol:X,side:long")
        h.send("orders_total:2|c|#service:risk_manager")
        #expect(h.reasons == [])
        #expect(h.value("risk_manager", "http_requests_total{method=\"GET\",path=\"/x\",status=\"200\"}") == 4)
        #expect(h.render("risk_manager").contains("position_pnl_usd{symbol=\"X\",side=\"long\"} 9"))
        #expect(h.render("risk_manager").contains("orders_total{service_name=\"risk_manager\"} 2"))
        #expect(h.registry.families.documentedCount == 4)
    }

    @Test func aLineResolvedBeforeTheSwapIsResolvedAgain() {
        let h = Harness()
        h.send("position_pnl_usd:5|g|#service:risk_manager,position_id:p1,symbol:X")
        let old = h.registry.families.generation
        h.registry.replaceCatalogue(Self.swapped, dropLabels: [:], defaultBuckets: [1])
        var key: [UInt8] = [0, 0, 0, 0] + Array("p1\0X\0".utf8)
        let refusal = key.withUnsafeMutableBytes { k in
            [SampleUpdate.set(1)].withUnsafeBufferPointer { u in
                h.registry.apply(
                    service: 1, family: 0, key: UnsafeRawBufferPointer(k),
                    hash: ByteHash.hash(UnsafeRawBufferPointer(k)),
                    width: 1, generation: old, stamp: 0, u)
            }
        }
        #expect(refusal == .stale)
        #expect(h.registry.seriesCounts()[1] == 0)
    }

    @Test func freedPlacesCountForTheLimits() {
        let h = Harness(limits: Limits(maxSeriesPerService: 2))
        h.send("position_pnl_usd:5|g|#service:risk_manager,position_id:p1,symbol:X")
        h.send("position_pnl_usd:5|g|#service:risk_manager,position_id:p2,symbol:X")
        h.registry.replaceCatalogue(Self.swapped, dropLabels: [:], defaultBuckets: [1])
        h.send(
            "position_pnl_usd:1|g|#service:risk_manager,symbol:X,side:long\nposition_pnl_usd:1|g|#service:risk_manager,symbol:X,side:short"
        )
        #expect(h.reasons == [])
    }
}

/// The edge cases the dialect issue lists, each through the whole ingest path.
@Suite struct EdgeCaseTests {
    @Test func emptyLinesAndBlanksAreNotLines() {
        let h = Harness()
        h.send("\n\n  \n\r\n\t\n")
        #expect(h.stats.lines == 0 && h.stats.rejectedTotal == 0)
        h.send("  risk_manager.x:1|c \r\n\trisk_manager.x:2|c\t\n")
        #expect(h.reasons == [])
        #expect(h.value("risk_manager", "x_total") == 3)
    }

    @Test(arguments: [
        ("risk_manager.x:+3|c", 3.0), ("risk_manager.x:1e3|c", 1000), ("risk_manager.x:.5|c", 0.5),
        ("risk_manager.x:2.5E-1|c", 0.25), ("risk_manager.x:0000.5|c", 0.5),
    ])
    func numbersCountersAccept(_ line: String, _ expected: Double) {
        let h = Harness()
        h.send(line)
        #expect(h.reasons == [])
        #expect(h.value("risk_manager", "x_total") == expected)
    }

    @Test(arguments: [
        ("risk_manager.x:-3|c", RejectReason.invalidValue), ("risk_manager.x:0x1F|c", .invalidValue),
        ("risk_manager.x:1" + String(repeating: "0", count: 400) + "|g", .invalidValue),
        ("risk_manager.x:Infinity|g", .invalidValue), ("risk_manager.x:1|c|@0", .invalidSampleRate),
        ("risk_manager.x:1|c|@2", .invalidSampleRate),
        ("risk_manager." + String(repeating: "n", count: 201) + ":1|c", .nameTooLong),
        ("risk_manager.x:1|c|#k:v\u{0}", .invalidUTF8),
    ])
    func edgeCasesAreRefused(_ line: String, _ reason: RejectReason) {
        let h = Harness()
        h.send(line)
        #expect(h.reasons == [reason])
        #expect(h.registry.seriesCounts().reduce(0, +) == 0)
    }

    @Test func aNameOf200BytesIsFine() {
        let h = Harness()
        let name = String(repeating: "n", count: 200 - "risk_manager.".count)
        h.send("risk_manager.\(name):1|g")
        #expect(h.reasons == [])
        #expect(h.value("risk_manager", name) == 1)
    }

    @Test func tagValuesMayHoldEqualsAndColons() {
        let h = Harness()
        h.send("risk_manager.x:1|c|#url:http://a/b?c=d:e,k:v=w")
        #expect(h.reasons == [])
        #expect(h.value("risk_manager", "x_total{k=\"v=w\",url=\"http://a/b?c=d:e\"}") == 1)
    }

    @Test func unicodeLabelValuesAreAcceptedAndEscaped() {
        let h = Harness()
        h.send("risk_manager.x:1|c|#who:ünï \"q\" \\ ✓")
        #expect(h.reasons == [])
        #expect(h.value("risk_manager", "x_total{who=\"ünï \\\"q\\\" \\\\ ✓\"}") == 1)
    }

    @Test func invalidUTF8IsRefusedPerLine() {
        let h = Harness()
        h.sendBytes(Array("risk_manager.x:1|c|#k:".utf8) + [0xC3, 0x28] + Array("\nrisk_manager.y:1|c".utf8))
        #expect(h.reasons == [.invalidUTF8])
        #expect(h.value("risk_manager", "y_total") == 1)
    }
}

/// The swap under load: loops keep folding while the catalogue flips back and forth.
@Suite struct CatalogueSwapConcurrencyTests {
    @Test func swapsWhileFoldingLoseNoLineOfAnUnchangedFamily() async {
        let h = Harness()
        let registry = h.registry
        let perLoop = 20_000
        let loops = 3
        let flipped = CatalogueSwapTests.swapped
        let original = testCatalogue
        await withTaskGroup(of: Void.self) { group in
            for loop in 0..<loops {
                group.addTask {
                    let ingestor = Ingestor(
                        registry: registry, transport: "t\(loop)", limiter: RejectLogLimiter(interval: 1e9)
                    ) { _ in }
                    var line =
                        "http_requests_total:1|c|#service:risk_manager,method:GET,path:/x,status:200\nposition_pnl_usd:1|g|#service:risk_manager,position_id:p\(loop),symbol:X,side:long\n"
                    for _ in 0..<perLoop {
                        line.withUTF8 { ingestor.ingest(packet: UnsafeRawBufferPointer($0), now: 1000) }
                    }
                }
            }
            group.addTask {
                for i in 0..<200 {
                    registry.replaceCatalogue(i % 2 == 0 ? flipped : original, dropLabels: [:], defaultBuckets: [1])
                    for s in 0..<testServices.count { _ = ExpositionRenderer.render(registry, service: s, now: 1000) }
                }
            }
        }
        #expect(
            h.value("risk_manager", "http_requests_total{method=\"GET\",path=\"/x\",status=\"200\"}")
                == Double(loops * perLoop))
        // Whatever layout position_pnl_usd has now, its series carry that layout's labels.
        let text = h.render("risk_manager")
        for line in text.split(separator: "\n") where line.hasPrefix("position_pnl_usd{") {
            #expect(
                line.hasPrefix("position_pnl_usd{symbol=\"X\",side=\"long\"}")
                    || line.hasPrefix("position_pnl_usd{position_id=\"p"), "\(line)")
        }
    }
}

extension CatalogueSwapTests {
    @Test(arguments: [
        ["risk_manager.jobs:1|c", "risk_manager.jobs:1|g"],
        ["risk_manager.fetch:5|ms", "risk_manager.fetch:1|g"],
        ["risk_manager.done_total:1|c", "risk_manager.done:1|g"],
        ["risk_manager.a.b:1|c", "risk_manager.a.b:1|g"],
    ])
    func undocumentedNamesResolveAfterASwapAsBefore(_ lines: [String]) {
        // The same two lines, with and without a catalogue swap between them.
        let before = Harness()
        before.send(lines[0])
        before.send(lines[1])
        let after = Harness()
        after.send(lines[0])
        after.registry.replaceCatalogue(testCatalogue, dropLabels: [:], defaultBuckets: [0.1, 1, 10])
        after.send(lines[1])
        #expect(after.reasons == before.reasons)
        #expect(after.registry.families.undocumentedCount == before.registry.families.undocumentedCount)
    }
}

extension ExpiryTests {
    @Test func theShortestTTLDecidesHowOftenExpiryScans() {
        #expect(Limits().shortestTTL == nil)
        #expect(Limits(ttl: 0, familyTTL: ["a": 0]).shortestTTL == nil)
        #expect(Limits(ttl: 900, familyTTL: ["a": 60, "b": 0]).shortestTTL == 60)
    }
}
