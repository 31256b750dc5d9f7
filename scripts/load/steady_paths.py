#!/usr/bin/env python3
"""Open-loop heartbeats at 1 Hz for every path in PATHS_FILE (one worker each), with GET /healthz probes
at 1 Hz as the reference, for SECONDS; prints the rate driven and p50/p99 of both. Loopback only.

The workers are spread over CONNECTIONS keep-alive connections (default 400), each sending its workers'
heartbeats one after another at their slots in the second: a generator that cannot keep up falls behind,
and the rate it drove is what is printed (asked / driven), with the latency of what it sent.

usage: steady_paths.py PORT PATHS_FILE [SECONDS=20] [CONNECTIONS=400] [PROBES=100]
"""
import asyncio
import statistics
import sys
import time

from http1 import read_response

PORT, PATHS_FILE = int(sys.argv[1]), sys.argv[2]
SECONDS = float(sys.argv[3]) if len(sys.argv) > 3 else 20.0
CONNECTIONS = int(sys.argv[4]) if len(sys.argv) > 4 else 400
PROBES = int(sys.argv[5]) if len(sys.argv) > 5 else 100
latencies, probe_latencies, errors = [], [], {}


def heartbeat(path):
    body = b'{"instance":"bench"}'
    return (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode() + body


async def connection(requests, offsets, start, into):
    """One keep-alive connection: request i is due at start + offsets[i] + k seconds."""
    reader, writer = await asyncio.open_connection("127.0.0.1", PORT)
    second = 0
    while start + second < start + SECONDS:
        for request, offset in zip(requests, offsets):
            due = start + second + offset
            await asyncio.sleep(max(0.0, due - time.monotonic()))
            if time.monotonic() >= start + SECONDS:
                break
            sent = time.monotonic()
            writer.write(request)
            code, _ = await read_response(reader)
            if code == "200":
                into.append(time.monotonic() - sent)
            else:
                errors[code] = errors.get(code, 0) + 1
        second += 1
    writer.close()


def summary(values):
    q = statistics.quantiles(values, n=100)
    return q[49] * 1000, q[98] * 1000


async def main():
    paths = [line.strip() for line in open(PATHS_FILE) if line.strip()]
    count = len(paths)
    slots = [(heartbeat(path), i / count) for i, path in enumerate(paths)]
    groups = [slots[i::CONNECTIONS] for i in range(min(CONNECTIONS, count))]
    probe = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    start = time.monotonic() + 1.0
    began = time.monotonic()
    await asyncio.gather(
        *(connection([r for r, _ in group], [o for _, o in group], start, latencies) for group in groups),
        *(connection([probe], [(i + 0.5) / PROBES], start, probe_latencies) for i in range(PROBES)))
    elapsed = time.monotonic() - began - 1.0
    p50, p99 = summary(latencies)
    r50, r99 = summary(probe_latencies)
    driven = len(latencies) / SECONDS
    print(f"steady: {count} workers x 1 Hz asked ({count}/s) for {SECONDS:.0f} s: driven {driven:.0f}/s "
          f"({driven / count:.2f} of asked), {sum(errors.values())} errors {errors or ''}; heartbeat p50 {p50:.2f} ms, p99 {p99:.2f} ms")
    print(f"reference: {PROBES} x GET /healthz at 1 Hz in the same run: p50 {r50:.2f} ms, p99 {r99:.2f} ms; "
          f"heartbeat p50 = {p50 / r50:.2f} x, p99 = {p99 / r99:.2f} x the reference's")


asyncio.run(main())
