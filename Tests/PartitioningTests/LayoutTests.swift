import TestSupport
import Testing

@testable import Partitioning

struct LayoutTests {
    /// xxh64 over the owners table as Int32 LE values, -1 for unowned (as docs/layout_reference.py).
    static func digest(_ owners: [Int?]) -> UInt64 {
        XXHash64.hash(owners.flatMap { owner in withUnsafeBytes(of: Int32(owner ?? -1).littleEndian) { Array($0) } })
    }

    @Test("the layout equals the independent reference implementation in docs/layout_reference.py")
    func matchesReference() throws {
        #expect(try Layout(members: [0, 1, 2], partitionCount: 16).owners == [1, 2, 0, 1, 1, 2, 1, 2, 1, 2, 2, 0, 0, 2, 1, 0])
        #expect(try Layout(members: [5, 9], partitionCount: 8, epsilon: 0).owners == [5, 9, 9, 5, 9, 5, 5, 9])
        #expect(Self.digest(try Layout(members: 0..<64, partitionCount: 1024).owners) == 0x990D_7DF2_03F1_4B2F)
        #expect(Self.digest(try Layout(members: [3, 7, 8, 100, 1000], partitionCount: 1024).owners) == 0x7925_C9F7_8A80_E41A)
        #expect(Self.digest(try Layout(members: 0..<1500, partitionCount: 1024).owners) == 0xCBC4_D608_D0EE_2E53)
    }

    @Test("the shortlist walk gives the owners of the walk over every score, also when shortlists run out")
    func shortlistsMatchTheFullWalk() throws {
        var rng = SplitMix64(seed: 7)
        for trial in 0..<300 {
            let partitionCount = Int.random(in: 1...(trial % 5 == 0 ? 1024 : 300), using: &rng)
            let most = trial % 7 == 0 && partitionCount <= 300 ? 2 * partitionCount : 96
            let members = Self.randomMembers(count: Int.random(in: 1...most, using: &rng), using: &rng).sorted()
            // Epsilon 0 fills members exactly, so many partitions pass their first choices on.
            let capacity = Layout.capacity(partitionCount: partitionCount, memberCount: members.count, epsilon: [0.0, 0.1, 0.5][trial % 3])
            let expected = Self.ownersFromEveryScore(members: members, partitionCount: partitionCount, capacity: capacity)
            for depth in [1, 2, Layout.shortlistDepth] {
                let owners = Layout.boundedLoadOwners(
                    members: members, partitionCount: partitionCount, capacity: capacity, shortlistDepth: depth)
                #expect(owners == expected, "P=\(partitionCount) N=\(members.count) capacity=\(capacity) depth=\(depth)")
            }
        }
    }

    /// Step 3 of the specification read literally: every (partition, member) pair sorted by score, walked once.
    static func ownersFromEveryScore(members: [Int], partitionCount: Int, capacity: Int) -> [Int?] {
        var pairs: [(score: UInt64, partition: Int, index: Int)] = []
        for partition in 0..<partitionCount {
            for (index, member) in members.enumerated() {
                pairs.append((Layout.score(partition: partition, member: member), partition, index))
            }
        }
        pairs.sort { ($0.score, -$0.partition, -$0.index) > ($1.score, -$1.partition, -$1.index) }
        var owners = [Int?](repeating: nil, count: partitionCount)
        var load = [Int](repeating: 0, count: members.count)
        for pair in pairs where owners[pair.partition] == nil && load[pair.index] < capacity {
            owners[pair.partition] = members[pair.index]
            load[pair.index] += 1
        }
        return owners
    }

    @Test("the same inputs give the same layout, whatever the order or duplicates of the members")
    func deterministic() throws {
        var rng = SplitMix64(seed: 1)
        for _ in 0..<1000 {
            let members = Self.randomMembers(count: Int.random(in: 1...32, using: &rng), using: &rng)
            let partitionCount = Int.random(in: 1...256, using: &rng)
            let layout = try Layout(members: members, partitionCount: partitionCount)
            let shuffled = try Layout(members: members.shuffled(using: &rng) + members.prefix(2), partitionCount: partitionCount)
            #expect(layout == shuffled)
        }
    }

    @Test("no member owns more than ceil((1 + epsilon) * P / N), and every partition is owned")
    func boundedLoads() throws {
        var rng = SplitMix64(seed: 2)
        for trial in 0..<1000 {
            let partitionCount = trial % 4 == 0 ? 1024 : Int.random(in: 1...300, using: &rng)
            let memberCount = Int.random(in: 1...(trial % 10 == 0 ? 2 * partitionCount : 64), using: &rng)
            let epsilon = [0.0, 0.1, 0.25][trial % 3]
            let layout = try Layout(
                members: Self.randomMembers(count: memberCount, using: &rng), partitionCount: partitionCount, epsilon: epsilon)
            let bound = Int(((1 + epsilon) * Double(partitionCount) / Double(memberCount)).rounded(.up))
            #expect(layout.capacity == bound)
            #expect(layout.loads.values.allSatisfy { $0 <= bound })
            #expect(layout.owners.allSatisfy { $0 != nil })
        }
    }

