import TallyCore

/// What happened to the saved state, for the admin endpoint: an operator alerts on saves
/// that fail or stop happening.
struct StateFileStats: Sendable {
    var saves = 0
    var failures = 0
    var lastSaveTime: Double?
    var lastSaveBytes = 0
    var lastSaveSeconds = 0.0
    /// Series restored at start (nil: nothing was restored).
    var restored: Int?

    func render(_ w: inout TextWriter) {
        w.header(
            name: "tally_state_saves_total", help: "Saves of state_file, by result (error: see the log).",
            type: .counter)
        w.append("tally_state_saves_total{result=\"ok\"} ")
        w.integer(Int64(saves))
        w.append("\ntally_state_saves_total{result=\"error\"} ")
        w.integer(Int64(failures))
        w.append(byte: 0x0A)
        func gauge(_ name: String, _ help: String, _ value: Double) {
            w.single(name: name, help: help, type: .gauge, value: value)
        }
        // From the start (0 before the first save), so an alert on a stale timestamp can fire
        // for a daemon that never managed to save.
        gauge(
            "tally_state_last_save_timestamp_seconds", "When state_file was last written (0: not yet).",
            lastSaveTime ?? 0)
        gauge("tally_state_last_save_bytes", "Size of the last state_file written.", Double(lastSaveBytes))
        gauge(
            "tally_state_last_save_duration_seconds", "How long the last save took (encoding, write, fsync).",
            lastSaveSeconds)
        gauge("tally_state_restored_series", "Series restored from state_file at start.", Double(restored ?? 0))
    }
}
