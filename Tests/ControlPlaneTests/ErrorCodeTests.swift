import Coordination
import ServerSupport
import Testing

@testable import ControlPlane

/// The one error vocabulary: the servers throw `ErrorCode`, docs/openapi.yaml lists the same codes.
struct ErrorCodeTests {
    @Test("docs/openapi.yaml's ErrorBody lists exactly the ErrorCode cases, in order")
    func openAPIListsEveryCode() throws {
        let lines = OpenAPIDocument.yaml.split(separator: "\n")
        let start = try #require(lines.firstIndex { $0.trimmingCharacters(in: .whitespaces) == "ErrorBody:" })
        let line = try #require(lines[start...].first { $0.trimmingCharacters(in: .whitespaces).hasPrefix("enum: [") })
        let listed = line.split(separator: "[")[1].split(separator: "]")[0].split(separator: ",").map {
            $0.trimmingCharacters(in: .whitespaces)
        }
        #expect(listed == ErrorCode.allCases.map(\.rawValue))
    }

    @Test("every refusal of the lease service answers with its code's status and a Retry-After where a retry can succeed")
    func refusalsMapToTheirStatus() {
        let name = WorkerName(rawValue: "pod-a")!
        let refusals: [(LeaseRefusal, Int, Bool)] = [
            (.invalid(.invalidHeld, "x"), 400, false), (.stale(instance: "i"), 409, false), (.kindMismatch(name, .member), 409, false),
            (.heldByAnother(name, retryAfterMillis: 1500), 409, true), (.changingHands(name), 409, false), (.unknownName(name), 404, false),
            (.exhausted(maxWorkers: 4, retryAfterMillis: 10), 503, true), (.recovering(retryAfterMillis: 10), 503, true),
            (.notReplicated("x"), 503, true), (.storeUnavailable("x"), 503, true),
        ]
        for (refusal, status, retries) in refusals {
            let error = APIError(refusal)
            #expect(Int(error.status.code) == status, "\(refusal)")
            #expect((error.retryAfterMillis != nil) == retries, "\(refusal)")
            #expect(error.code == refusal.code && !error.message.isEmpty)
        }
    }
}
