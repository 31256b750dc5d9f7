import Coordination
import RedisAdapter

/// `heartbeat`: renews or leases the number of a name, then settles the worker's partition grants
/// against the published layout.
///
/// ARGV: name, instance, held partitions (CSV of `p` or `p:grantEpoch`), lease TTL ms, quarantine ms,
/// max workers, consumer-group stem, sequence, claimed number, claimed epoch (each of those three empty
/// when unknown), lease kind.
/// Reply: a flat array, first its kind and the leases this run found past their expiry and released:
/// `["leased", expired, number, "epoch", "p:epoch,…" (grants), "p,…" (revoked), layoutVersion, newLease
/// (0/1), adopted (0/1), consumerGroup, generation, leaseKind]`, or `["conflict" | "exhausted" |
/// "recovering", expired, "retryAfterMs"]`, or `["stale" | "kindMismatch", expired]`. An array, not the
/// JSON object the other scripts answer: every worker runs this once a second, and decoding JSON was
/// a tenth of the control plane's time per heartbeat. Not idempotent: a second run may lease a number
/// anew (a second run with the same sequence answers `stale`).
struct HeartbeatScript: LeaseScript {
    var name: WorkerName
    var instance: String
    /// The request's sequence number; nil from clients that send none (no late-request protection).
    var sequence: Int64?
    var held: [Int]
    /// The grant epochs of `held`, in the same order, when the worker sent them.
    var heldEpochs: [Epoch]?
    /// The lease the worker believes safe: re-adopted when the store lost it.
    var claim: (number: WorkerNumber, epoch: Epoch)?
    /// What the lease is for; fixed when it is made.
    var kind: LeaseKind
    var settings: LeaseSettings

    init(
        name: WorkerName, instance: String, sequence: Int64? = nil, held: [Int], heldEpochs: [Epoch]? = nil,
        claim: (number: WorkerNumber, epoch: Epoch)? = nil,
        kind: LeaseKind = .worker, settings: LeaseSettings
    ) {
        self.name = name
        self.instance = instance
        self.sequence = sequence
        self.held = held
        self.heldEpochs = heldEpochs
        self.claim = claim
        self.kind = kind
        self.settings = settings
    }

    var arguments: [String] {
        let heldText: String
        if let heldEpochs, heldEpochs.count == held.count {
            heldText = zip(held, heldEpochs).map { "\($0):\($1.rawValue)" }.joined(separator: ",")
        } else {
            heldText = held.map(String.init).joined(separator: ",")
        }
        return [
            name.rawValue, instance, heldText, String(settings.leaseTTL.wholeMilliseconds),
            String(settings.numberQuarantine.wholeMilliseconds), String(settings.maxWorkers),
            ConsumerGroup.stem(prefix: settings.consumerGroupPrefix), sequence.map(String.init) ?? "",
            claim.map { String($0.number.rawValue) } ?? "", claim.map { String($0.epoch.rawValue) } ?? "", kind.rawValue,
        ]
    }

    /// What the heartbeat did.
    struct Reply: Sendable, Equatable {
        var outcome: Outcome
        /// Leases found expired (and released) on the way.
        var expired: Int

        enum Outcome: Sendable, Equatable {
            /// The name holds a lease: renewed, or new when `newLease`.
            case leased(Leased)
            /// Another live instance holds the name; it may be free after `retryAfterMillis`.
            case conflict(retryAfterMillis: Int64)
            /// No number is grantable; one may be after `retryAfterMillis`.
            case exhausted(retryAfterMillis: Int64)
            /// The store lost state and waits it out: no new number (or the claimed one is not free) before
            /// `retryAfterMillis`. A worker that believed it held a lease must stop at once.
            case recovering(retryAfterMillis: Int64)
            /// The request is not newer than one already applied for this instance: nothing changed.
            case stale
            /// The lease is of the other kind (worker or number-only): nothing changed.
            case kindMismatch
        }

