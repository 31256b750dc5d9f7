import Coordination

/// What a what-if plan (`GET /v1/pools/{pool}/plan`) assumes: the pool scaled to a worker count, or
/// one worker gone.
enum PlanScenario: Equatable, Sendable {
    /// `?workers=N`: the Deployment scaled to N workers.
    case workers(Int)
    /// `?drain=NAME`: that worker stopped.
    case drain(WorkerName)

    /// From the query: exactly one of `workers` (0 to `maxWorkers`) and `drain` (a worker name).
    init(workers: String?, drain: String?, maxWorkers: Int) throws(LeaseRefusal) {
        switch (workers, drain) {
        case (let workers?, nil):
            guard let count = Int(workers), (0...maxWorkers).contains(count) else {
                throw .invalid(.invalidCount, "workers must be a whole number from 0 to maxWorkers (\(maxWorkers)), got \(workers)")
            }
            self = .workers(count)
        case (nil, let drain?):
            guard let name = WorkerName(rawValue: drain) else {
                throw .invalid(.invalidName, "drain must name a worker (a DNS-1123 subdomain), got \(drain)")
            }
            self = .drain(name)
        case (nil, nil):
            throw .invalid(.invalidRequest, "say what to plan for: ?workers=N or ?drain=NAME")
        case (.some, .some):
            throw .invalid(.invalidRequest, "plan for one thing at a time: ?workers=N or ?drain=NAME, not both")
        }
    }

    /// The members the plan assumes, from today's (`current`, the layout's members) and, for a drain,
    /// the drained worker's number. Scaling up adds the lowest numbers nobody holds (the numbers new
    /// workers lease first, quarantine aside); scaling down keeps the lowest numbers: which pods a
    /// Deployment removes is not known ahead, and this is the plan's stated assumption.
    func members(current: [WorkerNumber], drained: WorkerNumber?) -> [WorkerNumber] {
        let current = Array(Set(current)).sorted()
        switch self {
        case .workers(let count) where count <= current.count:
            return Array(current.prefix(count))
        case .workers(let count):
            let held = Set(current)
            let added = WorkerNumber.range.lazy.compactMap(WorkerNumber.init(rawValue:)).filter { !held.contains($0) }.prefix(
                count - current.count)
            return (current + added).sorted()
        case .drain:
            return current.filter { $0 != drained }
        }
    }
}
