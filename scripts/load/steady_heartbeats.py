#!/usr/bin/env python3
"""N workers each send one heartbeat per second to a control plane for a bounded time (open loop,
staggered), over keep-alive connections; prints p50/p99/max latency. Loopback only.

At the same time, PROBES clients (default N/5) each send `GET /healthz` once a second the same way:
the same client, pacing and machine, without Redis or a lease. Their latency is the reference the
heartbeats' is printed against: on a shared 2-core machine the tail is as much the scheduler's as ours.

usage: steady_heartbeats.py PORT [WORKERS=1000] [SECONDS=15] [PROBES=WORKERS/5]
Worker i is named w-%012d with instance "bench", the names heartbeat.lua leases, so a run after it renews.
LOAD_CA_FILE: HTTPS, checked against this CA. LOAD_TOKEN: the bearer token every request sends;
LOAD_TOKENS: a file whose line i is worker i's own token (the probes send LOAD_TOKEN, or none).
"""
import asyncio
import os
import ssl
import statistics
import sys
import time

from http1 import read_response

PORT = int(sys.argv[1])
WORKERS = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
SECONDS = float(sys.argv[3]) if len(sys.argv) > 3 else 15.0
PROBES = int(sys.argv[4]) if len(sys.argv) > 4 else WORKERS // 5
latencies, probe_latencies, errors = [], [], 0
CONTEXT = ssl.create_default_context(cafile=os.environ["LOAD_CA_FILE"]) if os.environ.get("LOAD_CA_FILE") else None
TOKEN = os.environ.get("LOAD_TOKEN")
TOKENS = open(os.environ["LOAD_TOKENS"]).read().split() if os.environ.get("LOAD_TOKENS") else None


def authorization(index=None) -> str:
    token = TOKENS[index] if TOKENS is not None and index is not None else TOKEN
    return f"Authorization: Bearer {token}\r\n" if token else ""


async def client(request: bytes, offset: float, begin: asyncio.Future, connected: list, into: list):
    global errors
    reader, writer = await asyncio.open_connection("127.0.0.1", PORT, ssl=CONTEXT)
    # Every connection (and its TLS handshake) first, then the clock: the figures are the steady state's.
    connected.append(1)
    start = await begin
    tick = start + offset  # stagger the fleet across the second
    while tick < start + SECONDS:
        await asyncio.sleep(max(0.0, tick - time.monotonic()))
        sent = time.monotonic()
        writer.write(request)
        code, _ = await read_response(reader)
        if code == "200":
            into.append(time.monotonic() - sent)
        else:
            errors += 1
        tick += 1.0
    writer.close()


def heartbeat(index: int) -> bytes:
    body = b'{"instance":"bench"}'
    return (
        f"POST /v1/workers/w-{index:012d}/heartbeat HTTP/1.1\r\nHost: 127.0.0.1\r\n{authorization(index)}"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode() + body


def summary(values: list) -> tuple:
    """The line to print, and the p99 (seconds) it prints."""
    q = statistics.quantiles(values, n=100)
    return f"p50 {q[49] * 1000:.2f} ms, p99 {q[98] * 1000:.2f} ms, max {max(values) * 1000:.2f} ms", q[98]


async def main():
    probe = f"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n{authorization()}\r\n".encode()
    begin, connected = asyncio.get_running_loop().create_future(), []

    async def starter():
        while len(connected) < WORKERS + PROBES:
            await asyncio.sleep(0.05)
        begin.set_result(time.monotonic() + 1.0)

    await asyncio.gather(
        starter(),
        *(client(heartbeat(i), i / WORKERS, begin, connected, latencies) for i in range(WORKERS)),
        *(client(probe, (i + 0.5) / max(PROBES, 1), begin, connected, probe_latencies) for i in range(PROBES)))
    line, heartbeat_p99 = summary(latencies)
    print(f"steady: {WORKERS} workers x 1 Hz for {SECONDS:.0f} s: {len(latencies)} heartbeats, {errors} errors, {line}")
    if probe_latencies:
        line, probe_p99 = summary(probe_latencies)
        print(f"reference: {PROBES} x GET /healthz at 1 Hz in the same run: {len(probe_latencies)} requests, {line}; "
              f"heartbeat p99 = {heartbeat_p99 / probe_p99:.1f} x the reference's")


asyncio.run(main())
