import Logging
import Synchronization

/// The process-wide log level, changeable by a config reload without rebuilding loggers.
public final class LogLevelControl: Sendable {
    public static let shared = LogLevelControl()

    private let raw = Atomic<UInt8>(LogLevelControl.code(.info))

    public var level: Logger.Level {
        get { Self.levels[Int(raw.load(ordering: .relaxed))] }
        set { raw.store(Self.code(newValue), ordering: .relaxed) }
    }

    private static let levels = Logger.Level.allCases
    private static func code(_ level: Logger.Level) -> UInt8 { UInt8(levels.firstIndex(of: level)!) }

    /// A stderr handler whose level follows `shared`; `LoggingSystem.bootstrap` takes this.
    public static func handler(label: String) -> LogHandler {
        DynamicLevelHandler(base: StreamLogHandler.standardError(label: label), control: shared)
    }
}

/// Wraps a handler so its level is read from `LogLevelControl` at every call.
struct DynamicLevelHandler: LogHandler {
    var base: StreamLogHandler
    let control: LogLevelControl

    var logLevel: Logger.Level {
        get { control.level }
        set { control.level = newValue }
    }

    var metadata: Logger.Metadata {
        get { base.metadata }
        set { base.metadata = newValue }
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { base[metadataKey: key] }
        set { base[metadataKey: key] = newValue }
    }

    func log(event: LogEvent) {
        var b = base
        b.logLevel = .trace
        b.log(event: event)
    }
}