        /// The lease after this heartbeat and the partitions it may process (`grants`) or must stop (`revoked`).
        struct Leased: Sendable, Equatable {
            var number: WorkerNumber
            var epoch: Epoch
            var newLease: Bool
            /// The store had lost this lease and took the worker's claim back (same number and epoch).
            var adopted: Bool
            var grants: [PartitionGrant]
            var revoked: [Int]
            var layoutVersion: Int64
            var consumerGroup: String
            /// The store generation, for the worker to report back.
            var generation: String
            var kind: LeaseKind
        }

        init(outcome: Outcome, expired: Int) {
            self.outcome = outcome
            self.expired = expired
        }

        /// The script's array, or nil when it is not one the contract allows.
        init?(fields: [RedisValue]) {
            guard fields.count >= 2, let kind = fields[0].string, let expired = fields[1].integer, expired >= 0 else { return nil }
            self.expired = Int(expired)
            switch (kind, fields.count) {
            case ("leased", 12):
                guard let number = fields[2].integer.flatMap({ WorkerNumber(rawValue: Int($0)) }),
                    let epoch = fields[3].string.flatMap({ Int64($0) }), epoch >= 0,
                    let grants = fields[4].string.flatMap({ try? ReplyList.grants($0) }),
                    let revoked = fields[5].string.flatMap({ try? ReplyList.partitions($0) }),
                    let layoutVersion = fields[6].integer, let newLease = Self.flag(fields[7]), let adopted = Self.flag(fields[8]),
                    let consumerGroup = fields[9].string, let generation = fields[10].string,
                    let leaseKind = fields[11].string.flatMap(LeaseKind.init(rawValue:))
                else { return nil }
                outcome = .leased(
                    Leased(
                        number: number, epoch: Epoch(rawValue: epoch), newLease: newLease, adopted: adopted, grants: grants,
                        revoked: revoked, layoutVersion: layoutVersion, consumerGroup: consumerGroup, generation: generation,
                        kind: leaseKind))
            case ("conflict", 3):
                guard let millis = Self.millis(fields[2]) else { return nil }
                outcome = .conflict(retryAfterMillis: millis)
            case ("exhausted", 3):
                guard let millis = Self.millis(fields[2]) else { return nil }
                outcome = .exhausted(retryAfterMillis: millis)
            case ("recovering", 3):
                guard let millis = Self.millis(fields[2]) else { return nil }
                outcome = .recovering(retryAfterMillis: millis)
            case ("stale", 2):
                outcome = .stale
            case ("kindMismatch", 2):
                outcome = .kindMismatch
            default:
                return nil
            }
        }

        /// A `retryAfterMs` field: a non-negative decimal string.
        private static func millis(_ value: RedisValue) -> Int64? {
            value.string.flatMap { Int64($0) }.flatMap { $0 >= 0 ? $0 : nil }
        }

        private static func flag(_ value: RedisValue) -> Bool? {
            switch value.integer {
            case 0: false
            case 1: true
            default: nil
            }
        }
    }

    static func decode(_ value: RedisValue) throws(LeaseStoreError) -> Reply {
        guard let fields = value.array, let reply = Reply(fields: fields) else { throw .malformed(name, value) }
        return reply
    }

    static let name = "heartbeat"
    static let script = make(
        #"""
        local name, instance = ARGV[1], ARGV[2]
        local held, heldEpochs, heldList = {}, {}, {}
        for p, e in string.gmatch(ARGV[3], '(%d+):?(%d*)') do
            local n = tonumber(p)
            if not held[n] then held[n] = true; heldList[#heldList + 1] = n end
            if e ~= '' then heldEpochs[n] = tonumber(e) end
        end
        table.sort(heldList)
        local ttl, quarantineMs, maxWorkers, groupStem = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6]), ARGV[7]
        local sequence, claimNumber, claimEpoch = tonumber(ARGV[8]), tonumber(ARGV[9]), tonumber(ARGV[10])
        local kind = ARGV[11]
        local generation, recoveryUntil = checkStore(ttl)
        local expired = expire(quarantineMs)

