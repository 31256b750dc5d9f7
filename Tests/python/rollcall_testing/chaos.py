"""Rollcall's own fault suite: real processes on loopback under a seeded storm of faults, with the
system's promises checked continuously.

  scripts/chaos [--duration SECONDS] [--seed N] [--faults N] [--lease-ttl MS] [--redis single|sentinel]
                [--postgres standby|single] [--inject split-brain|lost-commits|kafka-intruder] [--no-kafka]

Starts Redis (AOF), PostgreSQL (a primary and a streaming standby), control planes behind a round-robin TCP proxy (a Kubernetes Service
stand-in: a paused replica still takes connections), workers, and simulated wire-format clients.
The storm (the same seed gives the same schedule): worker SIGKILL + restart (same or new name),
SIGSTOP 0.5-6 s, SIGTERM + restart; control-plane SIGKILL + restart and SIGSTOP 1-4 s (requests
held inside a paused replica run late: the late-request fault); PostgreSQL restart; Redis restart
with AOF (SIGKILL: the last second of writes may be lost); Redis replaced by an empty one.

PostgreSQL failovers (unless `--postgres single`): the primary SIGKILLed, the standby promoted
(`pg_ctl promote`) and a new standby built from it (`pg_basebackup`) where the old primary was; the
workers' DATABASE_URL names both. Synchronous (`synchronous_standby_names`): no row may go back and no
claim epoch down against a snapshot taken just before the kill. Asynchronous: the standby first stops
receiving while a worker is paused past its lease, so the handoff of its partitions is committed on
the old primary only and lost; the worker resumes after the promotion.

`--redis sentinel` runs a primary, two replicas (AOF each) and three Sentinels instead (quorum 2,
down-after 1 s), control planes that find the primary through the Sentinels and WAIT for one replica
(REDIS_MIN_REPLICAS=1), and these Redis faults instead of restart and wipe: the primary SIGKILLed and
restarted 0.1-4 s later (before or after its replacement is promoted); the primary SIGSTOPped 1.5-4.5 s
(past down-after, so it is replaced, then comes back as a stale primary and is demoted); a
`SENTINEL FAILOVER`; a Sentinel SIGKILLed and restarted.

Three pools at once, from one POOLS_FILE: `default` (1024 partitions, --lease-ttl; the workers and
most simulated clients, on the routes without a pool), `fast` (64 partitions, half the TTL, 8 numbers;
simulated clients) and `tags` (numbers only, 6 numbers, twice the TTL; simulated number-only
clients). Among the faults: a flood of 40 new names into `tags` for 3 s (its numbers exhausted). The
store and belief checks below run per pool, and are counted per pool. After the storm, the isolation
check: `fast`'s clients heartbeat through 8 s of quiet and then 8 s of a storm in `tags` (its clients
silenced, a flood of new names, numbers exhausted): no `fast` lease may change; the latency of `fast`'s
heartbeats in both windows is printed (p50, p99 and their ratio: measured, not asserted).

Invariants, each counted and printed:
  - `hgetall workers` every 100 ms: no number held by two names;
  - every worker's /v1/status every 100 ms: no two workers safe with one number;
  - every Snowflake id from every worker's /v1/ids: no duplicate, and none issued in a millisecond in
    which the store showed its number held by another worker (the samples on both sides agree);
  - PostgreSQL audit triggers: every write made by the partition's owner, no partition epoch going down
    (reported to the server logs, which keep what an asynchronous failover loses);
  - synchronous PostgreSQL failovers: no row gone back, no claim epoch gone down;
  - simulated clients (honest held, random silences) record when each believed itself safe: no two
    names safe on one number or one partition at the same moment;
  - after the storm: every partition owned by a live worker, every row advancing.
Then one synchronous and one asynchronous PostgreSQL failover with no other fault, timed from the
primary's SIGKILL until the standby accepts writes and until every partition's rows were written again.
Then Redis is wiped once more with no other fault, and the time until every worker is safe and every
partition claimed again is measured (in Sentinel mode: the primary is SIGKILLed three times, and the
time until the next successful heartbeat and until every worker is safe again is measured). Exit
status 1 on any violation.

Kafka, unless `--no-kafka` (rollcall_testing/chaos_kafka.py says what it checks): a broker, a steady
producer, every worker consuming its number's consumer group and recording receipts in PostgreSQL, a
sampler of every group's members, and a broker restart among the faults.

Everything runs as in production, unless `--plain`: HTTPS only (a CA made here; the workers check the
control planes against it, their own servers serve HTTPS too), each worker and each simulated client
proven by its own pod-bound service-account token from a local OIDC issuer (rollcall_testing/identity.py;
the control planes verify them by discovery and signature, and accept a name only from its own token),
the checkers reading with the admin token, and a rate limit every caller is under. Any 401 or 403 to a
simulated client is a violation: a legitimate caller refused.

`--inject split-brain` adds a worker whose control plane uses a Redis of its own: two coordinators
for one fleet. `--inject lost-commits` makes every synchronous PostgreSQL failover lose the last
second of commits (the standby stops receiving first), as a standby wrongly believed synchronous.
`--inject kafka-intruder` has a process with no lease join a number's consumer group for a few seconds
and write a receipt under an epoch that never claimed the group. The checks must turn red; Tests/python/test_chaos.py runs it to show they can.
"""

import argparse
import bisect
import http.client
import json
import os
import random
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid

import redis

from rollcall_testing import chaos_kafka
from rollcall_testing import http as rollcall_http
from rollcall_testing.http import http_json
from rollcall_testing.identity import Issuer
from rollcall_testing.paths import binaries, shell
from rollcall_testing.ports import free_port
from rollcall_testing.postgres import Postgres
from rollcall_testing.processes import Proc, kill_pidfile, wait_port_free

PARTITIONS = 1024
# The storm's pools: (name, partitions, maxWorkers, TTL as a multiple of --lease-ttl, simulated clients as a
# share of --simulated). `default`'s keys and routes are the ones without a pool.
POOLS = [("default", PARTITIONS, 1024, 1.0, 0.5), ("fast", 64, 8, 0.5, 0.25), ("tags", 0, 6, 2.0, 0.25)]
SNOWFLAKE_ORIGIN_MS = 1_704_067_200_000  # SnowflakeID.defaultOriginMillis
REDIS_ERRORS = (OSError, ValueError, redis.RedisError)
# (pool, its workers hash, its expiry zset, its quarantine zset): what an operator reads with `redis-cli hgetall`.
POOL_KEYS = [("default", "workers", "rollcall:expiry", "rollcall:quarantine")] + [
    (name, f"rollcall:{{{name}}}:workers", f"rollcall:{{{name}}}:expiry", f"rollcall:{{{name}}}:quarantine")
    for name, *_ in POOLS if name != "default"]


def log(message):
    print(f"[chaos {time.strftime('%H:%M:%S')}] {message}", flush=True)


def redis_client(port):
    """A redis-py client of the node at 127.0.0.1:`port`, strings decoded, a 1 s timeout."""
    return redis.Redis(host="127.0.0.1", port=port, socket_timeout=1, socket_connect_timeout=1, decode_responses=True)


