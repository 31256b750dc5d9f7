import RollcallClient
import Testing

@testable import Worker

struct WorkerMetricsTests {
    @Test("a lost lease counts under its reason; a release at shutdown is not a loss")
    func leasesLostByReason() {
        let metrics = WorkerMetrics()
        metrics.leaseLost(.expired)
        metrics.leaseLost(.expired)
        metrics.leaseLost(.conflict)
        metrics.leaseLost(.released)
        let text = metrics.exposition()
        #expect(text.contains(#"rollcall_worker_leases_lost_total{reason="expired"} 2"#))
        #expect(text.contains(#"rollcall_worker_leases_lost_total{reason="conflict"} 1"#))
        #expect(text.contains(#"rollcall_worker_leases_lost_total{reason="replaced"} 0"#))
        #expect(text.contains(#"rollcall_worker_leases_lost_total{reason="unknownToStore"} 0"#))
        #expect(!text.contains("released"))
    }
}
