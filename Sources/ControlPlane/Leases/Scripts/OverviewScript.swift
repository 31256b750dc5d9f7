import Coordination
import Foundation
import RedisAdapter

/// `overview`: one consistent read of everything the status page shows. Changes nothing (it neither
/// expires leases nor checks the store), so it is idempotent and safe on any replica's schedule.
///
/// ARGV: how many events, newest first.
/// Reply: `[nowMs, workers (HGETALL), expiry (name, ms pairs), granted-by (HGETALL), quarantine
/// (number, ms pairs), [layout version, owners CSV], recovery ms, generation, events (XREVRANGE)]`.
/// The partitions granted come from `granted-by` (one field per number), not from `grants` (one per
/// partition): at 32,768 partitions that is a few fields instead of 32,768.
struct OverviewScript: LeaseScript {
    var eventCount: Int

    var arguments: [String] { [String(eventCount)] }

    /// The store's state as the script read it; `LeaseService.overview` makes the overview from it.
    struct Reply: Sendable {
        var nowMillis: Int64
        var workers: [(name: String, record: WorkerRecord)]
        var expiry: [String: Int64]
        /// number -> the partitions it holds a grant on (granted or revoked-but-held).
        var grantedBy: [WorkerNumber: [Int]]
        var quarantine: [(number: WorkerNumber, untilMillis: Int64)]
        var layoutVersion: Int64
        /// Empty before the first layout.
        var owners: [WorkerNumber?]
        var recoveryUntilMillis: Int64
        var generation: String
        var events: [Overview.Event]
    }

    static func decode(_ value: RedisValue) throws(LeaseStoreError) -> Reply {
        guard let reply = Self.reply(value) else { throw .malformed(name, value) }
        return reply
    }

    private static func reply(_ value: RedisValue) -> Reply? {
        guard let fields = value.array, fields.count == 9, let now = fields[0].integer,
            let workers = pairs(fields[1]), let expiry = pairs(fields[2]), let grantedBy = pairs(fields[3]),
            let quarantine = pairs(fields[4]), let layout = fields[5].array, layout.count == 2,
            let version = layout[0].integer, let owners = layout[1].string, let recovery = fields[6].integer,
            let generation = fields[7].string, let events = fields[8].array
        else { return nil }
        var reply = Reply(
            nowMillis: now, workers: [], expiry: [:], grantedBy: [:], quarantine: [], layoutVersion: version,
            owners: owners.isEmpty ? [] : owners.split(separator: ",", omittingEmptySubsequences: false).map { Int($0).flatMap(WorkerNumber.init) },
            recoveryUntilMillis: recovery, generation: generation, events: [])
        let decoder = JSONDecoder()
        for (name, json) in workers {
            guard let name = name.string, let json = json.bytes, let record = try? decoder.decode(WorkerRecord.self, from: Data(json)) else {
                return nil
            }
            reply.workers.append((name, record))
        }
        for (name, score) in expiry {
            guard let name = name.string, let millis = score.integer else { return nil }
            reply.expiry[name] = millis
        }
        for (number, grants) in grantedBy {
            guard let number = number.integer.flatMap({ WorkerNumber(rawValue: Int($0)) }), let text = grants.string,
                let list = try? ReplyList.grants(text)
            else { return nil }
            reply.grantedBy[number] = list.map(\.partition)
        }
        for (number, score) in quarantine {
            guard let number = number.integer.flatMap({ WorkerNumber(rawValue: Int($0)) }), let until = score.integer else { return nil }
            reply.quarantine.append((number, until))
        }
        for entry in events {
            guard let event = Self.event(entry) else { return nil }
            reply.events.append(event)
        }
        return reply
    }

    /// `[id, [field, value, …]]` of the event stream; the id's first part is Redis's clock in ms.
    private static func event(_ entry: RedisValue) -> Overview.Event? {
        guard let parts = entry.array, parts.count == 2, let id = parts[0].string, let at = id.split(separator: "-").first.flatMap({ Int64($0) }),
            let fields = pairs(parts[1])
        else { return nil }
        var values: [String: String] = [:]
        for (field, value) in fields {
            guard let field = field.string, let value = value.string else { return nil }
            values[field] = value
        }
        guard let kind = values["kind"].flatMap(Overview.Event.Kind.init(rawValue:)) else { return nil }
        return Overview.Event(
            atMillis: at, kind: kind, name: values["name"], number: values["number"].flatMap { Int($0) }.flatMap(WorkerNumber.init),
            epoch: values["epoch"].flatMap { Int64($0) }.map(Epoch.init), lease: values["lease"].flatMap(LeaseKind.init(rawValue:)),
            version: values["version"].flatMap { Int64($0) }, moved: values["moved"].flatMap { Int($0) },
            members: values["members"].flatMap { Int($0) }, until: values["until"])
    }

    /// The (field, value) pairs of a flat array reply (HGETALL, ZRANGE WITHSCORES).
    private static func pairs(_ value: RedisValue) -> [(RedisValue, RedisValue)]? {
        guard let items = value.array, items.count % 2 == 0 else { return nil }
        return stride(from: 0, to: items.count, by: 2).map { (items[$0], items[$0 + 1]) }
    }

    static let name = "overview"
    static let script = make(
        #"""
        local layout = redis.call('HMGET', K.layout, 'version', 'owners')
        return {
            string.format('%d', nowMs),
            redis.call('HGETALL', K.workers),
            redis.call('ZRANGE', K.expiry, 0, -1, 'WITHSCORES'),
            redis.call('HGETALL', K.grantedBy),
            redis.call('ZRANGE', K.quarantine, 0, -1, 'WITHSCORES'),
            {layout[1] or '0', layout[2] or ''},
            redis.call('GET', K.recovery) or '0',
            redis.call('GET', K.generation) or '',
            redis.call('XREVRANGE', K.events, '+', '-', 'COUNT', ARGV[1]),
        }
        """#, idempotent: true)
}
