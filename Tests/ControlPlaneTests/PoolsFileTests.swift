import Coordination
import TestSupport
import Testing

@testable import ControlPlane

/// POOLS_FILE as it is written: every field, its defaults, and a refusal naming the pool and the field.
struct PoolsFileTests {
    static let defaults = LeaseSettings()

    @Test("the issue's example parses: each pool's fields, the rest from the environment, the group prefix from the name")
    func theExampleParses() throws {
        let declarations = try PoolsFile.parse(
            """
            pools:
              - name: payments            # a DNS-1123 label
                partitions: 1024          # 0: numbers only
                maxWorkers: 64
                consumerGroupPrefix: payments
                leaseTTL: 10s
                heartbeatInterval: 1s
              - name: metrics-tags
                partitions: 0
                maxWorkers: 512
                numberQuarantine: 500ms
                epsilon: 0.25
            """, defaults: Self.defaults)
        #expect(declarations.pools.map(\.name.rawValue) == ["payments", "metrics-tags"])
        let payments = try #require(declarations.settings(of: PoolName(rawValue: "payments")!))
        #expect(payments.partitionCount == 1024 && payments.maxWorkers == 64 && payments.consumerGroupPrefix == "payments")
        #expect(payments.leaseTTL == .seconds(10) && payments.heartbeatInterval == .seconds(1))
        let tags = try #require(declarations.settings(of: PoolName(rawValue: "metrics-tags")!))
        #expect(tags.partitionCount == 0 && tags.maxWorkers == 512 && tags.numberQuarantine == .milliseconds(500) && tags.epsilon == 0.25)
        #expect(tags.leaseTTL == Self.defaults.leaseTTL && tags.consumerGroupPrefix == "metrics-tags")
        #expect(declarations.autoCreate == nil)
    }

    @Test("balance: load and its settings parse; a pool that leaves them out is balanced by count")
    func loadSettings() throws {
        let text = """
            pools:
              - name: skew
                balance: load
                moveBudget: 16
                loadRoundInterval: 5s
                backlogSeconds: 120
                targetLoadPerWorker: 250.5
              - name: even
            """
        let pools = try PoolsFile.parse(text, defaults: Self.defaults).pools
        let skew = try #require(pools.first { $0.name.rawValue == "skew" }?.settings)
        #expect(skew.balance == .load && skew.moveBudget == 16 && skew.loadRoundInterval == .seconds(5) && skew.backlogSeconds == 120)
        #expect(skew.targetLoadPerWorker == 250.5 && skew.storesLoad)
        let even = try #require(pools.first { $0.name.rawValue == "even" }?.settings)
        #expect(even.balance == .count && even.moveBudget == 64 && even.loadRoundInterval == .seconds(10) && even.backlogSeconds == 60)
        #expect(even.targetLoadPerWorker == nil && !even.storesLoad)
    }

    @Test("a pool named default keeps the environment's consumer group prefix (today's groups stay)")
    func defaultKeepsItsPrefix() throws {
        var defaults = Self.defaults
        defaults.consumerGroupPrefix = "inbox"
        let declarations = try PoolsFile.parse("pools:\n  - name: default\n", defaults: defaults)
        #expect(declarations.settings(of: .default)?.consumerGroupPrefix == "inbox")
    }

