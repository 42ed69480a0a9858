import Logging
import TallyCore

/// Makes the `Ingestor` each receive loop owns: the same registry, limits and log limiter for
/// all of them, one per loop so the hot path shares no mutable state.
struct IngestorFactory: Sendable {
    let registry: Registry
    let maxLineLength: Int
    let dropClientTelemetry: Bool
    let defaultService: Int?
    let limiter: RejectLogLimiter
    let logger: Logger
    /// Every logged refusal also lands here, for the status page.
    let recent: RecentRejections?

    init(registry: Registry, config: TallyConfig, logger: Logger, recent: RecentRejections? = nil) {
        self.registry = registry
        maxLineLength = config.maxLineLength
        dropClientTelemetry = config.dropClientTelemetry
        defaultService = config.defaultService.flatMap { registry.services.index(of: $0) }
        limiter = RejectLogLimiter(interval: 1)
        self.logger = logger
        self.recent = recent
    }

    /// An ingestor for `transport`; `service` binds every line to one service (a Unix socket
    /// with `service:`).
    func make(transport: String, service: Int? = nil) -> Ingestor {
        let (logger, recent) = (self.logger, self.recent)
        return Ingestor(
            registry: registry, transport: transport, boundService: service, defaultService: defaultService,
            maxLineLength: maxLineLength, dropClientTelemetry: dropClientTelemetry, limiter: limiter
        ) { rejection in
            logger.warning("\(rejection.message)")
            recent?.record(rejection)
        }
    }
}
