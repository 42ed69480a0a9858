import ArgumentParser

/// `tally count NAME [VALUE]`: a counter.
struct Count: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Add to a counter (default 1).",
        usage: "tally count NAME [VALUE] [-t key=value]... [--service S] [options]",
        discussion: """
            tally count orders_placed_total --service order_executor \\
              -t order_type=limit -t symbol=BTCUSDT -t side=buy
            tally count order_executor.retries 3
            TALLY_SERVICE=api_gateway tally count jobs_done
            """)

    @Argument(help: "Family (or undocumented name), optionally <service>.NAME.") var name: String
    @Argument(help: "How much to add (a non-negative number).") var value: String = "1"
    @OptionGroup var options: MetricOptions

    func run() throws { try options.checkAndSend(try options.line(name, value, type: "c")) }
}

/// `tally gauge NAME VALUE`: set (or with +N/-N adjust) a gauge.
struct Gauge: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Set a gauge (+N or -N adjusts it).",
        usage: "tally gauge NAME VALUE [-t key=value]... [--service S] [options]",
        discussion: """
            tally gauge db_connections_total 7 --service risk_manager
            tally gauge portfolio_value_usd 125000 -t user_id=u1 --service risk_manager
            tally gauge queue_depth -- -2        (after --, a leading - is a value)
            """)

    @Argument(help: "Family (or undocumented name).") var name: String
    @Argument(help: "The value; +N/-N adjust it.") var value: String
    @OptionGroup var options: MetricOptions

    func run() throws { try options.checkAndSend(try options.line(name, value, type: "g")) }
}

/// `tally observe NAME VALUE`: one observation of a histogram or summary.
struct Observe: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Observe a value in the family's unit (seconds, bytes).",
        usage: "tally observe NAME VALUE [-t key=value]... [--service S] [options]",
        discussion: """
            tally observe http_request_size_bytes 512 -t method=POST \\
              -t path=/orders --service api_gateway
            tally observe data_collection_duration_seconds 4.2 \\
              -t collector_name=binance -t source=binance --service market_data_service
            """)

    @Argument(help: "Histogram or summary family.") var name: String
    @Argument(help: "The observation, in the family's unit.") var value: String
    @OptionGroup var options: MetricOptions

    func run() throws { try options.checkAndSend(try options.line(name, value, type: "h")) }
}

/// `tally set NAME MEMBER`: a member of a set (distinct members are counted).
struct SetMember: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "set",
        abstract: "Add a member to a set (a gauge of distinct members).",
        usage: "tally set NAME MEMBER [-t key=value]... [--service S] [options]",
        discussion: """
            tally set active_users alice --service api_gateway
            """)

    @Argument(help: "Set name.") var name: String
    @Argument(help: "The member (any text without : | ,).") var member: String
    @OptionGroup var options: MetricOptions

    func run() throws { try options.checkAndSend(try options.line(name, member, type: "s")) }
}

/// `tally up SERVICE`: service_up 1.
struct Up: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Mark a service up (service_up 1, until down or heartbeat_timeout).",
        usage: "tally up SERVICE [--udp H:P | --unix PATH | --tcp H:P]",
        discussion: "tally up order_executor")

    @Argument(help: "The service.") var service: String
    @OptionGroup var target: TargetOptions

    func run() throws { try liveness(service, "1", target) }
}

/// `tally down SERVICE`: service_up 0, held until the next `up`.
struct Down: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Mark a service down (service_up 0 until it is marked up again).",
        usage: "tally down SERVICE [--udp H:P | --unix PATH | --tcp H:P]",
        discussion: "tally down order_executor")

    @Argument(help: "The service.") var service: String
    @OptionGroup var target: TargetOptions

    func run() throws { try liveness(service, "0", target) }
}

/// `service_up:V|g|#service:S`, checked like every other line.
func liveness(_ service: String, _ value: String, _ target: TargetOptions) throws {
    var options = try MetricOptions.parse([])
    options.target = target
    options.service = service
    try options.checkAndSend(try options.line("service_up", value, type: "g"))
}
