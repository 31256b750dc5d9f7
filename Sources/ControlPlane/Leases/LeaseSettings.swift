import Coordination

/// The lease and layout settings every part of the control plane shares.
struct LeaseSettings: Sendable, Hashable {
    var leaseTTL: Duration = .seconds(10)
    var heartbeatInterval: Duration = .seconds(1)
    var numberQuarantine: Duration = .seconds(2)
    var partitionCount = 1024
    var maxWorkers = 1024
    var epsilon = 0.1
    var consumerGroupPrefix = "inbox"
}
