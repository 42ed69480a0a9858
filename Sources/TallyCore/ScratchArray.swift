/// An array reused line after line: `reset()` only rewinds the count, and elements live in a
/// raw buffer, so the hot path pays neither `removeAll` nor the uniqueness check every Array
/// mutation makes. Copies share the buffer: it belongs to one `FoldState`.
struct ScratchArray<Element> {
    final class Storage {
        var base: UnsafeMutablePointer<Element>
        var capacity: Int
        /// Slots below this hold an element (assigned over when reused, deinitialized at the end).
        var initialized = 0

        init() {
            capacity = 16
            base = .allocate(capacity: 16)
        }

        func grow() {
            let bigger = UnsafeMutablePointer<Element>.allocate(capacity: capacity * 2)
            bigger.moveInitialize(from: base, count: initialized)
            base.deallocate()
            base = bigger
            capacity *= 2
        }

        deinit {
            base.deinitialize(count: initialized)
            base.deallocate()
        }
    }

    private let storage = Storage()
    private(set) var count = 0

    @inline(__always)
    mutating func reset() { count = 0 }

    @inline(__always)
    mutating func append(_ element: Element) {
        if count < storage.initialized {
            storage.base[count] = element
        } else {
            if count == storage.capacity { storage.grow() }
            (storage.base + count).initialize(to: element)
            storage.initialized = count + 1
        }
        count += 1
    }

    @inline(__always)
    subscript(i: Int) -> Element {
        get {
            precondition(i >= 0 && i < count, "ScratchArray index out of range")
            return storage.base[i]
        }
        nonmutating set {
            precondition(i >= 0 && i < count, "ScratchArray index out of range")
            storage.base[i] = newValue
        }
    }

    var last: Element? { count > 0 ? storage.base[count - 1] : nil }

    @inline(__always)
    func withUnsafeBufferPointer<R>(_ body: (UnsafeBufferPointer<Element>) throws -> R) rethrows -> R {
        try body(UnsafeBufferPointer(start: storage.base, count: count))
    }
}
