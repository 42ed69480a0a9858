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
        w.header(name: "tally_state_saves_total", help: "Saves of state_file, by result (error: see the log).", type: .counter)
        w.append("tally_state_saves_total{result=\"ok\"} ")
        w.integer(Int64(saves))
        w.append("\ntally_state_saves_total{result=\"error\"} ")
        w.integer(Int64(failures))
        w.append(byte: 0x0A)
        if let t = lastSaveTime {
            w.header(name: "tally_state_last_save_timestamp_seconds", help: "When state_file was last written.", type: .gauge)
            w.append("tally_state_last_save_timestamp_seconds ")
            w.value(t)
            w.append(byte: 0x0A)
            w.header(name: "tally_state_last_save_bytes", help: "Size of the last state_file written.", type: .gauge)
            w.append("tally_state_last_save_bytes ")
            w.integer(Int64(lastSaveBytes))
            w.append(byte: 0x0A)
            w.header(name: "tally_state_last_save_duration_seconds", help: "How long the last save took (encoding, write, fsync).", type: .gauge)
            w.append("tally_state_last_save_duration_seconds ")
            w.value(lastSaveSeconds)
            w.append(byte: 0x0A)
        }
        w.header(name: "tally_state_restored_series", help: "Series restored from state_file at start.", type: .gauge)
        w.append("tally_state_restored_series ")
        w.integer(Int64(restored ?? 0))
        w.append(byte: 0x0A)
    }
}
