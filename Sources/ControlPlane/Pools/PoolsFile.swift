import Coordination
import Yams

/// POOLS_FILE: the pools, as YAML (docs/operations.md, "Pools"). Parsed by hand from Yams' tree, not
/// with `Decodable`, so that an unknown field (a typo) is refused by name instead of ignored, and every
/// error names the pool and the field.
///
/// ```yaml
/// pools:
///   - name: payments            # a DNS-1123 label
///     partitions: 1024          # 0: numbers only
///     maxWorkers: 64
///     consumerGroupPrefix: payments
///     leaseTTL: 10s
///     heartbeatInterval: 1s
///     balance: load             # count (default) or load
///     targetLoadPerWorker: 500  # the fleet size: GET /v1/pools/payments/fleet
///     serviceAccounts: [payments/worker]  # whose pods may heartbeat (default: any of the issuer)
///     rateLimit: 20/s           # each caller's, with rateLimitBurst (default: RATE_LIMIT's)
/// autoCreate:                   # optional: number-only pools made on first use
///   maxWorkers: 1024
///   maxPools: 1000
/// ```
enum PoolsFile {
    /// Why the file was refused, naming the pool and the field.
    struct Problem: Error, Equatable, CustomStringConvertible {
        var description: String
    }

    /// The declarations in `text`; a field a pool leaves out takes its value from `defaults` (the
    /// environment's settings), except `consumerGroupPrefix`, which defaults to the pool's name.
    static func parse(_ text: String, defaults: LeaseSettings) throws(Problem) -> PoolDeclarations {
        let tree: Any?
        do {
            tree = try Yams.load(yaml: text)
        } catch {
            throw Problem(description: "not valid YAML: \(error)")
        }
        guard let root = tree as? [String: Any] else { throw Problem(description: "the file must be a mapping with a `pools` list") }
        try refuseUnknown(root, known: ["pools", "autoCreate"], in: "the file")
        guard let entries = root["pools"] as? [Any] else { throw Problem(description: "`pools` must be a list of pools") }
        var pools: [PoolDeclarations.DeclaredPool] = []
        for (index, entry) in entries.enumerated() {
            guard let fields = entry as? [String: Any] else { throw Problem(description: "pools[\(index)] must be a mapping") }
            guard let rawName = fields["name"] else { throw Problem(description: "pools[\(index)]: `name` is required") }
            guard let text = rawName as? String, let name = PoolName(rawValue: text) else {
                throw Problem(description: "pools[\(index)]: name \(show(rawName)): \(PoolName.rule)")
            }
            guard !pools.contains(where: { $0.name == name }) else { throw Problem(description: "pool \(name) is declared twice") }
            var base = defaults
            if name != .default { base.consumerGroupPrefix = name.rawValue }
            let settings = try PoolFields(fields, context: "pool \(name)").settings(base: base, allowPartitions: true)
            pools.append(.init(name: name, settings: settings))
        }
        var autoCreate: PoolDeclarations.AutoCreate? = nil
        switch root["autoCreate"] {
        case nil: break
        case let flag as Bool:
            autoCreate = flag ? .init(settings: numbersOnly(defaults), maxPools: 1000) : nil
        case let fields as [String: Any]:
            let parsed = PoolFields(fields, context: "autoCreate")
            var base = numbersOnly(defaults)
            base.consumerGroupPrefix = defaults.consumerGroupPrefix
            autoCreate = .init(
                settings: try parsed.settings(base: base, allowPartitions: false, extra: ["maxPools"]),
                maxPools: try parsed.integer("maxPools", 1000, in: 1...100_000))
        case let other?:
            throw Problem(description: "autoCreate must be true, false or a mapping of settings, not \(show(other))")
        }
        return PoolDeclarations(pools: pools, autoCreate: autoCreate)
    }

    private static func numbersOnly(_ settings: LeaseSettings) -> LeaseSettings {
        var settings = settings
        settings.partitionCount = 0
        return settings
    }

    fileprivate static func refuseUnknown(_ fields: [String: Any], known: Set<String>, in context: String) throws(Problem) {
        if let unknown = fields.keys.sorted().first(where: { !known.contains($0) }) {
            throw Problem(description: "\(context): unknown field `\(unknown)` (known: \(known.sorted().joined(separator: ", ")))")
        }
    }

    fileprivate static func show(_ value: Any) -> String {
        if let text = value as? String { return "\"\(text)\"" }
        return "\(value)"
    }
}

/// One pool's fields (or autoCreate's), read with errors naming the pool and the field.
private struct PoolFields {
    let fields: [String: Any]
    let context: String

    init(_ fields: [String: Any], context: String) {
        self.fields = fields
        self.context = context
    }

    static let settingNames: Set<String> = [
        "name", "partitions", "maxWorkers", "consumerGroupPrefix", "leaseTTL", "heartbeatInterval", "numberQuarantine", "epsilon",
        "balance", "moveBudget", "loadRoundInterval", "backlogSeconds", "targetLoadPerWorker", "serviceAccounts", "rateLimit",
        "rateLimitBurst",
    ]
    /// The fields that only mean something for a pool with partitions.
    static let layoutNames: Set<String> = [
        "name", "partitions", "epsilon", "balance", "moveBudget", "loadRoundInterval", "backlogSeconds", "targetLoadPerWorker",
    ]

