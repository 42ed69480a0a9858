/// Raw memory with exactly one owner: allocated in `init`, freed in `deinit`.
///
/// The hot path works on raw pointers (no Array uniqueness checks, no retains per tag), but
/// nothing outside this type allocates or frees them, so a buffer can neither leak nor be
/// freed twice, and its lifetime is the lifetime of whoever holds the `RawBuffer`.
///
/// `@unchecked Sendable`: the contents are the holder's business. A buffer is shared between
/// threads only when it is no longer written (the load generator's packets).
public final class RawBuffer<Element>: @unchecked Sendable {
    public let pointer: UnsafeMutablePointer<Element>
    public let capacity: Int
    /// Slots `0..<initialized` hold elements and are deinitialized with the buffer.
    private let initialized: Int

    /// Room for `capacity` elements of a trivial type (bytes, integers), left uninitialized.
    public init(capacity: Int) {
        precondition(_isPOD(Element.self), "RawBuffer(capacity:) is for trivial types")
        self.capacity = max(capacity, 1)
        pointer = .allocate(capacity: self.capacity)
        initialized = 0
    }

    /// A copy of `elements`.
    public init(copying elements: [Element]) {
        capacity = max(elements.count, 1)
        pointer = .allocate(capacity: capacity)
        pointer.initialize(from: elements, count: elements.count)
        initialized = elements.count
    }

    /// The memory as bytes, for buffers of bytes filled by a system call or a memcpy.
    public var raw: UnsafeMutableRawPointer { UnsafeMutableRawPointer(pointer) }

    deinit {
        pointer.deinitialize(count: initialized)
        pointer.deallocate()
    }
}