class Proxy:
    """Round robin over backends per connection, like a Service; a paused backend still accepts.
    Runs as its own process (`python -m rollcall_testing.chaos --proxy PORT BACKEND...`), so the checkers' threads in
    this one never slow the workers' heartbeats."""

    def __init__(self, port, backends):
        self.backends = backends
        self.next = 0
        self.server = socket.socket()
        self.server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.server.bind(("127.0.0.1", port))
        self.server.listen(512)

    def serve_forever(self):
        while True:
            client, _ = self.server.accept()
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client):
        upstream = None
        for _ in range(len(self.backends)):
            port = self.backends[self.next % len(self.backends)]
            self.next += 1
            try:
                upstream = socket.create_connection(("127.0.0.1", port), timeout=0.5)
                break
            except OSError:
                continue
        if upstream is None:
            client.close()
            return
        upstream.settimeout(None)
        sockets = [client, upstream]
        try:
            while True:
                readable, _, _ = select.select(sockets, [], [], 60)
                if not readable:
                    break
                for s in readable:
                    data = s.recv(65536)
                    if not data:
                        raise OSError
                    (upstream if s is client else client).sendall(data)
        except OSError:
            pass
        finally:
            client.close()
            upstream.close()


class Beliefs:
    """When each simulated client believed it held a number or a partition, on one monotonic clock."""

    def __init__(self):
        self.lock = threading.Lock()
        self.closed = []  # (key, name, start, end)

    def add(self, key, name, start, end):
        if end > start:
            with self.lock:
                self.closed.append((key, name, start, end))

    def overlaps(self):
        by_key = {}
        for key, name, start, end in self.closed:
            by_key.setdefault(key, []).append((start, end, name))
        found = []
        for key, spans in by_key.items():
            spans.sort()
            latest_end, latest_name = -1.0, None
            for start, end, name in spans:
                if start < latest_end and name != latest_name:
                    found.append((key, latest_name, name, latest_end - start, start))
                if end > latest_end:
                    latest_end, latest_name = end, name
        return found


class SimulatedClient(threading.Thread):
    """A client of the wire format written here: honest `held`, random silences, its own safety clock."""

    def __init__(self, suite, index, pool="default", stop=None, interval=None, prefix="sim", silences=True):
        super().__init__(daemon=True)
        self.suite, self.name, self.pool = suite, f"{prefix}-{index}", pool
        self.ttl, self.interval = suite.pool_ttl[pool], interval or suite.pool_interval[pool]
        self.stop, self.silences = stop or suite.sims_stop, silences
        self.answers = {}  # "status error" -> count
        self.path = "/v1/workers" if pool == "default" else f"/v1/pools/{pool}/workers"
        # In the numbers-only pool every other client asks for a number-only lease.
        self.kind = "numberOnly" if pool == "tags" and index % 2 else None
        self.silenced = threading.Event()  # the isolation check silences a pool's clients
        self.changes = 0  # leases that ended (lost, replaced, refused) while this client was not silent
        self.latencies = []  # (monotonic time sent, seconds) of every answered heartbeat
        self.rng = random.Random(suite.seed * 1000 + index)
        self.instance = uuid.UUID(int=self.rng.getrandbits(128)).hex
        self.sequence = 0
        self.lease = None  # (number, epoch)
        self.deadline = 0.0
        self.since = 0.0
        self.grants = {}  # partition -> (epoch, since)
        self.generation = None

    def end_all(self, at):
        if self.lease:
            self.suite.beliefs.add((self.pool, "number", self.lease[0]), self.name, self.since, min(at, self.deadline))
            self.changes += 1
        for p, (_, since) in self.grants.items():
            self.suite.beliefs.add((self.pool, "partition", p), self.name, since, min(at, self.deadline))
        self.lease, self.grants = None, {}

    def run(self):
        ttl, interval = self.ttl, self.interval
        while not self.stop.is_set():
            if self.silenced.is_set():
                time.sleep(0.05)
                continue
            if self.silences and self.rng.random() < 0.03 and not self.suite.quiet.is_set():
                time.sleep(self.rng.uniform(0.3, ttl * 1.5))
            now = time.monotonic()
            if self.lease and now >= self.deadline:
                self.end_all(self.deadline)
            self.sequence += 1
            held = sorted(self.grants)
            body = {"instance": self.instance, "sequence": self.sequence, "held": held}
            if self.kind:
                body["kind"] = self.kind
            if self.generation:
                body["generation"] = self.generation
            if self.lease:
                body.update(number=self.lease[0], epoch=self.lease[1], heldEpochs=[self.grants[p][0] for p in held])
            port = self.rng.choice(self.suite.cp_ports)
            sent = time.monotonic()
            try:
                status, answer = http_json(port, "POST", f"{self.path}/{self.name}/heartbeat", body, timeout=interval)
            except OSError:
                self.latencies.append((sent, float("inf")))
                time.sleep(self.rng.uniform(0.05, interval))
                continue
            received = time.monotonic()
            self.latencies.append((sent, received - sent))
            key = f"{status} {(answer or {}).get('error', '')}".strip()
            self.answers[key] = self.answers.get(key, 0) + 1
            if received - sent > interval:
                continue
            revoked = False
            if status == 200 and answer:
                self.generation = answer.get("generation")
                lease = (answer["number"], answer["epoch"])
                if self.lease and self.lease != lease:
                    self.end_all(received)
                if not self.lease:
                    self.since = received
                self.lease = lease
                self.deadline = max(self.deadline if self.lease == lease else 0, sent + ttl * 0.9)
                current = dict(zip(answer["partitions"], answer["partitionEpochs"]))
                for p in list(self.grants):
                    if current.get(p) != self.grants[p][0]:
                        self.suite.beliefs.add((self.pool, "partition", p), self.name, self.grants[p][1], min(received, self.deadline))
                        del self.grants[p]
                        revoked = True
                for p, epoch in current.items():
                    if p not in self.grants:
                        self.grants[p] = (epoch, received)
                revoked = revoked or bool(answer.get("revoked"))
            elif status == 409 and answer and answer.get("error") == "stale_request":
                self.suite.count("sim stale answers")
            elif status == 409 or (status == 503 and answer and answer.get("error") == "recovering"):
                self.end_all(received)
            elapsed = time.monotonic() - sent
            if not revoked:
                time.sleep(max(0.0, interval - elapsed))
        self.end_all(time.monotonic())
        try:
            http_json(self.suite.cp_ports[0], "DELETE", f"{self.path}/{self.name}?instance={self.instance}", timeout=2)
        except OSError:
            pass


