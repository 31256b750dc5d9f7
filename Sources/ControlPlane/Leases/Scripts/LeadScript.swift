import RedisAdapter

/// `lead` (lua/lead.lua): takes the rebalancer's leader lease if it is free, renews it if `token` holds
/// it. Idempotent: taking or renewing twice is the same.
struct LeadScript: LeaseScript {
    var token: String
    var lease: Duration

    enum Argument: String, ScriptName { case token, leaseMs }

    func argument(_ argument: Argument) -> String {
        switch argument {
        case .token: token
        case .leaseMs: String(lease.wholeMilliseconds)
        }
    }

    enum Field: String, ScriptName { case leads }

    /// Whether `token` leads.
    static func reply(_ fields: ScriptReply<Field>) -> Bool? { fields.flag(.leads) }

    static let name = "lead"
    static let script = load(LuaSource.lead, idempotent: true)
}
