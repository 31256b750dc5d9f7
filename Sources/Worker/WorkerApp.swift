import AsyncHTTPClient
import Coordination
import Hummingbird
import Logging
import Prometheus
import RollcallClient
import RollcallKafka
import ServerSupport
import ServiceLifecycle
import Synchronization

/// One worker process: migrations, then the control-plane client, the partition worker and the HTTP
/// server (and, with KAFKA_BROKERS, the lease-bound Kafka consumer) in one ServiceGroup with graceful
/// shutdown on SIGTERM/SIGINT. The group shuts services down in reverse order: the HTTP server, the Kafka
/// consumer (it leaves its group; a requester stops before it), the worker (work stops), then the client
/// (the lease is released).
struct WorkerApp: Sendable {
    let configuration: WorkerConfiguration
    let logger: Logger

    func run() async throws {
        logger.info(
            "worker starting",
            metadata: [
                "version": "\(rollcallVersion)", "name": "\(configuration.name)", "port": "\(configuration.port)",
                "controlPlane": "\(configuration.controlPlaneURL)", "pool": "\(configuration.pool)",
            ])
        let store = WorkStore(configuration: configuration)
        try await migrate(store)
        await reportReplication(store)
        var clientConfiguration = RollcallClientConfiguration(
            baseURL: configuration.controlPlaneURL, name: configuration.name, authToken: configuration.authToken)
        clientConfiguration.authTokenFile = configuration.authTokenFile
        clientConfiguration.driftAllowance = configuration.driftAllowance
        clientConfiguration.pool = configuration.pool
        let http = try configuration.controlPlaneTLS?.makeHTTPClient()
        let client = RollcallClient(configuration: clientConfiguration, httpClient: http ?? .shared, logger: logger)
        let metrics = WorkerMetrics()
        let worker = PartitionWorker(client: client, store: store, configuration: configuration, metrics: metrics, logger: logger)
        // Registered whether or not Kafka is configured: the dashboard's series always exist.
        let kafkaMetrics = LeaseBoundConsumer.Metrics(factory: PrometheusMetricsFactory(registry: metrics.registry))
        let kafka = configuration.kafka.map { kafka in
            let name = configuration.name.rawValue
            let requests = Mutex<KafkaRequests?>(nil)
            let consumer = LeaseBoundConsumer(
                configuration: kafka, status: { client.status() },
                join: { membership in try await store.claimGroup(membership, worker: name) },
                handle: { records, membership in
                    guard try await store.recordReceipts(records, membership: membership, worker: name) else { return .fenced }
                    requests.withLock { $0 }?.received(records, membership: membership)
                    return .recorded
                },
                metrics: kafkaMetrics, logger: logger)
            let requester = configuration.kafkaRequests.map { requestsConfiguration in
                KafkaRequests(
                    configuration: requestsConfiguration, instance: { client.instance }, worker: name,
                    membership: { consumer.membership }, logger: logger)
            }
            requests.withLock { $0 = requester }
            return WorkerKafka(consumer: consumer, requests: requester)
        }

        let tls = try configuration.http.makeTLS(logger: logger)
        let router = Router(context: APIContext.self)
        router.add(middleware: ErrorMiddleware())
        router.add(middleware: CanonicalPathMiddleware())
        WorkerRoutes(worker: worker, kafka: kafka).register(on: router)
        let app = Application(
            router: router,
            server: configuration.http.server(tls: tls?.0),
            configuration: configuration.http.configuration(
                address: .hostname(configuration.host, port: configuration.port), serverName: "rollcall-worker"),
            services: [client, worker] + (kafka?.services ?? []) + (tls.map { [$0.1] } ?? []), logger: logger)
        do {
            try await app.runService()
        } catch {
            await store.shutdown()
            try? await http?.shutdown()
            throw error
        }
        await store.shutdown()
        try? await http?.shutdown()
    }

    /// Says at start what a PostgreSQL failover can lose here (docs/design.md, "PostgreSQL failover").
    private func reportReplication(_ store: WorkStore) async {
        do {
            let replication = try await store.pool.replication()
            if replication.waitsForStandby {
                logger.info(
                    "PostgreSQL replication is synchronous: a failover loses no acknowledged commit",
                    metadata: ["settings": "\(replication)"])
            } else {
                logger.warning(
                    "PostgreSQL commits do not wait for a standby: a failover to a standby may lose the last commits (the worker claims again what it lost; synchronous replication is recommended)",
                    metadata: ["settings": "\(replication)"])
            }
        } catch {
            logger.warning("could not read PostgreSQL's replication settings", metadata: ["error": "\(error)"])
        }
    }

    /// Migrations wait for Postgres: a worker started before its database keeps trying, it does not crash-loop.
    private func migrate(_ store: WorkStore) async throws {
        var attempt = 0
        while true {
            do {
                try await store.migrate()
                return
            } catch {
                attempt += 1
                logger.warning("migrations failed; retrying", metadata: ["attempt": "\(attempt)", "error": "\(error)"])
                try await Task.sleep(for: Backoff(base: .milliseconds(200), cap: .seconds(5)).ceiling(attempt: attempt))
            }
        }
    }
}

/// The worker's Kafka parts: the lease-bound consumer, and the requester when KAFKA_REQUEST_TOPIC is set.
struct WorkerKafka: Sendable {
    let consumer: LeaseBoundConsumer
    let requests: KafkaRequests?

    /// In start order: the group shuts the requester down before the consumer.
    var services: [any Service] { [consumer] + (requests.map { [$0] } ?? []) }
}
