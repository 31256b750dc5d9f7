#!/usr/bin/env python3
"""A fleet of simulated workers against one control plane on loopback, each an honest client: it
heartbeats once per interval over its own keep-alive connection, reports exactly the partitions it
holds (with their epochs), takes what it is granted and lets go of what is revoked at once.

usage: simulate_fleet.py PORT WORKERS PARTITIONS TTL_SECONDS INTERVAL_SECONDS [CP_PID]
       FLEET_HOLD_SECONDS=N simulate_fleet.py ...: only step 1, then N more seconds of heartbeats, and exit
       FLEET_POOL=NAME simulate_fleet.py ...: the fleet is pool NAME's (its routes under /v1/pools/NAME)

1. Starts WORKERS workers and waits until every partition is granted and nothing is waiting for a
   handoff (the steady state).
2. Stops one worker's heartbeats (what a SIGKILL looks like to the control plane) and times until
   every partition it held is granted to another worker.
3. Starts one new worker and times until it holds its whole share and nobody else holds those.
Prints each time in seconds and as multiples of the TTL and of the heartbeat interval, and the
heartbeat latency while the fleet ran. With CP_PID, also the control plane's RSS (idle before the
fleet, then steady with it).
"""
import asyncio
import json
import os
import statistics
import sys
import time
import urllib.request

from http1 import read_response

PORT, WORKERS, PARTITIONS = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
TTL, INTERVAL = float(sys.argv[4]), float(sys.argv[5])
CP_PID = int(sys.argv[6]) if len(sys.argv) > 6 else None
POOL = os.environ.get("FLEET_POOL")
ROUTES = f"/v1/pools/{POOL}" if POOL else "/v1"
latencies, failures = [], {}


