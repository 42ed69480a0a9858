import TallySystem

/// The admin endpoint's `/`: one self-contained page built from a `StatusReport` (no external
/// assets, no script; a `<meta>` refresh every 5 s). Every text that came from a sender (lines,
/// names, details) is HTML-escaped: refused lines are attacker-controlled bytes.
enum StatusPage {
    static func render(_ r: StatusReport) -> [UInt8] {
        var h = ""
        h += """
            <!doctype html><html lang="en"><head><meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <meta http-equiv="refresh" content="5"><title>tallyd \(esc(r.version))</title>
            <style>\(css)</style></head><body>
            <header><h1>tallyd</h1><span class="\(r.ready ? "ok" : "bad")">\(r.ready ? "ready" : "not ready")</span>
            <span>v\(esc(r.version))</span><span>up \(duration(r.uptimeSeconds))</span>
            <span>\(number(r.linesPerSecond)) lines/s</span><span>\(number(r.rejectsPerSecond)) rejects/s</span>
            <span class="dim">rates over the last \(duration(r.rateWindowSeconds)); refreshes every 5 s</span></header>
            <main>
            """
        // Services.
        h += "<section><h2>Services</h2><div class=\"scroll\"><table id=\"services\"><thead><tr><th>service</th>"
        h += "<th>state</th><th>last line</th><th>lines/s</th><th>rejects/s</th><th>series</th><th>of limit</th>"
        h += "<th>top families by series</th><th>busiest families (lines/s)</th></tr></thead><tbody>"
        for s in r.services {
            let state = s.up ? "up" : "down"
            h += "<tr data-service=\"\(esc(s.name))\" data-state=\"\(state)\">"
            h += "<td class=\"name\">\(esc(s.name))"
            if let endpoint = s.endpoint { h += "<div class=\"dim\">\(esc(endpoint))</div>" }
            h += "</td><td><span class=\"\(s.up ? "ok" : "bad")\">\(state)</span></td>"
            h += "<td>\(s.lastLineAgeSeconds.map { duration($0) + " ago" } ?? "never")</td>"
            h += "<td class=\"num\">\(number(s.linesPerSecond))</td>"
            h += "<td class=\"num\(s.rejectsPerSecond > 0 ? " warn" : "")\">\(number(s.rejectsPerSecond))</td>"
            h += "<td class=\"num\">\(s.series)</td>"
            let share = min(max(s.seriesShare, 0), 1)
            h += "<td><div class=\"bar\"><i style=\"width:\(Int(share * 100))%\"></i></div>"
            h += "<span class=\"dim\">\(percent(s.seriesShare)) of \(s.seriesLimit)</span></td><td>"
            h += s.topFamiliesBySeries.map { "\(esc($0.family)) <span class=\"dim\">\($0.series ?? 0)</span>" }
                .joined(separator: "<br>")
            h += "</td><td>"
            h += s.topFamiliesByRate.map {
                "\(esc($0.family)) <span class=\"dim\">\(number($0.linesPerSecond ?? 0))</span>"
            }.joined(separator: "<br>")
            h += "</td></tr>"
        }
        h += "</tbody></table></div></section>"
        // Families by rate, every service together.
        h +=
            "<section><h2>Busiest families, all services</h2><table id=\"families\"><thead><tr>"
            + "<th>family</th><th>lines/s</th>"
        h += "</tr></thead><tbody>"
        if r.topFamiliesByRate.isEmpty { h += "<tr><td colspan=\"2\" class=\"dim\">no lines in the window</td></tr>" }
        for f in r.topFamiliesByRate {
            h += "<tr><td>\(esc(f.family))</td><td class=\"num\">\(number(f.linesPerSecond ?? 0))</td></tr>"
        }
        h += "</tbody></table></section>"
        // Refusals.
        h += "<section><h2>Refused lines</h2><div class=\"scroll\"><table id=\"refusals\"><thead><tr><th>reason</th>"
        h += "<th>last 5 min</th><th>total</th><th>recent example</th></tr></thead><tbody>"
        if r.refusals.isEmpty { h += "<tr><td colspan=\"4\" class=\"dim\">none</td></tr>" }
        for f in r.refusals {
            h += "<tr data-reason=\"\(esc(f.reason))\"><td>\(esc(f.reason))</td>"
            h += "<td class=\"num\(f.lastFiveMinutes > 0 ? " warn" : "")\">\(f.lastFiveMinutes)</td>"
            h += "<td class=\"num\">\(f.total)</td><td>"
            if let example = f.example { h += "<code class=\"example\">\(esc(example))</code>" }
            if let detail = f.detail { h += "<div class=\"dim\">\(esc(detail))</div>" }
            h += "</td></tr>"
        }
        h += "</tbody></table></div></section>"
        // Listeners, drops, reload, state.
        h += "<section class=\"grid\"><div><h2>Listeners</h2><table id=\"listeners\"><tbody>"
        for l in r.listeners {
            h +=
                "<tr><td>\(esc(l.listener))</td><td>\(esc(l.protocol))</td><td><code>\(esc(l.address))</code></td></tr>"
        }
        h += "</tbody></table><h2>Kernel drops</h2><table id=\"drops\"><tbody>"
        if r.kernelDrops.isEmpty { h += "<tr><td class=\"dim\">no UDP listener</td></tr>" }
        for d in r.kernelDrops {
            h += "<tr><td>UDP port \(d.port)</td><td class=\"num\(d.drops > 0 ? " bad" : "")\">\(d.drops)</td></tr>"
        }
        h += "</tbody></table></div><div><h2>Config</h2><dl id=\"config\">"
        h += "<dt>file</dt><dd>\(esc(r.reload.configPath ?? "embedded default"))</dd>"
        h += "<dt>last reload</dt>"
        if let attempt = r.reload.lastAttemptTime {
            h += "<dd class=\"\(r.reload.lastSuccessful ? "ok" : "bad")\">\(ago(r.now - attempt)) · "
            h += "\(r.reload.lastSuccessful ? "applied" : "failed"): \(esc(r.reload.message))</dd>"
        } else {
            h += "<dd class=\"dim\">none since start</dd>"
        }
        h += "<dt>reloads</dt><dd>\(r.reload.successes) applied, \(r.reload.failures) failed</dd></dl>"
        h += "<h2>Saved state</h2><dl id=\"state\">"
        if let s = r.state {
            h += "<dt>file</dt><dd>\(esc(s.path))</dd><dt>last save</dt>"
            h += "<dd class=\"\(s.failures > 0 ? "bad" : "")\">\(s.ageSeconds.map { ago($0) } ?? "not yet")"
            h += " · \(s.saves) saves, \(s.failures) failed</dd>"
            if let restored = s.restoredSeries { h += "<dt>restored</dt><dd>\(restored) series at start</dd>" }
        } else {
            h += "<dt>off</dt><dd class=\"dim\">no state_file</dd>"
        }
        h += "</dl>"
        if let endpoints = r.remoteWrite, !endpoints.isEmpty {
            h += "<h2>Remote write</h2><table id=\"remote-write\"><tbody>"
            for e in endpoints {
                h += "<tr data-url=\"\(esc(e.url))\"><td><code>\(esc(e.url))</code></td>"
                h += "<td><span class=\"\(e.healthy ? "ok" : "bad")\">\(e.healthy ? "delivering" : "failing")</span>"
                h += " · last success \(e.lastSuccessTime.map { ago(r.now - $0) } ?? "never") · "
                h += "\(e.queueIntervals) queued, \(e.droppedSamples) dropped"
                if let error = e.lastError { h += "<div class=\"dim\">\(esc(error))</div>" }
                h += "</td></tr>"
            }
            h += "</tbody></table>"
        }
        h += "</div></section></main>"
        h += "<footer class=\"dim\">JSON: <a href=\"/api/v1/status\">/api/v1/status</a> · "
        h += "<a href=\"/metrics\">/metrics</a> · tally status</footer></body></html>\n"
        return Array(h.utf8)
    }