class Suite:
    def __init__(self, args):
        self.args = args
        self.seed = args.seed
        self.ttl = args.lease_ttl / 1000
        # The product's defaults at the default TTL (1 s, 2 s); a quarter of a shorter TTL.
        self.interval = max(min(self.ttl / 4, 1.0), 0.25)
        self.quarantine = max(min(self.ttl / 4, 2.0), 0.25)
        self.pool_ttl = {name: self.ttl * factor for name, _, _, factor, _ in POOLS}
        self.pool_interval = {name: max(min(ttl / 4, 1.0), 0.25) for name, ttl in self.pool_ttl.items()}
        self.quiet = threading.Event()  # set during the isolation check: no random silences
        self.flooded = 1000  # the next flood client's index (its name and seed), apart from the simulated clients
        self.dir = tempfile.mkdtemp(prefix="rollcall-chaos.")
        os.chmod(self.dir, 0o755)
        self.stopping = threading.Event()
        self.sims_stop = threading.Event()
        self.lock = threading.Lock()
        self.counters = {}
        self.violations = {}
        self.examples = {}
        self.beliefs = Beliefs()
        self.ids = set()
        self.id_batches = []  # (issuer, [(timestamp ms, number)]) per /v1/ids answer, distinct pairs only
        self.store_samples = []  # (wall ms, {number: names}, Redis port) from hgetall workers
        self.taken_samples = []  # per sample: how many numbers were held or quarantined (the default pool)
        self.started_ms, self.started_monotonic = time.time() * 1000, time.monotonic()
        self.redis_lock = threading.Lock()
        self.sentinel = args.redis == "sentinel"
        self.ha_dir = f"{self.dir}/redis-ha"
        self.paused_nodes = set()
        self.pg = Postgres(self.dir, standby=args.postgres == "standby")
        self.secure = not args.plain
        self.issuer = None
        self.kafka = None if args.no_kafka else chaos_kafka.KafkaChecks(self)

    # --- bookkeeping -------------------------------------------------------------------------
    def count(self, what, n=1):
        with self.lock:
            self.counters[what] = self.counters.get(what, 0) + n

    def violation(self, what, example, n=1):
        with self.lock:
            self.violations[what] = self.violations.get(what, 0) + n
            self.examples.setdefault(what, example)

    # --- processes ---------------------------------------------------------------------------
    def start_security(self):
        """TLS and identities: a CA and a certificate for 127.0.0.1, the issuer of the pods' tokens, the
        admin token the checkers read with; every request of this process from now on is HTTPS with the
        token of the name it acts as."""
        shell(f"rollcall_make_certificates {self.dir}/tls")
        self.ca_file = f"{self.dir}/tls/ca.pem"
        self.issuer = Issuer()
        self.admin_token = uuid.uuid4().hex
        os.makedirs(f"{self.dir}/tokens", exist_ok=True)
        rollcall_http.secure(self.ca_file, lambda name: self.issuer.token(name) if name else self.admin_token)

    def control_plane_env(self, **extra):
        env = self.env(**extra)
        if self.secure:
            env.update(TLS_CERT_FILE=f"{self.dir}/tls/server.pem", TLS_KEY_FILE=f"{self.dir}/tls/server.key",
                       AUTH_TOKEN=self.admin_token, AUTH_OIDC_ISSUER=self.issuer.url, RATE_LIMIT="200/s", RATE_LIMIT_BURST="400")
        return env

    def worker_env(self, name, control_plane_port, **extra):
        """A worker's environment: its own token in a file (as the kubelet projects it), HTTPS both ways."""
        scheme = "https" if self.secure else "http"
        env = self.env(POD_NAME=name, CONTROL_PLANE_URL=f"{scheme}://127.0.0.1:{control_plane_port}", **extra)
        if self.kafka:
            env.update(self.kafka.worker_env())
        if self.secure:
            path = f"{self.dir}/tokens/{name}"
            with open(path, "w") as file:
                file.write(self.issuer.token(name))
            env.update(AUTH_TOKEN_FILE=path, CONTROL_PLANE_CA_FILE=self.ca_file,
                       TLS_CERT_FILE=f"{self.dir}/tls/server.pem", TLS_KEY_FILE=f"{self.dir}/tls/server.key")
        return env

    def start(self):
        self.bin = binaries("control-plane", "worker")
        if self.secure:
            self.start_security()
        self.redis_port = free_port()
        if self.sentinel:
            shell(f"ROLLCALL_REDIS_HA_PERSIST=1 rollcall_redis_ha_start {self.ha_dir}")
            self.node_ports = [int(open(f"{self.ha_dir}/node{i}/port").read()) for i in range(3)]
            self.sentinel_ports = [int(open(f"{self.ha_dir}/sentinel{i}/port").read()) for i in range(3)]
        else:
            self.start_redis()
        self.pg.start()
        self.database_url = self.pg.url()
        if self.kafka:
            self.kafka.start()
        env = self.env()
        subprocess.run([f"{self.bin}/worker", "migrate"], env=env, check=True, capture_output=True)
        subprocess.run([f"{self.bin}/worker", "seed", "--items", str(self.args.items)], env=env, check=True, capture_output=True)
        self.pg.install_audit()
        if self.kafka:
            self.kafka.install_audit()
        if self.pg.standby:
            self.pg.start_standby()

        self.pools_file = f"{self.dir}/pools.yaml"
        with open(self.pools_file, "w") as f:
            f.write("pools:\n")
            for name, partitions, max_workers, _, _ in POOLS:
                f.write(f"  - name: {name}\n    partitions: {partitions}\n    maxWorkers: {max_workers}\n"
                        f"    leaseTTL: {int(self.pool_ttl[name] * 1000)}ms\n    heartbeatInterval: {int(self.pool_interval[name] * 1000)}ms\n")
        self.cp_ports = [free_port() for _ in range(self.args.control_planes)]
        self.cps = []
        for i, port in enumerate(self.cp_ports):
            cp = Proc(f"control-plane-{i}", [f"{self.bin}/control-plane"], self.control_plane_env(PORT=port, HOST="127.0.0.1"),
                      f"{self.dir}/control-plane-{i}.log")
            cp.start()
            self.cps.append(cp)
        self.proxy_port = free_port()
        package = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        self.proxy = Proc("proxy", [sys.executable, "-m", "rollcall_testing.chaos", "--proxy", str(self.proxy_port)]
                          + [str(p) for p in self.cp_ports], dict(os.environ, PYTHONPATH=package), f"{self.dir}/proxy.log")
        self.proxy.start()
        for port in self.cp_ports:
            self.wait_http(port, "/readyz")
        self.workers = []
        for i in range(self.args.workers):
            self.workers.append({"slot": i, "name": f"worker-{i}", "port": free_port(), "proc": None, "generation": 0})
            self.start_worker(self.workers[-1])
        if self.args.inject == "split-brain":
            self.start_rogue()

    def env(self, **extra):
        env = dict(os.environ)
        env.update(REDIS_URL=f"redis://127.0.0.1:{self.redis_port}", DATABASE_URL=getattr(self, "database_url", ""),
                   LEASE_TTL=f"{int(self.ttl * 1000)}ms", HEARTBEAT_INTERVAL=f"{int(self.interval * 1000)}ms",
                   NUMBER_QUARANTINE=f"{int(self.quarantine * 1000)}ms", WORK_INTERVAL="200ms", LOG_LEVEL="info")
        if hasattr(self, "pools_file"):
            env["POOLS_FILE"] = self.pools_file
        if self.sentinel:
            env.update(REDIS_SENTINELS=",".join(f"127.0.0.1:{p}" for p in self.sentinel_ports),
                       REDIS_SENTINEL_MASTER="mymaster", REDIS_MIN_REPLICAS="1")
        env.update({k: str(v) for k, v in extra.items()})
        return env

    def primary_port(self):
        """The Redis that holds the store: the one node, or the primary the first answering Sentinel names."""
        if not self.sentinel:
            return self.redis_port
        for port in self.sentinel_ports:
            try:
                with redis_client(port) as sentinel:
                    answer = sentinel.sentinel_get_master_addr_by_name("mymaster")
                if answer:
                    return int(answer[1])
            except REDIS_ERRORS:
                continue
        raise OSError("no Sentinel answered")

    def ha_node(self, port):
        return self.node_ports.index(port)

    def start_redis(self, wipe=False):
        redis_dir = f"{self.dir}/redis"
        if wipe:
            shutil.rmtree(redis_dir, ignore_errors=True)
        shell(f"ROLLCALL_REDIS_PERSIST=1 rollcall_start_redis {redis_dir} {self.redis_port}")

    def kill_redis(self):
        kill_pidfile(f"{self.dir}/redis/redis.pid")
        # The next start binds the same port: wait until nothing holds it (in one fresh-clone run the
        # restart after the wipe found it still in use).
        wait_port_free(self.redis_port)

    def ha_pid(self, what, index):
        return int(open(f"{self.ha_dir}/{what}{index}/{'redis' if what == 'node' else 'sentinel'}.pid").read())

    def start_worker(self, worker):
        worker["proc"] = Proc(worker["name"], [f"{self.bin}/worker"],
                              self.worker_env(worker["name"], self.proxy_port, PORT=worker["port"], HOST="127.0.0.1"),
                              f"{self.dir}/{worker['name']}.log")
        worker["proc"].start()

    def start_rogue(self):
        """Split brain on purpose: a control plane with a Redis of its own, and a worker through it."""
        port = free_port()
        shell(f"rollcall_start_redis {self.dir}/rogue-redis {port}")
        cp_port = free_port()
        env = self.control_plane_env(PORT=cp_port, HOST="127.0.0.1")
        env["REDIS_URL"] = f"redis://127.0.0.1:{port}"
        self.rogue_cp = Proc("rogue-control-plane", [f"{self.bin}/control-plane"], env, f"{self.dir}/rogue-cp.log")
        self.rogue_cp.start()
        self.wait_http(cp_port, "/readyz")
        rogue = {"slot": len(self.workers), "name": "rogue-0", "port": free_port(), "proc": None, "generation": 0, "rogue": True}
        rogue["proc"] = Proc("rogue-0", [f"{self.bin}/worker"],
                             self.worker_env("rogue-0", cp_port, PORT=rogue["port"], HOST="127.0.0.1"),
                             f"{self.dir}/rogue-0.log")
        rogue["proc"].start()
        self.workers.append(rogue)

    def wait_http(self, port, path, seconds=20):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                if http_json(port, "GET", path, timeout=0.5)[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"port {port} did not answer {path}")

    def psql(self, sql):
        return self.pg.psql(sql)

    # --- checkers ----------------------------------------------------------------------------
    SAMPLE_SCRIPT = """
        local t = redis.call('TIME')
        local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
        local flat = redis.call('HGETALL', KEYS[1])
        local live = {}
        for i = 1, #flat, 2 do
            local expiry = tonumber(redis.call('ZSCORE', KEYS[2], flat[i]))
            if expiry and expiry >= now then live[#live + 1] = flat[i] end
        end
        return {flat, live, redis.call('ZRANGEBYSCORE', KEYS[3], now, '+inf')}
    """

    def sample_workers_hash(self):
        client, client_port = None, None
        while not self.stopping.is_set():
            try:
                # Against the primary the Sentinels name now, as an operator's redis-cli would be: a demoted
                # primary keeps serving what it had (and writes nobody acknowledged) until it resyncs.
                port = self.primary_port()
                if client is None or client_port != port:
                    if client:
                        client.close()
                    client, client_port = redis_client(port), port
                # One atomic read: every record, and which leases had not expired by the store's clock. An
                # expired record waits for the reaper (or, on a just-promoted replica, for the first script);
                # its worker stopped by its own clock before the store's expiry, so it holds nothing.
                for pool, workers_key, expiry_key, quarantine_key in POOL_KEYS:
                    flat, live, quarantined = client.eval(self.SAMPLE_SCRIPT, 3, workers_key, expiry_key, quarantine_key) or [[], [], []]
                    at = time.time() * 1000
                    holders, live_holders = {}, {}
                    for name, record in zip(flat[0::2], flat[1::2]):
                        number = json.loads(record)["number"]
                        holders.setdefault(number, []).append(name)
                        if name in live:
                            live_holders.setdefault(number, set()).add(name)
                    if pool == "default":
                        with self.lock:
                            self.store_samples.append((at, live_holders, client_port))
                            # Numbers no newcomer can get now: held (expired or not, until reaped) or quarantined.
                            self.taken_samples.append(len(set(holders) | {int(n) for n in quarantined}))
                    self.count(f"workers-hash samples [{pool}]")
                    for number, names in holders.items():
                        if len(names) > 1:
                            self.violation(f"number held by two names (hgetall workers) [{pool}]", f"number {number}: {names}")
            except REDIS_ERRORS + (KeyError,):
                if client:
                    client.close()
                client = None
            time.sleep(0.1)

    def sample_statuses(self):
        while not self.stopping.is_set():
            safe = {}
            for worker in list(self.workers):
                proc = worker["proc"]
                if not proc or not proc.alive() or proc.paused:
                    continue
                try:
                    status, body = http_json(worker["port"], "GET", "/v1/status", timeout=0.3)
                except OSError:
                    continue
                if status == 200 and body and body.get("safe"):
                    safe.setdefault(body["number"], []).append(worker["name"])
            self.count("status rounds")
            for number, names in safe.items():
                if len(names) > 1:
                    self.violation("two workers safe with one number (/v1/status)", f"number {number}: {names}")
            time.sleep(0.1)

    def poll_ids(self, worker):
        conn = None
        while not self.stopping.is_set():
            proc = worker["proc"]
            if not proc or not proc.alive() or proc.paused:
                time.sleep(0.05)
                continue
            name = worker["name"]
            try:
                if conn is None:
                    conn = rollcall_http.connection(worker["port"], timeout=0.5)
                conn.request("GET", "/v1/ids?count=32")
                response = conn.getresponse()
                data = response.read()
                if response.status == 200:
                    ids = [int(i) for i in json.loads(data)["ids"]]
                    stamps = sorted({((i >> 22) + SNOWFLAKE_ORIGIN_MS, (i >> 12) & 1023) for i in ids})
                    with self.lock:
                        before = len(self.ids)
                        self.ids.update(ids)
                        duplicates = len(ids) - (len(self.ids) - before)
                        self.id_batches.append((name, stamps))
                    self.count("ids issued", len(ids))
                    if duplicates:
                        self.violation("duplicate Snowflake ids", f"{duplicates} from {name}", duplicates)
            except (OSError, http.client.HTTPException, ValueError, KeyError):
                if conn:
                    conn.close()
                conn = None
            time.sleep(0.05)

    SCRAPED = {
        'rollcall_heartbeats_total{outcome="stale"}': "late or duplicated heartbeats refused (stale)",
        'rollcall_heartbeats_total{outcome="recovering"}': "heartbeats answered 'recovering'",
        "rollcall_leases_adopted_total": "leases re-adopted after lost state",
        "rollcall_store_generation_changes_total": "store generation changes seen by a replica",
        'rollcall_heartbeats_total{outcome="unreplicated"}': "heartbeats answered 'not_replicated'",
        "rollcall_redis_primary_changes_total": "Redis primary changes followed by a replica",
    }

    def scrape_control_planes(self):
        """Sums the control planes' counters across their restarts (a counter that drops restarted)."""
        last = {}
        while not self.stopping.is_set():
            for port in self.cp_ports:
                try:
                    conn = rollcall_http.connection(port, timeout=0.5)
                    conn.request("GET", "/metrics")
                    text = conn.getresponse().read().decode()
                    conn.close()
                except (OSError, http.client.HTTPException):
                    continue
                for line in text.splitlines():
                    metric, _, value = line.rpartition(" ")
                    # Every pool's series count together: the pool label is dropped for the lookup, kept in the key.
                    what = self.SCRAPED.get(re.sub(r'pool="[^"]*",?', "", metric).replace("{}", ""))
                    if what:
                        value = int(float(value))
                        previous = last.get((port, metric), 0)
                        self.count(what, value - previous if value >= previous else value)
                        last[(port, metric)] = value
            time.sleep(0.5)

    # --- the storm ---------------------------------------------------------------------------
    def fault_kinds(self):
        """The storm's fault kinds and their weights, for this suite's Redis and PostgreSQL."""
        kinds = {"worker-kill": 4, "worker-stop": 4, "worker-term": 2, "cp-kill": 2, "cp-stop": 4, "postgres-restart": 1, "pool-flood": 1}
        if self.pg.standby:
            kinds.update({"postgres-failover-sync": 1, "postgres-failover-async": 1})
        if self.sentinel:
            kinds.update({"primary-kill": 2, "primary-stop": 2, "sentinel-failover": 1, "sentinel-kill": 1})
        else:
            kinds.update({"redis-restart": 1, "redis-wipe": 1})
        if self.kafka:
            kinds["broker-restart"] = 1
        if self.args.kinds:
            kinds = {kind: weight for kind, weight in kinds.items() if kind in self.args.kinds}
        return list(kinds), list(kinds.values())

    def schedule(self):
        rng = random.Random(self.seed)
        count = self.args.faults
        all_kinds, weights = self.fault_kinds()
        kinds = all_kinds[:] if count >= len(all_kinds) else []
        rng.shuffle(kinds)
        kinds += rng.choices(all_kinds, weights, k=count - len(kinds))
        span = self.args.duration - 5
        times = sorted(rng.uniform(2, span) for _ in range(count))
        plan = []
        for at, kind in zip(times, kinds):
            plan.append((at, kind, rng.randrange(1 << 30), rng.random()))
        return plan

    def flood(self, pool, seconds, names=40):
        """`names` new simulated clients heartbeat into `pool` every 250 ms for `seconds`, most refused (its
        numbers exhausted), and release what they got; their beliefs are checked like every client's.
        Returns the answers by status."""
        stop = threading.Event()
        clients = [SimulatedClient(self, self.flooded + i, pool, stop=stop, interval=0.25, prefix="flood", silences=False)
                   for i in range(names)]
        self.flooded += names
        if self.issuer:
            # Their tokens first, as each pod has its own before it starts: minting one (pure-Python ECDSA)
            # while the others run would stall this process's threads, the quiet pool's clients among them.
            for client in clients:
                self.issuer.token(client.name)
        for client in clients:
            client.start()
        time.sleep(seconds)
        stop.set()
        for client in clients:
            client.join(timeout=5)
        answers = {}
        for client in clients:
            for key, n in client.answers.items():
                answers[key] = answers.get(key, 0) + n
        self.count(f"flood answers 'no_number_available' [{pool}]", answers.get("503 no_number_available", 0))
        return answers

    def fault(self, kind, target, x):
        rng = random.Random(target)
        real = [w for w in self.workers if not w.get("rogue")]
        if kind == "pool-flood":
            answers = self.flood("tags", 3)
            return f"40 new names flooded pool tags for 3 s: {answers}"
        if kind == "broker-restart":
            return self.kafka.restart_broker(x)
        if kind.startswith("worker"):
            worker = real[target % len(real)]
            proc = worker["proc"]
            if kind == "worker-stop":
                seconds = 0.5 + 5.5 * x
                if self.kafka:
                    self.kafka.paused(worker["name"], seconds)
                proc.send(signal.SIGSTOP)
                threading.Timer(seconds, proc.send, args=(signal.SIGCONT,)).start()
                return f"{worker['name']} SIGSTOP {seconds:.1f}s"
            proc.stop(signal.SIGKILL if kind == "worker-kill" else signal.SIGTERM)
            time.sleep(0.2 + 1.5 * x)
            if rng.random() < 0.5:
                worker["generation"] += 1
                worker["name"] = f"worker-{worker['slot']}-{worker['generation']}"
            self.start_worker(worker)
            return f"{proc.label} {'SIGKILL' if kind == 'worker-kill' else 'SIGTERM'}, restarted as {worker['name']}"
        if kind.startswith("cp"):
            cp = self.cps[target % len(self.cps)]
            if kind == "cp-stop":
                seconds = 1 + 3 * x
                cp.send(signal.SIGSTOP)
                threading.Timer(seconds, cp.send, args=(signal.SIGCONT,)).start()
                return f"{cp.label} SIGSTOP {seconds:.1f}s"
            cp.stop(signal.SIGKILL)
            time.sleep(0.2 + 1.5 * x)
            cp.start()
            return f"{cp.label} SIGKILL, restarted"
        if kind == "postgres-restart":
            with self.pg.lock:
                self.pg.restart()
            return "PostgreSQL primary restarted"
        if kind.startswith("postgres-failover"):
            return self.postgres_failover(asynchronous=kind.endswith("async"), target=target, x=x)[0]
        if self.sentinel:
            return self.sentinel_fault(kind, target, x)
        with self.redis_lock:
            self.kill_redis()
            time.sleep(0.1 + 0.5 * x)
            self.start_redis(wipe=kind == "redis-wipe")
        return "Redis SIGKILLed and restarted from its AOF" if kind == "redis-restart" else "Redis replaced by an empty one"

    def postgres_failover(self, asynchronous, target, x):
        """The primary SIGKILLed and its standby promoted, then a new standby built from it.

        Synchronous: the standby has every commit, so no row may go back and no claim epoch down
        (checked against a snapshot read just before the kill). Asynchronous: the standby stops
        receiving first, and a worker is paused past its lease meanwhile, so its partitions go to the
        others and their claims are made on the old primary only (the case that once left a third of
        the partitions unworked for good); it resumes after the promotion. Returns (what happened,
        seconds from the kill until the standby accepted writes, the kill's wall-clock time)."""
        mode = "asynchronous" if asynchronous else "synchronous"
        with self.pg.lock:
            paused = None
            if not asynchronous and self.args.inject == "lost-commits":
                self.pg.stop_receiving()
                time.sleep(1)
            if asynchronous:
                self.pg.stop_receiving()
                real = [w for w in self.workers if not w.get("rogue")]
                paused = real[target % len(real)]
                paused["proc"].send(signal.SIGSTOP)
                time.sleep(self.ttl * 1.5 + x)
            before = self.snapshot()
            killed_at = time.time()
            promoted = self.pg.failover()
            if paused:
                threading.Timer(0.5 * x, paused["proc"].send, args=(signal.SIGCONT,)).start()
            after = self.snapshot()
            went_back = self.compare(before, after)
            self.pg.start_standby()
        if asynchronous:
            self.count("postgres async failover: rows gone back", went_back["rows"])
            self.count("postgres async failover: claim epochs gone down", went_back["epochs"])
        elif went_back["rows"] or went_back["epochs"]:
            self.violation("commits lost in a synchronous PostgreSQL failover",
                           f"{went_back['rows']} rows went back, {went_back['epochs']} claim epochs down, e.g. {went_back['example']}")
        self.counters.setdefault(f"postgres {mode} failover: promoted after (s)", []).append(round(promoted, 2))
        what = (f"PostgreSQL failover ({mode}): primary SIGKILLed, standby promoted {promoted:.2f}s later, a new standby built; "
                f"{went_back['rows']} rows went back, {went_back['epochs']} claim epochs down")
        if paused:
            what += f" ({paused['name']} paused {self.ttl * 1.5 + x:.1f}s before the kill, meanwhile the standby received nothing)"
        return what, promoted, killed_at

    def snapshot(self):
        """Every row's value and every claim's epoch, on the primary now ({} if it cannot be read)."""
        try:
            rows = self.psql("SELECT 'w', id::text, value FROM work_items UNION ALL SELECT 'o', partition::text, epoch FROM partition_owners")
        except OSError:
            return {}
        return {(kind, key): int(value) for kind, key, value in (line.split("|") for line in rows.splitlines())}

    @staticmethod
    def compare(before, after):
        """How many rows went back and claim epochs down between two snapshots."""
        back = [(key, value, after.get(key)) for key, value in before.items() if after and (after.get(key) or 0) < value]
        return {"rows": sum(1 for key, _, _ in back if key[0] == "w"), "epochs": sum(1 for key, _, _ in back if key[0] == "o"),
                "example": back[0] if back else None}

    def sentinel_fault(self, kind, target, x):
        if kind == "sentinel-failover":
            try:
                with redis_client(self.sentinel_ports[target % 3]) as sentinel:
                    answer = sentinel.sentinel_failover("mymaster")
            except redis.ResponseError as error:  # -INPROG, -NOGOODSLAVE: the Sentinel's own answer
                answer = str(error)
            return f"SENTINEL FAILOVER asked of sentinel{target % 3}: {answer}"
        if kind == "sentinel-kill":
            index = target % 3
            kill_pidfile(f"{self.ha_dir}/sentinel{index}/sentinel.pid")
            time.sleep(0.2 + 2 * x)
            # From the configuration it rewrote while it ran: it knows the current primary and its peers.
            shell(f"redis-sentinel {self.ha_dir}/sentinel{index}/sentinel.conf")
            return f"sentinel{index} SIGKILL, restarted"
        with self.redis_lock:
            index = self.ha_node(self.primary_port())
            if kind == "primary-stop":
                seconds = 1.5 + 3 * x
                pid = self.ha_pid("node", index)
                os.kill(pid, signal.SIGSTOP)
                self.paused_nodes.add(pid)
                threading.Timer(seconds, self.continue_node, args=(pid,)).start()
                return f"Redis primary node{index} SIGSTOP {seconds:.1f}s"
            kill_pidfile(f"{self.ha_dir}/node{index}/redis.pid")
            seconds = 0.1 + 4 * x
            time.sleep(seconds)
            shell(f"rollcall_redis_ha_start_node {self.ha_dir} {index}")
            role = "primary again" if self.primary_port() == self.node_ports[index] else "replica"
            return f"Redis primary node{index} SIGKILL, restarted {seconds:.1f}s later as {role}"

    def continue_node(self, pid):
        try:
            os.kill(pid, signal.SIGCONT)
        except OSError:
            pass
        self.paused_nodes.discard(pid)

    def storm(self):
        plan = self.schedule()
        start = time.monotonic()
        self.started_ms, self.started_monotonic = time.time() * 1000, start
        for at, kind, target, x in plan:
            delay = start + at - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            try:
                what = self.fault(kind, target, x)
                self.count(f"fault: {kind}")
                log(f"t={time.monotonic() - start:5.1f}s {what}")
            except Exception as error:  # a fault that could not be applied is reported, not fatal
                log(f"t={time.monotonic() - start:5.1f}s {kind} failed: {error}")
        remaining = start + self.args.duration - time.monotonic()
        if remaining > 0:
            time.sleep(remaining)

    # --- after the storm ---------------------------------------------------------------------
    def heal(self):
        for pid in list(self.paused_nodes):
            self.continue_node(pid)
        for proc in self.cps + [w["proc"] for w in self.workers]:
            proc.send(signal.SIGCONT)
            if not proc.alive():
                proc.start()

    def live_names(self):
        return {w["name"] for w in self.workers if not w.get("rogue")}

    def settled(self):
        """Every live worker safe, every partition claimed by a live worker."""
        return not self.unsettled(detail=False)

    def unsettled(self, detail=True):
        """What keeps the pool from being settled: each live worker not safe (with what its status says),
        and the partitions unclaimed or claimed by a name no live worker has; empty when settled. Without
        `detail`, it stops at the first unsafe worker (polled every 0.2 s, it skips reading the claims)."""
        problems = []
        for worker in self.workers:
            if worker.get("rogue"):
                continue
            try:
                status, body = http_json(worker["port"], "GET", "/v1/status", timeout=0.5)
            except OSError as error:
                problems.append(f"{worker['name']}: no status ({error})")
                continue
            if status != 200 or not body or not body.get("safe"):
                brief = {key: body.get(key) for key in ("name", "number", "safe", "partitionCount", "grantedCount", "lastRefusal") if body and key in body}
                problems.append(f"{worker['name']}: status {status} {brief or body}")
        if problems and not detail:
            return problems
        try:
            rows = self.psql("select worker from partition_owners").split()
        except OSError as error:
            return problems + [f"partition_owners unreadable ({error})"]
        names = self.live_names()
        strangers = {}
        for row in rows:
            if row not in names:
                strangers[row] = strangers.get(row, 0) + 1
        if len(rows) != PARTITIONS or strangers:
            problems.append(f"{len(rows)} of {PARTITIONS} partitions claimed; by names no live worker has: {strangers}")
        return problems

    def wait(self, condition, seconds, step=0.2):
        start = time.monotonic()
        while time.monotonic() - start < seconds:
            if condition():
                return time.monotonic() - start
            time.sleep(step)
        return None

    def measure_wipe(self):
        """One more wipe with no other fault: how long until the store knows every worker and every grant
        again, and until a new name can lease a number."""
        names = self.live_names()
        with self.redis_lock:
            self.kill_redis()
            wiped_at = time.monotonic()
            self.start_redis(wipe=True)
        store = redis_client(self.redis_port)

        def store_knows_all():
            try:
                workers = store.hgetall("workers")
                grants = store.hlen("rollcall:grants")
            except REDIS_ERRORS:
                return False
            return set(workers) >= names and grants == PARTITIONS and self.settled()

        known = self.wait(store_knows_all, 60)
        if known is None:
            self.violation("no recovery from a clean Redis wipe", "the store did not know every worker and grant within 60 s")
            return
        self.counters["clean wipe: workers and grants back in the store (s)"] = round(time.monotonic() - wiped_at, 2)

        def newcomer_leases():
            try:
                return http_json(self.cp_ports[0], "GET", "/chaos-probe", timeout=0.5)[0] == 200
            except OSError:
                return False

        if self.wait(newcomer_leases, 60) is None:
            self.violation("no recovery from a clean Redis wipe", "a new name got no number within 60 s")
            return
        self.counters["clean wipe: a new name leases a number (s)"] = round(time.monotonic() - wiped_at, 2)
        try:
            http_json(self.cp_ports[0], "DELETE", "/v1/workers/chaos-probe?instance=get-shortcut", timeout=1)
        except OSError:
            pass

    def measure_failover(self, attempt):
        """The primary SIGKILLed with no other fault: how long until a heartbeat succeeds again (through
        a control plane that must find the promoted replica and get its grant WAITed for), and until
        every worker is safe and every partition claimed again. The killed node then rejoins as a replica."""
        def heartbeat_succeeds():
            try:
                return http_json(self.cp_ports[0], "GET", "/chaos-failover-probe", timeout=0.5)[0] == 200
            except OSError:
                return False

        if self.wait(heartbeat_succeeds, 30) is None or self.wait(self.settled, 60) is None:
            self.violation("no recovery from a failover", f"round {attempt}: not settled before the primary was killed")
            return
        with self.redis_lock:
            index = self.ha_node(self.primary_port())
            kill_pidfile(f"{self.ha_dir}/node{index}/redis.pid")
            killed_at = time.monotonic()
            heartbeat = self.wait(heartbeat_succeeds, 60, step=0.05)
            settled = self.wait(self.settled, 60) if heartbeat is not None else None
            settled_after = time.monotonic() - killed_at
            shell(f"rollcall_redis_ha_start_node {self.ha_dir} {index}")
        if heartbeat is None or settled is None:
            self.violation("no recovery from a failover", f"round {attempt}: no heartbeat or not settled within 60 s of the kill")
            return
        log(f"failover {attempt}: node{index} SIGKILLed; a heartbeat succeeded {heartbeat:.2f}s later, "
            f"every worker safe and every partition claimed {settled_after:.2f}s later")
        self.counters[f"failover {attempt}: primary SIGKILLed -> first heartbeat answered (s)"] = round(heartbeat, 2)
        self.counters[f"failover {attempt}: -> every worker safe, every partition claimed (s)"] = round(settled_after, 2)
        try:
            http_json(self.cp_ports[0], "DELETE", "/v1/workers/chaos-failover-probe?instance=get-shortcut", timeout=1)
        except OSError:
            pass

    def measure_postgres_failover(self, asynchronous):
        """A PostgreSQL failover with no other fault: seconds from the primary's SIGKILL until the
        standby accepts writes, and until every partition's rows were written again (every worker works
        again), in work rounds of 200 ms."""
        mode = "asynchronous" if asynchronous else "synchronous"
        if self.wait(self.settled, 60) is None:
            self.violation("no recovery from a PostgreSQL failover", f"{mode}: not settled before the primary was killed")
            return
        partitions = int(self.psql("SELECT count(DISTINCT partition) FROM work_items"))
        what, promoted, killed_at = self.postgres_failover(asynchronous, target=0, x=0.5)
        log(what)

        def every_partition_written():
            try:
                written = self.psql(f"SELECT count(DISTINCT partition) FROM work_items WHERE updated_at > to_timestamp({killed_at})")
            except OSError:
                return False
            return int(written) == partitions

        if self.wait(every_partition_written, 60, step=0.05) is None:
            self.violation("no recovery from a PostgreSQL failover", f"{mode}: some partition's rows not written within 60 s of the kill")
            return
        worked = time.time() - killed_at
        log(f"{mode} PostgreSQL failover: promoted {promoted:.2f}s after the kill, every partition worked again {worked:.2f}s after it")
        self.counters[f"clean {mode} postgres failover: kill -> promoted (s)"] = round(promoted, 2)
        self.counters[f"clean {mode} postgres failover: kill -> every partition worked (s)"] = round(worked, 2)
        self.counters[f"clean {mode} postgres failover: work rounds lost"] = int(worked / 0.2)

    def isolation(self, seconds=8):
        """A storm in `tags` leaves `fast` untouched: `fast`'s clients heartbeat through `seconds` of quiet,
        then `seconds` of `tags`'s clients silenced and a flood of new names into it; no `fast` lease may
        change in either window, and no `fast` heartbeat may outlast its interval."""
        self.quiet.set()
        quiet_pool = [sim for sim in self.sims if sim.pool == "fast"]
        stormed = [sim for sim in self.sims if sim.pool == "tags"]
        # Every quiet client leased, and a heartbeat interval of calm, before the windows.
        if self.wait(lambda: all(sim.lease for sim in quiet_pool), 30) is None:
            self.violation("pool isolation: the quiet pool's clients hold no lease", [sim.name for sim in quiet_pool if not sim.lease])
            return
        # Then no lease of the quiet pool changing for three TTLs: what the storm's last faults set off
        # must be over first. After the heal, a Sentinel storm's SIGCONTed Redis nodes can still fail over,
        # and a fresh-clone run saw a quiet-pool lease replaced 1 s into the window for that reason.
        def unchanged_for(seconds):
            before = {sim.name: (sim.lease, sim.changes) for sim in quiet_pool}
            time.sleep(seconds)
            return all((sim.lease, sim.changes) == before[sim.name] for sim in quiet_pool)

        calm = time.monotonic()
        while not unchanged_for(3 * self.pool_ttl["fast"]) and time.monotonic() - calm < 30:
            pass
        self.count("pool isolation: seconds until the quiet pool's leases held still", round(time.monotonic() - calm, 1))
        leases = {sim.name: sim.lease for sim in quiet_pool}
        changes = {sim.name: sim.changes for sim in quiet_pool}
        start = time.monotonic()
        time.sleep(seconds)
        middle = time.monotonic()
        for sim in stormed:
            sim.silenced.set()
        answers = self.flood("tags", seconds)
        end = time.monotonic()
        for sim in stormed:
            sim.silenced.clear()
        self.quiet.clear()
        moved = [f"{sim.name}: {leases[sim.name]} -> {sim.lease}" for sim in quiet_pool
                 if sim.lease != leases[sim.name] or sim.changes != changes[sim.name]]
        if moved:
            self.violation("pool isolation: a lease of the quiet pool changed", moved)
        if not answers.get("503 no_number_available"):
            self.violation("pool isolation: the stormed pool's numbers were not exhausted", answers)

        def latencies(since, until):
            return sorted(latency for sim in quiet_pool for sent, latency in sim.latencies if since <= sent < until)

        quiet, stormy = latencies(start, middle), latencies(middle, end)
        if not quiet or not stormy:
            self.violation("pool isolation: the quiet pool did not heartbeat", f"{len(quiet)} and {len(stormy)} heartbeats")
            return
        # Latency is measured, not asserted (a loaded machine slows everything); what must not happen is a
        # lease of the quiet pool changing, checked above.
        late = [latency for latency in stormy if latency > self.pool_interval["fast"]]
        self.count("pool isolation: quiet-pool heartbeats answered later than their interval while the other pool was stormed", len(late))

        def quantile(values, q):
            return values[min(len(values) - 1, int(q * len(values)))] * 1000

        self.count("pool isolation: quiet-pool heartbeats measured", len(quiet) + len(stormy))
        log(f"pool isolation: {len(quiet)} heartbeats of pool fast in {seconds} s of quiet, {len(stormy)} while pool tags was stormed "
            f"({answers}); p50 {quantile(quiet, 0.5):.1f} -> {quantile(stormy, 0.5):.1f} ms, "
            f"p99 {quantile(quiet, 0.99):.1f} -> {quantile(stormy, 0.99):.1f} ms "
            f"(ratio {quantile(stormy, 0.99) / max(quantile(quiet, 0.99), 0.001):.2f}); "
            + (f"leases of pool fast changed: {moved}" if moved else "no lease of pool fast changed"))

    def rows_advance(self, seconds=20):
        self.psql("DROP TABLE IF EXISTS chaos_snapshot; CREATE TABLE chaos_snapshot AS SELECT id, value FROM work_items")
        start = time.monotonic()
        while time.monotonic() - start < seconds:
            time.sleep(0.5)
            stuck = self.psql("SELECT count(*) FROM work_items w JOIN chaos_snapshot s USING (id) WHERE w.value <= s.value")
            if stuck == "0":
                return time.monotonic() - start
        return None

    def run(self):
        log(f"seed {self.seed}; {self.args.duration}s, {self.args.faults} faults, lease TTL {int(self.ttl * 1000)} ms, "
            f"{self.args.workers} workers, {self.args.control_planes} control planes, {self.args.simulated} simulated clients; "
            f"files in {self.dir}")
        self.start()
        threads = [threading.Thread(target=self.sample_workers_hash, daemon=True),
                   threading.Thread(target=self.sample_statuses, daemon=True),
                   threading.Thread(target=self.scrape_control_planes, daemon=True)]
        threads += [threading.Thread(target=self.poll_ids, args=(w,), daemon=True) for w in self.workers]
        if self.kafka:
            threads += self.kafka.threads()
            if self.args.inject == "kafka-intruder":
                threads.append(threading.Thread(target=self.kafka.intrude, daemon=True))
        sims, index = [], 0
        for pool, _, _, _, share in POOLS:
            for _ in range(max(2, round(self.args.simulated * share))):
                sims.append(SimulatedClient(self, index, pool))
                index += 1
        self.sims = sims
        for sim in sims if self.issuer else []:
            self.issuer.token(sim.name)
        for thread in threads + sims:
            thread.start()
        self.storm()
        if self.kafka:
            # The producer and the group sampler stop with the storm: the isolation check below times a
            # 0.5 s-TTL pool's clients, which share this process (and its GIL) with them.
            self.kafka.stop.set()
        log("storm over: everything paused or dead comes back")
        self.heal()
        if not self.args.inject:  # the injected runs only show that their checks turn red
            self.isolation()
        log("simulated clients release")
        self.sims_stop.set()
        for sim in sims:
            sim.join(timeout=5)
        settle = self.wait(self.settled, 60)
        if settle is None:
            self.violation("not settled after the storm", "; ".join(self.unsettled()) or "settled only after the 60 s")
        else:
            log(f"settled {settle:.1f}s after the storm: every worker safe, every partition claimed by a live worker")
            advance = self.rows_advance()
            if advance is None:
                self.violation("rows not advancing after the storm", "some work_items row did not advance within 20 s")
            else:
                log(f"every work_items row advanced within {advance:.1f}s")
            if self.sentinel:
                for attempt in range(3):
                    self.measure_failover(attempt)
            else:
                self.measure_wipe()
            if self.pg.standby:
                self.measure_postgres_failover(asynchronous=False)
                self.measure_postgres_failover(asynchronous=True)
        time.sleep(0.5)
        self.stopping.set()
        for thread in threads:
            thread.join(timeout=2)
        for line in self.pg.audit_lines():
            kind, example = line.split("|", 1)
            self.violation(f"audit: {kind}", example)
        self.check_id_numbers()
        if self.kafka:
            self.kafka.check()
        for key, first, second, seconds, at in self.beliefs.overlaps():
            self.violation(f"simulated clients safe on one thing at once [{key[0]}]",
                           f"{key}: {first} and {second} for {seconds * 1000:.0f} ms from t={at - self.started_monotonic:.3f}s")
        for pool, *_ in POOLS:
            self.count(f"simulated-client beliefs recorded [{pool}]", sum(1 for key, *_ in self.beliefs.closed if key[0] == pool))
        # Every simulated client sends its own token for its own name: a refusal of one is a bug.
        for sim in self.sims:
            for key, n in sim.answers.items():
                if key.startswith(("401", "403", "429")):
                    self.violation("a legitimate caller refused (401, 403 or 429)", f"{sim.name}: {key} x{n}", n)
        if self.secure:
            self.count("simulated clients with their own tokens", len(self.sims))
        self.report()

    def check_id_numbers(self):
        """An id is issued under a number another worker held at that moment if the store samples on
        both sides of its millisecond show the number held (an unexpired lease) by someone else and not
        by its issuer."""
        times = [sample[0] for sample in self.store_samples]
        for issuer, stamps in self.id_batches:
            for ms, number in stamps:
                i = bisect.bisect_left(times, ms)
                if i == 0 or i == len(times):
                    continue
                before, after = self.store_samples[i - 1][1].get(number, set()), self.store_samples[i][1].get(number, set())
                others = (before & after) - {issuer}
                if others and issuer not in before | after:
                    self.violation("ids under a number another worker held",
                                   f"{issuer} issued under {number} held by {sorted(others)} at t={(ms - self.started_ms) / 1000:.3f}s "
                                   f"(Redis :{self.store_samples[i - 1][2]}, :{self.store_samples[i][2]})")

    INVARIANTS = [f"number held by two names (hgetall workers) [{pool}]" for pool, *_ in POOLS] + [
        "two workers safe with one number (/v1/status)", "duplicate Snowflake ids",
        "ids under a number another worker held", "audit: write by a non-owner", "audit: partition epoch went down"] + [
        f"simulated clients safe on one thing at once [{pool}]" for pool, *_ in POOLS] + [
        "not settled after the storm", "rows not advancing after the storm",
        "no recovery from a clean Redis wipe", "no recovery from a failover", "commits lost in a synchronous PostgreSQL failover",
        "no recovery from a PostgreSQL failover", "pool isolation: a lease of the quiet pool changed",
        "pool isolation: the quiet pool did not heartbeat", "pool isolation: the stormed pool's numbers were not exhausted",
    ]

    def report(self):
        print()
        print(f"seed {self.seed}")
        for key in sorted(self.counters):
            print(f"  {key:52} {self.counters[key]}")
        print(f"  {'simulated-client beliefs recorded':52} {len(self.beliefs.closed)}")
        print("invariants (violations found):")
        invariants = self.INVARIANTS + (chaos_kafka.INVARIANTS if self.kafka else [])
        for key in invariants + sorted(set(self.violations) - set(invariants)):
            print(f"  {key:52} {self.violations.get(key, 0)}")
        if self.violations:
            print("VIOLATIONS")
            for key, n in sorted(self.violations.items()):
                print(f"  {key:48} {n}   e.g. {self.examples[key]}")
        else:
            print("no violations")

    def shutdown(self):
        self.stopping.set()
        for worker in self.workers if hasattr(self, "workers") else []:
            if worker["proc"]:
                worker["proc"].stop(signal.SIGKILL)
        for proc in getattr(self, "cps", []) + [getattr(self, n) for n in ("rogue_cp", "proxy") if hasattr(self, n)]:
            proc.stop(signal.SIGKILL)
        self.kill_redis()
        shell(f"rollcall_redis_ha_stop {self.ha_dir}; rollcall_stop_redis {self.dir}/rogue-redis", check=False)
        self.pg.stop()
        if self.kafka:
            self.kafka.shutdown()
        if self.issuer:
            self.issuer.close()
        if not self.args.keep:
            shutil.rmtree(self.dir, ignore_errors=True)