def rss_mb(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


class Worker:
    def __init__(self, name):
        self.name, self.instance = name, f"sim-{name}"
        self.sequence, self.held = 0, {}  # partition -> epoch
        self.number = self.epoch = self.generation = None
        self.running = True
        self.beats = 0

    def body(self):
        self.sequence += 1
        held = sorted(self.held)
        request = {"instance": self.instance, "sequence": self.sequence, "held": held, "heldEpochs": [self.held[p] for p in held]}
        if self.number is not None:
            request.update(number=self.number, epoch=self.epoch)
        if self.generation:
            request["generation"] = self.generation
        return json.dumps(request, separators=(",", ":")).encode()

    async def run(self, start):
        reader, writer = await asyncio.open_connection("127.0.0.1", PORT)
        tick = start
        while self.running:
            await asyncio.sleep(max(0.0, tick - time.monotonic()))
            if not self.running:
                break
            body = self.body()
            writer.write((f"POST {ROUTES}/workers/{self.name}/heartbeat HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                          f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n").encode() + body)
            sent = time.monotonic()
            code, payload = await read_response(reader)
            latencies.append(time.monotonic() - sent)
            if code == "200":
                answer = json.loads(payload)
                self.number, self.epoch, self.generation = answer["number"], answer["epoch"], answer.get("generation")
                # Granted: processing them now. Revoked: stopped at once, so no longer held.
                self.held = dict(zip(answer["partitions"], answer["partitionEpochs"]))
                self.beats += 1
            else:
                failures[code] = failures.get(code, 0) + 1
            tick += INTERVAL
        writer.close()


def holders(fleet):
    owned = {}
    for worker in fleet:
        if worker.running:
            for partition in worker.held:
                owned.setdefault(partition, []).append(worker)
    return owned


async def wait_until(condition, limit, what):
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > limit:
            raise SystemExit(f"{what}: not within {limit:.0f} s")
        await asyncio.sleep(0.02)
    return time.monotonic() - started


async def main():
    idle = rss_mb(CP_PID) if CP_PID else None
    fleet = [Worker(f"sim-{i:05d}") for i in range(WORKERS)]
    start = time.monotonic() + 0.5
    tasks = [asyncio.create_task(w.run(start + INTERVAL * i / WORKERS)) for i, w in enumerate(fleet)]

    published = {}
    polling = {"on": True}  # off while latency and memory are measured: the layout is a large answer

    async def poll_layout():
        while True:
            if not polling["on"]:
                await asyncio.sleep(0.05)
                continue
            try:
                text = await asyncio.to_thread(lambda: urllib.request.urlopen(f"http://127.0.0.1:{PORT}{ROUTES}/layout", timeout=5).read())
                published.clear()
                published.update(json.loads(text))
            except OSError:
                pass
            await asyncio.sleep(0.1)

    poller = asyncio.create_task(poll_layout())

    def steady():
        # Every live worker a member of the published layout, holding exactly its share there, alone.
        live = [w for w in fleet if w.running]
        members = set(published.get("members", []))
        if not members or any(w.number not in members for w in live) or len(members) != len(live):
            return False
        shares = {}
        for partition, owner in enumerate(published["owners"]):
            shares.setdefault(owner, set()).add(partition)
        owned = holders(fleet)
        return all(set(w.held) == shares.get(w.number, set()) for w in live) and all(len(h) == 1 for h in owned.values()) \
            and len(owned) == PARTITIONS

    took = await wait_until(steady, 20 * TTL, "steady state")
    numbers = sorted(w.number for w in fleet)
    assert numbers == list(range(WORKERS)), "numbers are not 0..WORKERS-1"
    shares = [len(w.held) for w in fleet]
    print(f"steady after {took:.1f} s: {WORKERS} workers, {PARTITIONS} partitions, "
          f"share min {min(shares)} / mean {PARTITIONS / WORKERS:.1f} / max {max(shares)}")
    hold = os.environ.get("FLEET_HOLD_SECONDS")
    if hold:
        polling["on"] = False
        print("steady", flush=True)
        await asyncio.sleep(float(hold))
        for worker in fleet:
            worker.running = False
        poller.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        return
    polling["on"] = False
    await asyncio.sleep(3 * INTERVAL)
    latencies.clear()
    await asyncio.sleep(5)
    steady_rss = rss_mb(CP_PID) if CP_PID else None
    q = statistics.quantiles(latencies, n=100)
    print(f"heartbeats at steady state: {len(latencies) / 5:.0f}/s, p50 {q[49] * 1000:.2f} ms, p99 {q[98] * 1000:.2f} ms")

    # A worker stops heartbeating, as a SIGKILLed one does.
    victim = fleet[WORKERS // 2]
    lost = set(victim.held)
    victim.running = False
    killed = time.monotonic()

    def taken_over():
        owned = holders(fleet)
        return all(p in owned for p in lost)

    takeover = await wait_until(taken_over, 5 * TTL, "takeover")
    print(f"kill: {len(lost)} partitions of {victim.name} granted to others after {takeover:.2f} s "
          f"= {takeover / TTL:.2f} x TTL = {takeover / INTERVAL:.1f} x heartbeat interval")
    # A new worker joins (it gets the freed number once its quarantine ends).
    polling["on"] = True
    await wait_until(steady, 5 * TTL, "steady again")
    newcomer = Worker("sim-joiner")
    fleet.append(newcomer)
    joined = time.monotonic()
    tasks.append(asyncio.create_task(newcomer.run(joined)))

    def settled():
        # Its share in the published layout, all held by it and by nobody else.
        if newcomer.number is None or newcomer.number not in published.get("members", []):
            return False
        share = {p for p, owner in enumerate(published["owners"]) if owner == newcomer.number}
        owned = holders(fleet)
        return share and set(newcomer.held) == share and all(len(owned[p]) == 1 for p in share)

    join = await wait_until(settled, 10 * TTL, "join")
    poller.cancel()
    print(f"join: {newcomer.name} (number {newcomer.number}) holds its share of {len(newcomer.held)} partitions, "
          f"each held by nobody else, after {join:.2f} s = {join / TTL:.2f} x TTL = {join / INTERVAL:.1f} x heartbeat interval")
    if CP_PID:
        print(f"control plane RSS: idle {idle:.1f} MB, steady with {WORKERS} workers x {1 / INTERVAL:.0f} Hz and "
              f"{PARTITIONS} partitions {steady_rss:.1f} MB ({steady_rss / idle:.2f} x idle)")
    if failures:
        print(f"non-200 answers: {failures}")
    for worker in fleet:
        worker.running = False
    await asyncio.gather(*tasks, return_exceptions=True)


asyncio.run(main())
