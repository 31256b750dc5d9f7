"""scripts/load-kafka's measurements (run by it, with its servers): records/s through one worker against
confluent-kafka's own consumer, and the time from a lease's end until the number's next holder consumes."""
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request

from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient, NewTopic

BIN, WORK = os.environ["ROLLCALL_LOAD_BIN"], os.environ["ROLLCALL_LOAD_WORK"]
CP, BROKERS = os.environ["ROLLCALL_LOAD_CP"], os.environ["ROLLCALL_LOAD_KAFKA"]
DATABASE_URL = os.environ["DATABASE_URL"]
# Rates are timed from the record at this share of the topic on: the group's join (about 3 s on Tansu)
# and librdkafka's prefetch before the first record is handed on would count otherwise.
WARM = 0.2


def create(topic, partitions=4):
    admin = AdminClient({"bootstrap.servers": BROKERS})  # alive until the answer came: its futures need it
    for future in admin.create_topics([NewTopic(topic, num_partitions=partitions)]).values():
        future.result(timeout=10)


def produce(topic, count, start=0):
    producer = Producer({"bootstrap.servers": BROKERS, "linger.ms": 20, "batch.num.messages": 10000, "queue.buffering.max.messages": 1000000})
    for index in range(start, start + count):
        while True:
            try:
                producer.produce(topic, key=f"k{index}", value=f"value-{index:012d}")
                break
            except BufferError:
                producer.poll(0.1)
    producer.flush(60)


def psql(sql):
    return subprocess.run(["psql", DATABASE_URL, "-qtAX", "-c", sql], check=True, capture_output=True, text=True).stdout.strip()


def receipts(group):
    return int(psql(f"SELECT count(*) FROM kafka_receipts WHERE group_name = '{group}'") or 0)


def worker(name, port, topic, **extra):
    env = dict(os.environ, POD_NAME=name, PORT=str(port), HOST="127.0.0.1", CONTROL_PLANE_URL=f"http://127.0.0.1:{CP}",
               LOG_LEVEL="warning", KAFKA_BROKERS=BROKERS, KAFKA_TOPICS=topic, **extra)
    log = open(f"{WORK}/{name}.log", "ab")
    return subprocess.Popen([f"{BIN}/worker"], env=env, stdout=log, stderr=subprocess.STDOUT)


def free_port():
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait(condition, seconds, step=0.02):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return time.monotonic()
        time.sleep(step)
    raise TimeoutError("not within %s s" % seconds)


def reference(topic, count):
    """confluent-kafka's consumer reading `count` records of `topic` in a group of its own."""
    consumer = Consumer({"bootstrap.servers": BROKERS, "group.id": f"reference-{time.time()}", "auto.offset.reset": "earliest",
                         "enable.auto.commit": False, "session.timeout.ms": 6000, "max.poll.interval.ms": 7000})
    consumer.subscribe([topic])
    got, start = 0, None
    while got < count:
        batch = consumer.consume(500, timeout=1)
        got += len([m for m in batch if m.error() is None])
        if start is None and got >= count * WARM:
            start, from_count = time.monotonic(), got
    elapsed = time.monotonic() - start
    got -= from_count
    consumer.commit(asynchronous=False)
    consumer.close()
    return got / elapsed


def through_worker(topic, count):
    """One worker consuming `topic` in its number's group and recording a receipt per record."""
    proc = worker("rate-0", free_port(), topic, KAFKA_BATCH="500")
    try:
        start = wait(lambda: receipts("inbox-0") >= count * WARM, 120, 0.01)
        from_count = receipts("inbox-0")
        done = wait(lambda: receipts("inbox-0") >= count, 600, 0.02)
        return (count - from_count) / (done - start), count
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)


def handoff(topic, ttl, kill):
    """A holder of number 0 consuming a steady stream is stopped (SIGKILL or SIGTERM) and a new worker
    started at once; the time until that one, number 0's next holder, records its first receipt in inbox-0."""
    stop = threading.Event()

    def steady():
        producer = Producer({"bootstrap.servers": BROKERS, "linger.ms": 5})
        index = 0
        while not stop.is_set():
            producer.produce(topic, key=f"s{index}", value=f"steady-{index}")
            index += 1
            producer.poll(0.01)
        producer.flush(10)

    thread = threading.Thread(target=steady, daemon=True)
    thread.start()
    old = worker("holder-a", free_port(), topic, KAFKA_BATCH="50")
    try:
        wait(lambda: int(psql("SELECT count(*) FROM kafka_receipts WHERE worker = 'holder-a'") or 0) > 0, 60)
        group = psql("SELECT group_name FROM kafka_group_owners WHERE worker = 'holder-a'")
        new = worker("holder-b", free_port(), topic, KAFKA_BATCH="50")
        wait(lambda: int(psql("SELECT count(*) FROM kafka_group_owners WHERE worker = 'holder-b'") or 0) > 0, 60)
        time.sleep(1)
        stopped = time.monotonic()
        old.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
        # MAX_WORKERS=2 and holder-b holds number 1: holder-c, started now, gets number 0 once it is free.
        third = worker("holder-c", free_port(), topic, KAFKA_BATCH="50")
        resumed = wait(lambda: int(psql(f"SELECT count(*) FROM kafka_receipts WHERE worker = 'holder-c' AND group_name = '{group}'") or 0) > 0,
                       120, 0.01)
        again = int(psql(f"""SELECT count(*) FROM (SELECT topic, partition, "offset" FROM kafka_receipts WHERE group_name = '{group}'
                              GROUP BY 1, 2, 3 HAVING count(DISTINCT epoch) > 1) r""") or 0)
        for proc in (new, third):
            proc.send_signal(signal.SIGTERM)
            proc.wait(30)
        return resumed - stopped, again, group
    finally:
        stop.set()
        thread.join(10)
        old.kill()
        psql("TRUNCATE kafka_receipts, kafka_group_owners")
        time.sleep(3)  # past the released numbers' quarantine (2 s), so the next run starts from numbers 0 and 1


def main():
    count, ttl = int(sys.argv[1]), int(sys.argv[2]) / 1000
    topic = "load-rate"
    create(topic)
    produce_start = time.monotonic()
    produce(topic, count)
    print(f"produced {count:,} records to {topic} (4 partitions) in {time.monotonic() - produce_start:.1f} s")
    ref = reference(topic, count)
    rate, _ = through_worker(topic, count)
    ref_after = reference(topic, count)
    print(f"confluent-kafka consumer (reference, before / after; from {WARM:.0%} of the topic on): {ref:,.0f} / {ref_after:,.0f} records/s")
    print(f"one worker, a fenced receipt per record in PostgreSQL: {rate:,.0f} records/s = "
          f"{rate / ((ref + ref_after) / 2):.2f} x the reference's mean")
    psql("TRUNCATE kafka_receipts, kafka_group_owners")
    for kill in (True, False):
        topic = f"load-handoff-{'kill' if kill else 'term'}"
        create(topic)
        seconds, again, group = handoff(topic, ttl, kill)
        how = "SIGKILL (the lease runs out)" if kill else "SIGTERM (the lease is released)"
        print(f"{how}: the number's next holder consumes {group} {seconds:.2f} s later = {seconds / ttl:.2f} x the TTL "
              f"({ttl:.0f} s); re-delivered {again} records")


if __name__ == "__main__":
    main()
