import RedisAdapter

/// `lead` (lua/lead.lua): takes the installation's leader lease if it is free, renews it if `token`
/// holds it. Idempotent: taking or renewing twice is the same.
struct LeadScript: LeaseScript {
    typealias Key = ControlKey
    var token: String
    var lease: Duration

    enum Argument: String, ScriptName { case token, leaseMs }

    func argument(_ argument: Argument) -> String {
        switch argument {
        case .token: token
        case .leaseMs: String(lease.wholeMilliseconds)
        }
    }

    enum Field: String, ScriptName { case leads, taken }

    enum Reply: Sendable, Equatable {
        /// Another replica leads.
        case follows
        /// `token` leads; `taken` when this run took the lease (it was free).
        case leads(taken: Bool)
    }

    static func reply(_ fields: ScriptReply<Field>) -> Reply? {
        guard let leads = fields.flag(.leads), let taken = fields.flag(.taken) else { return nil }
        return leads ? .leads(taken: taken) : .follows
    }

    static let name = "lead"
    static let script = load(LuaSource.lead, idempotent: true)
}
