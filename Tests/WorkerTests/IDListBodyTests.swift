import Coordination
import Foundation
import TestSupport
import Testing

@testable import Worker

struct IDListBodyTests {
    struct IDList: Codable, Equatable { var ids: [String] }

    @Test("the ids body is the JSON a JSONEncoder writes, byte for byte, for every length and digit count")
    func matchesJSONEncoder() throws {
        var rng = SplitMix64(seed: 11)
        var samples: [[SnowflakeID]] = [
            [], [SnowflakeID(rawValue: 0)], [SnowflakeID(rawValue: Int64.max)],
            (0..<19).map { SnowflakeID(rawValue: Int64(pow(10.0, Double($0)).rounded()) - 1) },
        ]
        for _ in 0..<200 {
            samples.append(
                (0..<Int.random(in: 1...4096, using: &rng)).map { _ in
                    SnowflakeID(rawValue: Int64.random(in: 0...Int64.max, using: &rng) >> Int.random(in: 0...62, using: &rng))
                })
        }
        for ids in samples {
            let body = IDListBody.encode(ids)
            let bytes = body.readableBytesView
            let expected = try JSONEncoder().encode(IDList(ids: ids.map(\.description)))
            #expect(Data(bytes) == expected)
            #expect(try JSONDecoder().decode(IDList.self, from: Data(bytes)).ids.map { Int64($0)! } == ids.map(\.rawValue))
        }
    }
}