    static let css = """
        :root{color-scheme:light dark;--ok:#1a7f37;--bad:#cf222e;--warn:#9a6700;--dim:#6e7781;--line:#d0d7de}
        body{font:15px/1.4 system-ui,sans-serif;margin:0;padding:12px;max-width:1200px;margin:auto}
        header{display:flex;flex-wrap:wrap;gap:6px 14px;align-items:baseline;border-bottom:1px solid var(--line)}
        h1{font-size:22px;margin:4px 0}h2{font-size:16px;margin:18px 0 6px}
        table{border-collapse:collapse;width:100%}td,th{padding:4px 8px;border-bottom:1px solid var(--line);
        text-align:left;vertical-align:top}th{font-weight:600;font-size:13px;color:var(--dim)}
        .num{text-align:right;font-variant-numeric:tabular-nums}.ok{color:var(--ok);font-weight:600}
        .bad{color:var(--bad);font-weight:600}.warn{color:var(--warn);font-weight:600}
        .dim{color:var(--dim);font-size:13px}
        .name{font-weight:600}.scroll{overflow-x:auto}code{font-size:13px;word-break:break-all}
        .bar{width:90px;height:8px;background:var(--line);border-radius:4px}.bar i{display:block;height:8px;
        background:var(--ok);border-radius:4px}
        .grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(300px,1fr));
        gap:0 24px}dl{display:grid;grid-template-columns:max-content 1fr;gap:2px 12px;margin:0}dt{color:var(--dim)}
        dd{margin:0}footer{margin-top:20px}
        """

    /// HTML text and attribute escaping.
    static func esc(_ s: String) -> String {
        var out = ""
        out.reserveCapacity(s.utf8.count)
        for c in s.unicodeScalars {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.unicodeScalars.append(c)
            }
        }
        return out
    }

    static func number(_ v: Double) -> String {
        if v >= 100 { return String(Int(v.rounded())) }
        let tenths = (v * 10).rounded() / 10
        return tenths == tenths.rounded() ? String(Int(tenths)) : String(tenths)
    }

    static func percent(_ v: Double) -> String { "\(number(v * 100))%" }

    static func duration(_ s: Double) -> String {
        if s < 90 { return "\(Int(s.rounded()))s" }
        if s < 5400 { return "\(Int((s / 60).rounded()))m" }
        if s < 172_800 { return "\(Int((s / 3600).rounded()))h" }
        return "\(Int((s / 86400).rounded()))d"
    }

    static func ago(_ s: Double) -> String { duration(max(s, 0)) + " ago" }
}