    /// Movement depends on P / N: at epsilon 0.1 it stays near the ideal while each member owns 32
    /// or more partitions, and climbs past 1.25 x as P / N falls towards 16 (README.md has the table).
    @Test("at 1024 partitions and 2 to 32 members, a join or a leave moves on average at most 1.25 x the ideal P/N")
    func movementNearIdeal() throws {
        var rng = SplitMix64(seed: 3)
        var joinRatios: [Double] = []
        var leaveRatios: [Double] = []
        for _ in 0..<1000 {
            let members = Self.randomMembers(count: Int.random(in: 2...32, using: &rng), using: &rng)
            let before = try Layout(members: members.dropLast(), partitionCount: 1024)
            let after = try Layout(members: members, partitionCount: 1024)
            let ideal = 1024 / Double(members.count)
            joinRatios.append(Double(LayoutDiff(from: before.owners, to: after.owners).movedCount) / ideal)
            let leaver = members.randomElement(using: &rng)!
            let left = try Layout(members: members.filter { $0 != leaver }, partitionCount: 1024)
            leaveRatios.append(Double(LayoutDiff(from: after.owners, to: left.owners).movedCount) / ideal)
        }
        let meanJoin = joinRatios.reduce(0, +) / Double(joinRatios.count)
        let meanLeave = leaveRatios.reduce(0, +) / Double(leaveRatios.count)
        print(
            "movement / ideal over 1000 memberships: join mean \(meanJoin) worst \(joinRatios.max()!), leave mean \(meanLeave) worst \(leaveRatios.max()!)"
        )
        #expect(meanJoin <= 1.25)
        #expect(meanLeave <= 1.25)
        // Every partition the newcomer owns moved; nothing else should move more than the newcomer's share again.
        #expect(joinRatios.allSatisfy { $0 >= 0.5 })
    }

    @Test("a number that leaves and rejoins gets exactly its old partitions back")
    func leaveAndRejoinRestores() throws {
        var rng = SplitMix64(seed: 4)
        for _ in 0..<1000 {
            let members = Self.randomMembers(count: Int.random(in: 2...48, using: &rng), using: &rng)
            let partitionCount = Int.random(in: 16...512, using: &rng)
            let original = try Layout(members: members, partitionCount: partitionCount)
            let leaver = members.randomElement(using: &rng)!
            let without = try Layout(members: members.filter { $0 != leaver }, partitionCount: partitionCount)
            #expect(!without.owners.contains(leaver))
            let rejoined = try Layout(members: without.members + [leaver], partitionCount: partitionCount)
            #expect(rejoined.owners == original.owners)
        }
    }

    @Test("no members leave every partition unowned")
    func noMembers() throws {
        let layout = try Layout(members: [], partitionCount: 8)
        #expect(layout.owners == [Int?](repeating: nil, count: 8))
        #expect(layout.capacity == 0)
        #expect(layout.owner(ofPartition: 3) == nil)
    }

    @Test("more members than partitions give each partition one owner and each member at most one")
    func moreMembersThanPartitions() throws {
        let layout = try Layout(members: 0..<100, partitionCount: 10, epsilon: 0)
        #expect(layout.owners.allSatisfy { $0 != nil })
        #expect(Set(layout.owners.compactMap { $0 }).count == 10)
        #expect(layout.loads.values.filter { $0 == 0 }.count == 90)
    }

    @Test("bad inputs are refused with an error that names them")
    func refusesBadInput() {
        #expect(throws: LayoutError.invalidPartitionCount(0)) { try Layout(members: [1], partitionCount: 0) }
        #expect(throws: LayoutError.invalidEpsilon(-0.5)) { try Layout(members: [1], partitionCount: 4, epsilon: -0.5) }
        #expect(throws: LayoutError.invalidMember(-1)) { try Layout(members: [-1], partitionCount: 4) }
        #expect(throws: LayoutError.self) { try Layout(members: [1], partitionCount: 4, epsilon: .nan) }
    }

    @Test("partitions(ownedBy:), partitionsByMember and owner(ofPartition:) agree with the owners table")
    func accessors() throws {
        let layout = try Layout(members: [2, 4, 6], partitionCount: 30)
        for member in layout.members {
            #expect(layout.partitions(ownedBy: member).allSatisfy { layout.owner(ofPartition: $0) == member })
            #expect(layout.partitionsByMember[member] == layout.partitions(ownedBy: member))
        }
        #expect(try Layout(members: 0..<40, partitionCount: 8).partitionsByMember.values.filter(\.isEmpty).count == 32)
        #expect(layout.members.map { layout.partitions(ownedBy: $0).count }.reduce(0, +) == 30)
        #expect(layout.owner(ofPartition: 30) == nil)
        #expect(layout.owner(ofPartition: -1) == nil)
    }

    static func randomMembers(count: Int, using rng: inout SplitMix64) -> [Int] {
        var members = Set<Int>()
        while members.count < count { members.insert(Int.random(in: 0..<4096, using: &rng)) }
        return Array(members).shuffled(using: &rng)
    }
}