    func settings(base: LeaseSettings, allowPartitions: Bool, extra: Set<String> = []) throws(PoolsFile.Problem) -> LeaseSettings {
        var known = Self.settingNames.union(extra)
        if !allowPartitions { known.subtract(Self.layoutNames) }
        try PoolsFile.refuseUnknown(fields, known: known, in: context)
        var settings = base
        if allowPartitions {
            settings.partitionCount = try integer("partitions", base.partitionCount, in: 0...65536)
            settings.epsilon = try number("epsilon", base.epsilon, in: 0...10)
            if let value = fields["balance"] {
                guard let text = value as? String, let balance = LeaseSettings.Balance(rawValue: text) else {
                    throw problem("balance", value, "must be count or load")
                }
                settings.balance = balance
            }
            settings.moveBudget = try integer("moveBudget", base.moveBudget, in: 1...65536)
            settings.loadRoundInterval = try duration("loadRoundInterval", base.loadRoundInterval)
            settings.backlogSeconds = try number("backlogSeconds", base.backlogSeconds, in: 1...86400)
            if fields["targetLoadPerWorker"] != nil {
                settings.targetLoadPerWorker = try number("targetLoadPerWorker", 0, in: 0.001...1e9)
                guard settings.partitionCount > 0 else {
                    throw PoolsFile.Problem(
                        description: "\(context): targetLoadPerWorker needs partitions (a pool of numbers only reports no load)")
                }
            }
        }
        settings.maxWorkers = try integer("maxWorkers", base.maxWorkers, in: 1...1024)
        settings.leaseTTL = try duration("leaseTTL", base.leaseTTL)
        settings.heartbeatInterval = try duration("heartbeatInterval", base.heartbeatInterval)
        settings.numberQuarantine = try duration("numberQuarantine", base.numberQuarantine)
        if let value = fields["consumerGroupPrefix"] {
            guard let prefix = value as? String, ConsumerGroup.isValidPrefix(prefix) else {
                throw problem("consumerGroupPrefix", value, ConsumerGroup.prefixRule)
            }
            settings.consumerGroupPrefix = prefix
        }
        if let value = fields["serviceAccounts"] {
            guard let list = value as? [Any], !list.isEmpty else {
                throw problem("serviceAccounts", value, "must be a list of namespace/name service accounts")
            }
            var accounts: Set<String> = []
            for item in list {
                guard let text = item as? String, Self.isServiceAccount(text) else {
                    throw problem("serviceAccounts", item, "is not a service account: namespace/name, each of a-z, 0-9, '-' and '.'")
                }
                accounts.insert(text)
            }
            settings.serviceAccounts = accounts
        }
        if let value = fields["rateLimit"] {
            let burst: Double? = fields["rateLimitBurst"] == nil ? nil : try number("rateLimitBurst", 1, in: 1...1e9)
            guard let text = value as? String, let limit = RateLimit(text: text, burst: burst) else {
                throw problem("rateLimit", value, "must be \(RateLimit.rule)")
            }
            settings.rateLimit = limit
        } else if fields["rateLimitBurst"] != nil {
            throw PoolsFile.Problem(description: "\(context): rateLimitBurst needs rateLimit beside it")
        }
        guard settings.heartbeatInterval < settings.leaseTTL else {
            throw PoolsFile.Problem(
                description:
                    "\(context): heartbeatInterval (\(settings.heartbeatInterval)) must be shorter than leaseTTL (\(settings.leaseTTL))")
        }
        return settings
    }

    /// `namespace/name`: a DNS-1123 label and a DNS-1123 subdomain.
    static func isServiceAccount(_ text: String) -> Bool {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        let allowed = { (byte: UInt8) in (0x61...0x7a).contains(byte) || (0x30...0x39).contains(byte) || byte == 0x2d || byte == 0x2e }
        return parts.count == 2 && parts.allSatisfy { (1...253).contains($0.utf8.count) && $0.utf8.allSatisfy(allowed) }
    }

    func integer(_ field: String, _ fallback: Int, in range: ClosedRange<Int>) throws(PoolsFile.Problem) -> Int {
        guard let value = fields[field] else { return fallback }
        guard let integer = value as? Int, range.contains(integer) else {
            throw problem(field, value, "must be a whole number in \(range.lowerBound)...\(range.upperBound)")
        }
        return integer
    }

    func number(_ field: String, _ fallback: Double, in range: ClosedRange<Double>) throws(PoolsFile.Problem) -> Double {
        guard let value = fields[field] else { return fallback }
        let number = (value as? Double) ?? (value as? Int).map(Double.init)
        guard let number, range.contains(number) else { throw problem(field, value, "must be a number in \(range)") }
        return number
    }

    func duration(_ field: String, _ fallback: Duration) throws(PoolsFile.Problem) -> Duration {
        guard let value = fields[field] else { return fallback }
        guard let text = value as? String, let duration = Duration(text: text), duration > .zero else {
            throw problem(field, value, "must be a duration like 500ms, 2s or 1m")
        }
        return duration
    }

    private func problem(_ field: String, _ value: Any, _ rule: String) -> PoolsFile.Problem {
        PoolsFile.Problem(description: "\(context): \(field) \(PoolsFile.show(value)) \(rule)")
    }
}
