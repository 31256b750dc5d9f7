import Coordination
import Foundation
import RedisAdapter

/// `overview` (lua/overview.lua): one consistent read of everything the status page shows. Changes
/// nothing (it neither expires leases nor checks the store), so it is idempotent and safe on any
/// replica's schedule. The partitions granted come from `granted-by` (one field per number), not from
/// `grants` (one per partition): at 32,768 partitions that is a few fields instead of 32,768.
struct OverviewScript: LeaseScript {
    var eventCount: Int

    enum Argument: String, ScriptName { case eventCount }

    func argument(_ argument: Argument) -> String { String(eventCount) }

    enum Field: String, ScriptName {
        case nowMs, workers, expiry, grantedBy, quarantine, layoutVersion, owners, recoveryMs, generation, events
    }

    /// The store's state as the script read it; `LeaseService.overview` makes the overview from it.
    struct Reply: Sendable {
        var nowMillis: Int64
        var workers: [(name: String, record: WorkerRecord)]
        var expiry: [String: Int64]
        /// number -> the partitions it holds a grant on (granted or revoked-but-held).
        var grantedBy: [WorkerNumber: [Partition]]
        var quarantine: [(number: WorkerNumber, untilMillis: Int64)]
        var layoutVersion: Int64
        /// Empty before the first layout.
        var owners: [WorkerNumber?]
        var recoveryUntilMillis: Int64
        var generation: Generation
        var events: [Overview.Event]
    }

    static func reply(_ fields: ScriptReply<Field>) -> Reply? {
        guard fields.fields.count == Field.allCases.count, let now = fields.integer(.nowMs),
            let workers = fields.pairs(.workers), let expiry = fields.pairs(.expiry), let grantedBy = fields.pairs(.grantedBy),
            let quarantine = fields.pairs(.quarantine), let version = fields.integer(.layoutVersion), let owners = fields.string(.owners),
            let recovery = fields.integer(.recoveryMs), let generation = fields.string(.generation), let events = fields[.events]?.array
        else { return nil }
        var reply = Reply(
            nowMillis: now, workers: [], expiry: [:], grantedBy: [:], quarantine: [], layoutVersion: version,
            owners: owners.isEmpty
                ? [] : owners.split(separator: ",", omittingEmptySubsequences: false).map { Int($0).flatMap(WorkerNumber.init) },
            recoveryUntilMillis: recovery, generation: Generation(rawValue: generation), events: [])
        let decoder = JSONDecoder()
        for (name, json) in workers {
            guard let name = name.string, let json = json.bytes, let record = try? decoder.decode(WorkerRecord.self, from: Data(json))
            else {
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
        guard let parts = entry.array, parts.count == 2, let id = parts[0].string,
            let at = id.split(separator: "-").first.flatMap({ Int64($0) }),
            let fields = parts[1].pairs
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

    static let name = "overview"
    static let script = load(LuaSource.overview, idempotent: true)
}
