#!/usr/bin/env python3
"""Writes the load's POOLS_FILE and the heartbeat paths of its workers (one per line).

usage: pools_file.py POOLS_YAML PATHS_FILE [POOLS=1000] [WORKERS=10000]

Four partitioned pools (1,024 workers over 4,096 partitions, 512 over 1,024, 128 over 1,024, 32 over
256), the rest numbers-only (64 numbers each) sharing the remaining workers evenly. Worker i of pool P
is named w-%05d; its heartbeat path is /v1/pools/P/workers/w-i/heartbeat. One more pool, `solo`
(numbers only, 1,000 workers, in PATHS_FILE.solo), is the same control plane's one-pool reference.
"""
import sys

pools_yaml, paths_file = sys.argv[1], sys.argv[2]
pool_count = int(sys.argv[3]) if len(sys.argv) > 3 else 1000
worker_count = int(sys.argv[4]) if len(sys.argv) > 4 else 10000
partitioned = [(1024, 4096), (512, 1024), (128, 1024), (32, 256)][:pool_count]
rest = pool_count - len(partitioned)
left = worker_count - sum(workers for workers, _ in partitioned)
sizes = [workers for workers, _ in partitioned] + [left // rest + (1 if i < left % rest else 0) for i in range(rest)]
with open(pools_yaml, "w") as pools, open(paths_file, "w") as paths:
    pools.write("pools:\n")
    for index, size in enumerate(sizes):
        name = f"p{index:04d}"
        partitions = partitioned[index][1] if index < len(partitioned) else 0
        pools.write(f"  - name: {name}\n    partitions: {partitions}\n    maxWorkers: {1024 if partitions else 64}\n")
        for worker in range(size):
            paths.write(f"/v1/pools/{name}/workers/w-{worker:05d}/heartbeat\n")
    pools.write("  - name: solo\n    partitions: 0\n    maxWorkers: 1024\n")
with open(paths_file + ".solo", "w") as paths:
    for worker in range(1000):
        paths.write(f"/v1/pools/solo/workers/w-{worker:05d}/heartbeat\n")
print(f"{pool_count} pools ({len(partitioned)} partitioned), {worker_count} workers; and pool solo, 1,000 workers")