        local function recovering(untilMs)
            return {'recovering', expired, string.format('%d', math.max(untilMs - nowMs, 1))}
        end

        local number, epoch
        local isNew, adopted, joined, lastSequence = false, false, false, sequence or 0
        local record = redis.call('HGET', K.workers, name)
        if record then
            local w = cjson.decode(record)
            if w.instance ~= instance then
                local until_ = tonumber(redis.call('ZSCORE', K.expiry, name)) or nowMs
                return {'conflict', expired, string.format('%d', math.max(until_ - nowMs, 0))}
            end
            -- A late, duplicated or reordered request changes nothing.
            if sequence and w.sequence and sequence <= w.sequence then return {'stale', expired} end
            if (w.kind or 'worker') ~= kind then return {'kindMismatch', expired} end
            number, epoch = w.number, w.epoch
            lastSequence = math.max(lastSequence, w.sequence or 0)
        else
            local retiredSequence, retiredNumber
            local retired = redis.call('HGET', K.retired, name .. ' ' .. instance)
            if retired then
                local s, n = string.match(retired, '(%d+):(%d+)')
                retiredSequence, retiredNumber = tonumber(s), tonumber(n)
            end
            if sequence and retiredSequence and sequence <= retiredSequence then
                return {'stale', expired}
            end
            -- While lost state is waited out, a worker that still believes its lease (number and epoch) may
            -- re-adopt it if nobody holds it. A claim alone never starts recovery: any client could send one.
            if claimNumber and claimEpoch then
                if nowMs < recoveryUntil then
                    local free = claimNumber < maxWorkers and redis.call('HEXISTS', K.numbers, claimNumber) == 0
                        and (not redis.call('ZSCORE', K.quarantine, claimNumber) or retiredNumber == claimNumber)
                    if not free then return recovering(recoveryUntil + quarantineMs) end
                    number, epoch, adopted = claimNumber, claimEpoch, true
                    raiseEpoch(claimEpoch)
                    redis.call('ZREM', K.quarantine, number)
                    redis.call('HSET', K.numbers, number, name)
                    redis.call('HDEL', K.grantedBy, number)
                    joined = true
                end
            end
            if not number then
                if nowMs < recoveryUntil + quarantineMs then return recovering(recoveryUntil + quarantineMs) end
                for candidate = 0, maxWorkers - 1 do
                    if redis.call('HEXISTS', K.numbers, candidate) == 0 and not redis.call('ZSCORE', K.quarantine, candidate) then
                        number = candidate
                        break
                    end
                end
                if not number then
                    local retry = ttl
                    local q = redis.call('ZRANGE', K.quarantine, 0, 0, 'WITHSCORES')
                    if q[2] then retry = math.min(retry, tonumber(q[2]) - nowMs) end
                    local e = redis.call('ZRANGE', K.expiry, 0, 0, 'WITHSCORES')
                    if e[2] then retry = math.min(retry, tonumber(e[2]) - nowMs) end
                    return {'exhausted', expired, string.format('%d', math.max(retry, 1))}
                end
                epoch = nextEpoch()
                isNew = true
                redis.call('HSET', K.numbers, number, name)
                redis.call('HDEL', K.grantedBy, number)
                joined = true
            end
        end
        -- A number-only lease never joins the layout, so it changes no membership.
        if joined then
            if kind == 'numberOnly' then redis.call('SADD', K.numberOnly, number) else redis.call('INCR', K.membership) end
        end
        if isNew or adopted then
            event('kind', isNew and 'leased' or 'adopted', 'name', name, 'number', string.format('%d', number),
                'epoch', string.format('%.0f', epoch), 'lease', kind)
        end
        local inRecovery = nowMs < recoveryUntil

