#!/usr/bin/env python3
"""The responder of scripts/run --kafka's request/reply demo: it reads the requests topic in a group of
its own and answers each request on the replies topic after --delay seconds (the time a real service
takes), copying the request's `reply-group` and `requester` headers, so the requester's group finds it.
A request whose requester's process is gone by then is still answered: its group's next holder reads it.

It writes what it did to --status (JSON, replaced once a second) for the view. It runs on the project's
virtualenv (confluent-kafka) and stops on SIGTERM or SIGINT, committing what it answered."""
import argparse
import collections
import json
import os
import signal
import time

from confluent_kafka import Consumer, KafkaException, Producer
from confluent_kafka.admin import AdminClient, NewTopic

QUIET = {"log_level": 2}


def create_topics(brokers, topics, partitions):
    """The demo's topics, if they are missing: the workers' producers and consumers need them."""
    admin = AdminClient({"bootstrap.servers": brokers, **QUIET})
    futures = admin.create_topics([NewTopic(t, num_partitions=partitions, replication_factor=1) for t in topics], request_timeout=10)
    for topic, future in futures.items():
        try:
            future.result(15)
        except KafkaException as error:
            if error.args[0].code() != error.args[0].TOPIC_ALREADY_EXISTS:
                raise


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--brokers", required=True)
    parser.add_argument("--requests", default="requests")
    parser.add_argument("--replies", default="replies")
    parser.add_argument("--partitions", type=int, default=4)
    parser.add_argument("--delay", type=float, default=2.0, help="seconds from a request's timestamp to its reply")
    parser.add_argument("--status", required=True)
    options = parser.parse_args()
    create_topics(options.brokers, [options.requests, options.replies], options.partitions)
    consumer = Consumer({"bootstrap.servers": options.brokers, "group.id": "responder", "auto.offset.reset": "earliest",
                         "enable.auto.offset.store": False, **QUIET})
    consumer.subscribe([options.requests])
    producer = Producer({"bootstrap.servers": options.brokers, **QUIET})
    stopping = []
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stopping.append(True))
    waiting = collections.deque()  # (due, request), in arrival order
    delivered = []  # requests whose reply the broker acknowledged
    answered, written = 0, 0.0
    while not stopping:
        message = consumer.poll(0.1)
        if message is not None and message.error() is None:
            _, stamp = message.timestamp()
            waiting.append((stamp / 1000 + options.delay if stamp > 0 else time.time() + options.delay, message))
        while waiting and waiting[0][0] <= time.time():
            _, request = waiting.popleft()
            headers = dict(request.headers() or [])
            try:
                asked = json.loads(request.value() or b"{}")
            except ValueError:
                asked = {}
            asked = asked if isinstance(asked, dict) else {}
            reply = {"answer": f"reply to {asked.get('worker', '?')}'s request {asked.get('sequence', '?')}", **asked}
            # The request counts as answered, and its offset is committed, once the broker has the reply.
            producer.produce(options.replies, key=request.key(), value=json.dumps(reply).encode(),
                             headers=[(k, headers[k]) for k in ("reply-group", "requester") if k in headers],
                             on_delivery=lambda error, _, request=request: delivered.append(request) if error is None else None)
        producer.poll(0)
        for request in delivered:
            consumer.store_offsets(request)
        answered += len(delivered)
        delivered.clear()
        if time.monotonic() - written >= 1:
            written = time.monotonic()
            with open(options.status + ".tmp", "w") as f:
                json.dump({"answered": answered, "waiting": len(waiting), "pid": os.getpid()}, f)
            os.replace(options.status + ".tmp", options.status)
    producer.flush(5)
    for request in delivered:
        consumer.store_offsets(request)
    consumer.close()


if __name__ == "__main__":
    main()
