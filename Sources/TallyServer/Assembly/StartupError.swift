/// A startup failure an operator can act on; `description` is the whole message.
public struct StartupError: Error, CustomStringConvertible {
    public var description: String

    public init(description: String) { self.description = description }
}
