#!/usr/bin/env python3
"""N workers each send one heartbeat per second to a control plane for a bounded time (open loop,
staggered), over keep-alive connections; prints p50/p99/max latency. Loopback only.

usage: steady_heartbeats.py PORT [WORKERS=1000] [SECONDS=15]
Worker i is named w-%012d with instance "bench", the names heartbeat.lua leases, so a run after it renews.
"""
import asyncio
import statistics
import sys
import time

from http1 import read_response

PORT = int(sys.argv[1])
WORKERS = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
SECONDS = float(sys.argv[3]) if len(sys.argv) > 3 else 15.0
latencies, errors = [], 0


async def worker(index: int, start: float):
    global errors
    reader, writer = await asyncio.open_connection("127.0.0.1", PORT)
    body = b'{"instance":"bench"}'
    request = (
        f"POST /v1/workers/w-{index:012d}/heartbeat HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode() + body
    tick = start + index / WORKERS  # stagger the fleet across the second
    while tick < start + SECONDS:
        await asyncio.sleep(max(0.0, tick - time.monotonic()))
        sent = time.monotonic()
        writer.write(request)
        code, _ = await read_response(reader)
        if code == "200":
            latencies.append(time.monotonic() - sent)
        else:
            errors += 1
        tick += 1.0
    writer.close()


async def main():
    start = time.monotonic() + 1.0
    await asyncio.gather(*(worker(i, start) for i in range(WORKERS)))
    latencies.sort()
    q = statistics.quantiles(latencies, n=100)
    print(f"steady: {WORKERS} workers x 1 Hz for {SECONDS:.0f} s: {len(latencies)} heartbeats, {errors} errors, "
          f"p50 {q[49] * 1000:.2f} ms, p99 {q[98] * 1000:.2f} ms, max {latencies[-1] * 1000:.2f} ms")


asyncio.run(main())