    @Test("autoCreate: true makes number-only pools with the defaults, at most 1000; a mapping sets them")
    func autoCreate() throws {
        let on = try PoolsFile.parse("pools: []\nautoCreate: true\n", defaults: Self.defaults)
        #expect(on.autoCreate?.maxPools == 1000 && on.autoCreate?.settings.partitionCount == 0)
        let set = try PoolsFile.parse("pools: []\nautoCreate:\n  maxWorkers: 16\n  leaseTTL: 3s\n  maxPools: 5\n", defaults: Self.defaults)
        #expect(
            set.autoCreate?.maxPools == 5 && set.autoCreate?.settings.maxWorkers == 16 && set.autoCreate?.settings.leaseTTL == .seconds(3))
        #expect(try PoolsFile.parse("pools: []\nautoCreate: false\n", defaults: Self.defaults).autoCreate == nil)
    }

    @Test(
        "a bad file is refused with the pool and the field named",
        arguments: [
            ("pools:\n  - name: Payments\n", "pools[0]: name \"Payments\": a pool name is a DNS-1123 label"),
            ("pools:\n  - partitions: 3\n", "pools[0]: `name` is required"),
            ("pools:\n  - name: a\n  - name: a\n", "pool a is declared twice"),
            ("pools:\n  - name: a\n    partitions: -1\n", "pool a: partitions -1 must be a whole number in 0...65536"),
            ("pools:\n  - name: a\n    partitions: many\n", "pool a: partitions \"many\" must be a whole number"),
            ("pools:\n  - name: a\n    maxWorkers: 2000\n", "pool a: maxWorkers 2000 must be a whole number in 1...1024"),
            ("pools:\n  - name: a\n    leaseTTL: 10\n", "pool a: leaseTTL 10 must be a duration like 500ms, 2s or 1m"),
            (
                "pools:\n  - name: a\n    leaseTTL: 1s\n    heartbeatInterval: 2s\n",
                "pool a: heartbeatInterval (2.0 seconds) must be shorter than leaseTTL"
            ),
            ("pools:\n  - name: a\n    consumerGroupPrefix: \"a b\"\n", "pool a: consumerGroupPrefix \"a b\" a consumer group prefix is"),
            ("pools:\n  - name: a\n    leaseTtl: 10s\n", "pool a: unknown field `leaseTtl`"),
            ("pools:\n  - name: a\n    epsilon: 11\n", "pool a: epsilon 11 must be a number in"),
            ("pools:\n  - name: a\n    balance: weight\n", "pool a: balance \"weight\" must be count or load"),
            ("pools:\n  - name: a\n    moveBudget: 0\n", "pool a: moveBudget 0 must be a whole number in 1...65536"),
            ("pools:\n  - name: a\n    backlogSeconds: 0\n", "pool a: backlogSeconds 0 must be a number in"),
            ("pools:\n  - name: a\n    targetLoadPerWorker: 0\n", "pool a: targetLoadPerWorker 0 must be a number in"),
            ("pools:\n  - name: a\n    targetLoadPerWorker: lots\n", "pool a: targetLoadPerWorker \"lots\" must be a number in"),
            ("pools: []\nautoCreate:\n  targetLoadPerWorker: 5\n", "autoCreate: unknown field `targetLoadPerWorker`"),
            (
                "pools:\n  - name: a\n    partitions: 0\n    targetLoadPerWorker: 5\n",
                "pool a: targetLoadPerWorker needs partitions (a pool of numbers only reports no load)"
            ),
            ("pools:\n  - name: a\n    loadRoundInterval: soon\n", "pool a: loadRoundInterval \"soon\" must be a duration"),
            ("pools: []\nautoCreate:\n  balance: load\n", "autoCreate: unknown field `balance`"),
            ("pool:\n  - name: a\n", "the file: unknown field `pool`"),
            ("pools: a\n", "`pools` must be a list of pools"),
            ("- a\n", "the file must be a mapping"),
            ("pools: [\n", "not valid YAML"),
            ("pools: []\nautoCreate:\n  partitions: 4\n", "autoCreate: unknown field `partitions`"),
            ("pools: []\nautoCreate:\n  maxPools: 0\n", "autoCreate: maxPools 0 must be a whole number in 1...100000"),
            ("pools: []\nautoCreate: 3\n", "autoCreate must be true, false or a mapping"),
        ])
    func refusals(text: String, expected: String) {
        do {
            _ = try PoolsFile.parse(text, defaults: Self.defaults)
            Issue.record("accepted: \(text)")
        } catch {
            #expect(error.description.contains(expected), "\(error.description)")
        }
    }

    @Test("a file that declares nothing, or cannot be read, stops the start with the path and the reason")
    func startRefusals() throws {
        let folder = try SecretFolder()
        let empty = try folder.write("pools.yaml", "pools: []\n")
        #expect(throws: (any Error).self) { try PoolsFileWatcher.read(empty, defaults: Self.defaults) }
        do {
            _ = try PoolsFileWatcher.read(folder.url.path + "/missing.yaml", defaults: Self.defaults)
            Issue.record("a missing file was accepted")
        } catch {
            #expect("\(error)".contains("missing.yaml") && "\(error)".contains("cannot be read"), "\(error)")
        }
    }
}
