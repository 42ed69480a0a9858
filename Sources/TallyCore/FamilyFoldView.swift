/// A `FamilyDescriptor` as the fold needs it on every line: label names as bytes, the slot
/// width, whether it is special. Cached per receive loop; a line that folds reads only `hot`,
/// copied into the loop's own table, and the class is touched on the error paths. Its
/// counterpart on the scrape side is `ExpositionRenderer.FamilyRenderView`.
final class FamilyFoldView {
    /// What every line reads, as plain values (the pointers are into this object's own
    /// storage): the fold copies this out of the loop's table and takes no reference to the
    /// class on a line that goes well.
    struct Hot {
        var valid = false
        var type = FamilyType.gauge
        var unit = FamilyUnit.none
        var special: SpecialFamily?
        var isDocumented = false
        var width = 1
        var labelCount = 0
        var labelFlat: UnsafeMutablePointer<UInt8>? = nil
        var labelOffsets: UnsafeMutablePointer<Int>? = nil
        /// -1: the family has no `service_name` label.
        var serviceLabel = -1
        var buckets: UnsafeMutablePointer<Double>? = nil
        var bucketCount = 0
    }

    private(set) var hot = Hot()
    private let bucketStorage: RawBuffer<Double>
    let type: FamilyType
    let unit: FamilyUnit
    let name: String
    /// Documented label names as bytes; nil for undocumented families.
    let labels: [[UInt8]]?
    /// The documented label names back to back, and where each starts (count + 1 offsets):
    /// matching a tag is a length check and a compare over one buffer. Raw memory owned by
    /// this object, so the per-tag loop retains nothing.
    let labelFlat: UnsafeMutablePointer<UInt8>
    let labelOffsets: UnsafeMutablePointer<Int>
    private let labelFlatStorage: RawBuffer<UInt8>
    private let labelOffsetStorage: RawBuffer<Int>
    let labelCount: Int
    let serviceLabel: Int?
    let buckets: [Double]
    let width: Int
    /// `service_up` or `service_start_time`, which set the service's liveness instead of a
    /// series; nil for every family folded as lines say (`service_info` included).
    let special: SpecialFamily?
    /// Tag names aggregated away (`drop_labels`): ignored without being counted as dropped.
    let dropped: [[UInt8]]

    init(_ d: FamilyDescriptor) {
        type = d.type
        unit = d.unit
        name = d.name
        labels = d.labels.map { $0.map { Array($0.utf8) } }
        var flat: [UInt8] = []
        var offsets = [0]
        for l in labels ?? [] {
            flat.append(contentsOf: l)
            offsets.append(flat.count)
        }
        labelFlatStorage = RawBuffer(copying: flat)
        labelOffsetStorage = RawBuffer(copying: offsets)
        labelFlat = labelFlatStorage.pointer
        labelOffsets = labelOffsetStorage.pointer
        labelCount = offsets.count - 1
        serviceLabel = d.labels?.firstIndex(of: "service_name")
        buckets = d.buckets
        width = d.slotWidth
        dropped = d.droppedLabels.map { Array($0.utf8) }
        special = SpecialFamily(d).flatMap { $0 == .serviceInfo ? nil : $0 }
        bucketStorage = RawBuffer(copying: d.buckets)
        hot = Hot(
            valid: true, type: type, unit: unit, special: special, isDocumented: labels != nil, width: width,
            labelCount: labelCount, labelFlat: labelFlat, labelOffsets: labelOffsets, serviceLabel: serviceLabel ?? -1,
            buckets: bucketStorage.pointer, bucketCount: d.buckets.count)
    }
}
