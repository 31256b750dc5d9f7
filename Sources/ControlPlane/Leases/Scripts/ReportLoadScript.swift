import Coordination
import RedisAdapter

/// `report` (lua/report.lua): stores the loads a worker reports for the partitions it is granted now
/// (`balance: load`); the rest are dropped. Idempotent: the same report stores the same values.
struct ReportLoadScript: LeaseScript {
    var name: WorkerName
    var epoch: Epoch
    /// partition -> its load (rows per second, the backlog counted in), each finite and non-negative.
    var loads: [(partition: Int, load: Double)]

    enum Argument: String, ScriptName { case name, epoch, loads }

    func argument(_ argument: Argument) -> String {
        switch argument {
        case .name: name.rawValue
        case .epoch: String(epoch.rawValue)
        case .loads: loads.map { "\($0.partition):\($0.load)" }.joined(separator: ",")
        }
    }

    enum Field: String, ScriptName { case stored }

    static func reply(_ fields: ScriptReply<Field>) -> Int? { fields.count(.stored).map(Int.init) }

    static let name = "report"
    static let script = load(LuaSource.report, idempotent: true)
}
