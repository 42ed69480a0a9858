import ServiceLifecycle

/// For services that work in ticks: sleeps `seconds`, or less when graceful shutdown begins
/// or the task is cancelled. True while the service should keep ticking.
func sleepUnlessShuttingDown(_ seconds: Double) async -> Bool {
    guard !Task.isShuttingDownGracefully, !Task.isCancelled else { return false }
    try? await cancelWhenGracefulShutdown {
        try await Task.sleep(for: .milliseconds(Int64(max(seconds, 0.001) * 1000)))
    }
    return !Task.isShuttingDownGracefully && !Task.isCancelled
}

/// Suspends until graceful shutdown begins (or the task is cancelled): the whole `run()` of a
/// service that only has something to do at the end.
func waitForShutdown() async {
    try? await gracefulShutdown()
}