        -- Grants: keep what is still ours; revoke what moved away (held until the worker lets go);
        -- grant a partition of our share only when nobody holds a grant on it. Each new grant gets a
        -- fresh epoch, so a partition's fencing token grows with every handoff, whichever lease is older.
        -- A number the published layout does not mention (the layout was lost with Redis's data, or is not
        -- yet republished) keeps its grants: revoking them would stop work for no one's benefit.
        local shareText = redis.call('HGET', K.layoutByNumber, number)
        if kind == 'numberOnly' then shareText = '' end
        local share, shareList = csvSet(shareText)
        local previous, grantEpochs = grantList(redis.call('HGET', K.grantedBy, number))
        if inRecovery and kind == 'worker' then
            -- The store may have lost grants: the worker's own, reported with their epochs, are taken back
            -- when nobody else holds them.
            local known = {}
            for _, p in ipairs(previous) do known[p] = true end
            for _, p in ipairs(heldList) do
                local e = heldEpochs[p]
                if e and not known[p] then
                    local owner = redis.call('HGET', K.grants, p)
                    if not owner or tonumber(owner) == number then
                        redis.call('HSET', K.grants, p, number)
                        previous[#previous + 1] = p; grantEpochs[p] = e
                        raiseEpoch(e)
                    end
                end
            end
            -- A stored grant the worker does not report held may have moved to another in the lost writes
            -- (a failover loses what the old primary wrote after the promotion): answering it would be a new
            -- grant of something another worker may believe it holds. It waits for the end of recovery.
            local kept = {}
            for _, p in ipairs(previous) do
                if held[p] then
                    kept[#kept + 1] = p
                elseif tonumber(redis.call('HGET', K.grants, p)) == number then
                    redis.call('HDEL', K.grants, p)
                end
            end
            previous = kept
        end
        local granted, revoked, keep, seen = {}, {}, {}, {}
        for _, p in ipairs(previous) do
            seen[p] = true
            if share[p] or not shareText then
                granted[#granted + 1] = p; keep[#keep + 1] = p
            elseif held[p] then
                revoked[#revoked + 1] = p; keep[#keep + 1] = p
            elseif tonumber(redis.call('HGET', K.grants, p)) == number then
                redis.call('HDEL', K.grants, p)
            end
        end
        -- No new grant while lost state is waited out: another worker may still believe it holds it.
        local grantEpoch
        if not inRecovery and kind == 'worker' then
            for _, p in ipairs(shareList) do
                if not seen[p] then
                    local owner = redis.call('HGET', K.grants, p)
                    if not owner or tonumber(owner) == number then
                        grantEpoch = grantEpoch or nextEpoch()
                        redis.call('HSET', K.grants, p, number)
                        grantEpochs[p] = grantEpoch
                        granted[#granted + 1] = p; keep[#keep + 1] = p; seen[p] = true
                    end
                end
            end
        end
        for _, p in ipairs(heldList) do
            if not seen[p] then revoked[#revoked + 1] = p end
        end
        table.sort(granted); table.sort(revoked); table.sort(keep)
        redis.call('HSET', K.grantedBy, number, grantCSV(keep, grantEpochs))

        local expiresAt = nowMs + ttl
        local version = tonumber(redis.call('HGET', K.layout, 'version') or '0')
        local group = groupStem .. string.format('%d', number)
        redis.call('ZADD', K.expiry, string.format('%d', expiresAt), name)
        redis.call('HSET', K.workers, name, string.format(
            '{"number":%d,"epoch":%.0f,"instance":"%s","expiresAt":"%s","partitions":%d,"consumerGroup":"%s","layoutVersion":%d,"sequence":%.0f,"kind":"%s"}',
            number, epoch, instance, iso8601(expiresAt), #granted, group, version, lastSequence, kind))
        return {'leased', expired, number, string.format('%.0f', epoch), grantCSV(granted, grantEpochs), csv(revoked), version,
            isNew and 1 or 0, adopted and 1 or 0, group, generation, kind}
        """#, idempotent: false)
}
