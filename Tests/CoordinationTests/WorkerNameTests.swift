import Coordination
import Testing

struct WorkerNameTests {
    @Test(
        "names are DNS-1123 subdomains: pod names, dotted names, 253 characters",
        arguments: ["pod-a", "a", "0", "worker-7d9f-x.z", "a.b.c", "rollcall-worker-5c8d7b9f4-x2x9q", String(repeating: "a", count: 253)])
    func valid(name: String) { #expect(WorkerName(rawValue: name) != nil) }

    @Test(
        "anything else is refused: dots and dashes alone or at a label's edge, empty labels, other characters, 254 characters",
        arguments: [
            "", ".", "..", "-", "-a", "a-", ".a", "a.", "a..b", "a.-b", "a-.b", "Pod-A", "pod_a", "pod a", "pöd", "pod/a",
            String(repeating: "a", count: 254), "a\u{0}",
        ])
    func invalid(name: String) { #expect(WorkerName(rawValue: name) == nil) }
}
