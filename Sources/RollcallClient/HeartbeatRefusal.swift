/// A heartbeat the control plane refused as a client error (4xx other than 409): retrying the same
/// request cannot succeed, so it is logged loudly and surfaced in the worker's status.
public struct HeartbeatRefusal: Hashable, Sendable, CustomStringConvertible {
    public var status: Int
    public var message: String

    public var description: String { "\(status) \(message)" }
}
