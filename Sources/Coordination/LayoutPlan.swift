/// `GET /v1/pools/{pool}/plan`: what the layout would become for another set of workers, computed
/// from the published layout and changing nothing.
public struct LayoutPlan: Codable, Hashable, Sendable {
    /// One partition that would change owner: `from` nil when it has no owner today, `to` nil when it
    /// would have none (no workers).
    public struct Move: Codable, Hashable, Sendable {
        public var partition: Partition
        public var from: WorkerNumber?
        public var to: WorkerNumber?

        public init(partition: Partition, from: WorkerNumber?, to: WorkerNumber?) {
            self.partition = partition
            self.from = from
            self.to = to
        }
    }

    /// A member of the planned layout and how many partitions it would own.
    public struct Share: Codable, Hashable, Sendable {
        public var number: WorkerNumber
        public var partitions: Int
        /// `balance: load`: the load its partitions reported; nil in a pool balanced by count.
        public var load: Double?

        public init(number: WorkerNumber, partitions: Int, load: Double? = nil) {
            self.number = number
            self.partitions = partitions
            self.load = load
        }
    }

    /// What the layout is balanced by: `count` (partitions per worker) or `load` (reported load).
    public var balance: String
    /// The version of the published layout the moves are counted from (0: none published yet).
    public var fromVersion: Int64
    /// The members the plan assumes, ascending.
    public var members: [WorkerNumber]
    /// Every partition that would change owner, ascending by partition.
    public var moves: [Move]
    /// Each planned member's share, ascending by number.
    public var shares: [Share]
    /// The largest share over the mean share, in partitions or in load (1 when even; 0 with no members).
    public var maxOverMean: Double

    public init(balance: String, fromVersion: Int64, members: [WorkerNumber], moves: [Move], shares: [Share], maxOverMean: Double) {
        self.balance = balance
        self.fromVersion = fromVersion
        self.members = members
        self.moves = moves
        self.shares = shares
        self.maxOverMean = maxOverMean
    }
}