def parse(argv=None):
    """The suite's arguments (scripts/chaos's command line)."""
    parser = argparse.ArgumentParser(prog="scripts/chaos", description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=int, default=60, help="seconds of storm (default 60)")
    parser.add_argument("--seed", type=int, default=None, help="the storm's seed (default: random, printed)")
    parser.add_argument("--faults", type=int, default=None, help="faults in the storm (default: one per 2 s)")
    parser.add_argument("--lease-ttl", type=int, default=2000, help="LEASE_TTL in ms (default 2000; the product's default is 10000)")
    parser.add_argument("--workers", type=int, default=5)
    parser.add_argument("--control-planes", type=int, default=2)
    parser.add_argument("--simulated", type=int, default=12, help="simulated wire-format clients")
    parser.add_argument("--items", type=int, default=2000, help="work items seeded")
    parser.add_argument("--redis", choices=["single", "sentinel"], default="single",
                        help="one Redis (default), or a primary, two replicas and three Sentinels")
    parser.add_argument("--postgres", choices=["standby", "single"], default="standby",
                        help="a primary and a streaming standby, with failovers among the faults (default), or one server")
    parser.add_argument("--inject", choices=["split-brain", "lost-commits", "kafka-intruder"],
                        help="inject a violation, to show the checks can fail")
    parser.add_argument("--kinds", type=lambda text: text.split(","), default=None,
                        help="only these fault kinds, comma-separated (default: every kind this Redis and PostgreSQL allow)")
    parser.add_argument("--keep", action="store_true", help="keep the temp dir (logs) afterwards")
    parser.add_argument("--plain", action="store_true", help="plain HTTP and no credentials (default: TLS and per-worker tokens)")
    parser.add_argument("--no-kafka", action="store_true",
                        help="no Kafka broker (default: one, the workers consuming their numbers' groups; rollcall_testing/chaos_kafka.py)")
    args = parser.parse_args(argv)
    if args.seed is None:
        args.seed = random.SystemRandom().randrange(1 << 31)
    if args.faults is None:
        args.faults = max(args.duration // 2, 1)
    if args.duration < 10 or args.workers < 1 or args.control_planes < 1:
        parser.error("need --duration >= 10, a worker and a control plane")
    return args


def run(args):
    """Runs one storm; returns the finished suite (its `violations` and `counters`)."""
    suite = Suite(args)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        suite.run()
    finally:
        suite.shutdown()
    return suite


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) > 1 and argv[0] == "--proxy":
        Proxy(int(argv[1]), [int(p) for p in argv[2:]]).serve_forever()
    try:
        suite = run(parse(argv))
    except KeyboardInterrupt:
        log("interrupted")
        return 130
    return 1 if suite.violations else 0


if __name__ == "__main__":
    sys.exit(main())
