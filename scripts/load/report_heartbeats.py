#!/usr/bin/env python3
"""What a load report costs a heartbeat: one worker holding every partition of a pool balanced by
load sends heartbeats in turn without and with a report of all its partitions (rows waiting and rows
per second each, as the worker sends them every LOAD_REPORT_INTERVAL), one at a time on one keep-alive
connection; prints the latency of each kind, their ratio, and the body sizes. Loopback only.

usage: report_heartbeats.py PORT POOL [PAIRS=500]
"""
import http.client
import json
import statistics
import sys
import time

PORT, POOL = int(sys.argv[1]), sys.argv[2]
PAIRS = int(sys.argv[3]) if len(sys.argv) > 3 else 500
connection = http.client.HTTPConnection("127.0.0.1", PORT)


def beat(body):
    started = time.monotonic()
    connection.request("POST", f"/v1/pools/{POOL}/workers/w-report/heartbeat", body=body, headers={"Content-Type": "application/json"})
    response = connection.getresponse()
    answer = response.read()
    assert response.status == 200, (response.status, answer[:200])
    return time.monotonic() - started, json.loads(answer)


held = []
deadline = time.monotonic() + 60
while time.monotonic() < deadline:
    _, answer = beat(json.dumps({"instance": "bench", "held": held}))
    held = answer["partitions"]
    if len(held) == answer["partitionCount"] and not answer["revoked"]:
        break
    time.sleep(0.1)
count = answer["partitionCount"]
assert len(held) == count, f"the worker holds {len(held)} of {count} partitions"
plain = json.dumps({"instance": "bench", "held": held})
report = json.dumps({"instance": "bench", "held": held, "load": {
    "partitions": held, "rowsWaiting": [(p * 37) % 5000 for p in held], "rowsPerSecond": [round(((p * 13) % 997) / 7, 3) for p in held]}})
for _ in range(50):  # warm up both paths
    beat(plain), beat(report)
without, with_report = [], []
for _ in range(PAIRS):
    without.append(beat(plain)[0])
    with_report.append(beat(report)[0])


def quantile(values, q):
    return statistics.quantiles(values, n=100)[q - 1] * 1000


print(f"{count} partitions held; bodies: {len(plain)} bytes without a report, {len(report)} with one")
for name, values in (("without a report", without), ("with a report of every partition", with_report)):
    print(f"{name}: p50 {quantile(values, 50):.2f} ms, p99 {quantile(values, 99):.2f} ms")
print(f"with / without: p50 {quantile(with_report, 50) / quantile(without, 50):.2f}, p99 {quantile(with_report, 99) / quantile(without, 99):.2f}")
print(f"a report every 10 heartbeats (LOAD_REPORT_INTERVAL 10 s at 1 Hz) adds "
      f"{(statistics.mean(with_report) - statistics.mean(without)) / 10 * 1000:.3f} ms per heartbeat on average")
