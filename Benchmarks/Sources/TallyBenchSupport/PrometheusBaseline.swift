import Prometheus

/// The same work done with swift-server/swift-prometheus 2.x, the in-language baseline:
/// every line's (name, labels) is handed over already parsed, which favours the baseline.
public final class PrometheusBaseline {
    public let registry = PrometheusCollectorRegistry()

    public init() {}

    /// Counter series `SYM<i>` of orders_placed_total, incremented once per entry of `series`.
    public func fold(series: [Int]) {
        for s in series {
            registry.makeCounter(name: "orders_placed_total",
                                 labels: [("order_type", "limit"), ("symbol", "SYM\(s)"), ("side", "buy")]).increment()
        }
    }

    public func render() -> [UInt8] {
        var buffer: [UInt8] = []
        registry.emit(into: &buffer)
        return buffer
    }
}
