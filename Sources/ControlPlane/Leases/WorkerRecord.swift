import Coordination

/// One line of the `workers` hash (the operator's view), as the heartbeat script writes it. The field
/// list is declared once, in `Field`: the script's `encodeRecord` is generated from it (`LuaPreamble`)
/// and this type decodes by it. The control plane reads back what `GET /v1/workers` lists;
/// `layoutVersion` is for the operator, `sequence` for the script.
struct WorkerRecord: Decodable, Sendable {
    var number: WorkerNumber
    var epoch: Epoch
    var instance: String
    var expiresAt: String
    /// How many partitions the lease holds a grant on (the record's `partitions`).
    var grantCount: Int
    var consumerGroup: String
    /// Absent in records written before number-only leases existed: a partition worker.
    var kind: LeaseKind?

    /// The record's fields, in the order the script writes them.
    enum Field: String, CaseIterable, CodingKey {
        case number, epoch, instance, expiresAt
        case grantCount = "partitions"
        case consumerGroup, layoutVersion, sequence, kind

        /// Whether the script writes the field as a JSON integer (else as a string).
        var isInteger: Bool {
            switch self {
            case .number, .epoch, .grantCount, .layoutVersion, .sequence: true
            case .instance, .expiresAt, .consumerGroup, .kind: false
            }
        }
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: Field.self)
        number = try container.decode(WorkerNumber.self, forKey: .number)
        epoch = try container.decode(Epoch.self, forKey: .epoch)
        instance = try container.decode(String.self, forKey: .instance)
        expiresAt = try container.decode(String.self, forKey: .expiresAt)
        grantCount = try container.decode(Int.self, forKey: .grantCount)
        consumerGroup = try container.decode(String.self, forKey: .consumerGroup)
        kind = try container.decodeIfPresent(LeaseKind.self, forKey: .kind)
    }
}
