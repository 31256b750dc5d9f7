import Coordination

/// One line of the `workers` hash (the operator's view), as the heartbeat script writes it:
/// `{"number", "epoch", "instance", "expiresAt", "partitions", "consumerGroup", "layoutVersion",
/// "sequence", "kind"}`. The control plane reads back what `GET /v1/workers` lists; `layoutVersion`
/// is for the operator, `sequence` for the script.
struct WorkerRecord: Decodable, Sendable {
    var number: WorkerNumber
    var epoch: Epoch
    var instance: String
    var expiresAt: String
    var partitions: Int
    var consumerGroup: String
    /// Absent in records written before number-only leases existed: a partition worker.
    var kind: LeaseKind?
}
