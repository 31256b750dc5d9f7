#!/usr/bin/env python3
"""The live part of scripts/run: starts the control planes and the workers, supervises them, and
draws the operator's view every second until q, Ctrl-C, --duration, or Redis or PostgreSQL dying.

A process that dies is shown as gone with its exit reason, and everything else keeps running: the
workers reach the control planes through one local address that forwards each connection to a live
replica, as a Kubernetes Service would. On a terminal the view redraws in place on the alternate
screen (restored on exit) and keys act on the selected process; piped, it prints plain frames.

Started by scripts/run, which owns Redis and PostgreSQL and stops them after this exits."""
import argparse
import ctypes
import json
import os
import select
import signal
import socket
import subprocess
import sys
import termios
import threading
import time
import tty
import urllib.error
import urllib.request

KEYS = "keys: ↑/↓ or 0-9 select · k kill (SIGKILL) · p pause/resume (SIGSTOP/SIGCONT) · t stop (SIGTERM) · a add a worker · r restart gone · q quit"
PR_SET_PDEATHSIG = 1


def die_with_parent():
    """In the child before exec: SIGKILL when this supervisor dies, however it dies."""
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Process:
    """One control plane, worker (of a pool) or Kafka responder: its process across restarts, and how it
    last ended."""

    def __init__(self, kind, index, port, pool="default"):
        self.kind, self.index, self.port, self.pool = kind, index, port, pool
        self.name = kind if kind == "responder" else f"{kind}-{index}" if pool == "default" else f"{pool}-{kind}-{index}"
        self.popen = None
        self.paused = False
        self.ended = None  # (reason, monotonic time) once gone
        self.stopping = False

    @property
    def running(self):
        return self.popen is not None and self.ended is None

    def state(self, now):
        if self.ended:
            return f"gone: {self.ended[0]} ({now - self.ended[1]:.0f} s ago)"
        if self.paused:
            return "paused (SIGSTOP)"
        return "stopping (SIGTERM)" if self.stopping else "running"


class Supervisor:
    def __init__(self, options):
        self.options = options
        self.logs = os.path.join(options.state, "logs")
        self.control_planes = [Process("control-plane", i, free_port()) for i in range(options.control_planes)]
        self.workers = [Process("worker", i, free_port()) for i in range(options.workers)]
        self.tag_workers = [Process("worker", i, free_port(), pool="tags") for i in range(options.tag_workers)]
        # --kafka: the request/reply demo's responder, and each worker's Kafka status (GET /v1/status).
        self.responders = [Process("responder", 0, 0)] if options.kafka else []
        self.kafka = {}
        self.groups = []
        self.selected = 0
        self.message = ""
        self.overview = None  # the default pool's
        self.overviews = {}  # every pool's, by name
        self.pools = []  # GET /v1/pools
        self.overview_error = ""
        self.claims = {}
        self.next_cp = 0
        self.lock = threading.Lock()

    # Processes

    def start(self, process):
        env = dict(os.environ, PORT=str(process.port), HOST="127.0.0.1")
        if process.kind == "worker":
            command = [os.path.join(self.options.bin, "worker")]
            env.update(POD_NAME=process.name, POOL=process.pool, CONTROL_PLANE_URL=f"http://127.0.0.1:{self.options.service_port}")
            if self.options.kafka:
                env.update(KAFKA_BROKERS=self.options.kafka, KAFKA_TOPICS="replies", KAFKA_REQUEST_TOPIC="requests")
        elif process.kind == "responder":
            here = os.path.dirname(os.path.abspath(__file__))
            command = [self.options.python, os.path.join(here, "kafka_responder.py"), "--brokers", self.options.kafka,
                       "--status", self.responder_status()]
        else:
            command = [os.path.join(self.options.bin, "control-plane")]
        log = open(os.path.join(self.logs, process.name + ".log"), "ab")
        process.popen = subprocess.Popen(
            command, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, preexec_fn=die_with_parent
        )
        log.close()
        process.paused, process.ended, process.stopping = False, None, False

    def everything(self):
        return self.control_planes + self.workers + self.tag_workers + self.responders

    def responder_status(self):
        return os.path.join(self.options.state, "kafka", "responder.json")

    def reap(self):
        """Notices every process that ended since the last look, with why."""
        for process in self.everything():
            if process.running and process.popen.poll() is not None:
                code = process.popen.returncode
                reason = f"killed by {signal.Signals(-code).name}" if code < 0 else f"exited {code}"
                if process.stopping:
                    reason += " after SIGTERM"
                last = self.last_log_line(process)
                if code > 0 and last:
                    reason += f": {last[:80]}"
                process.ended = (reason, time.monotonic())
                self.message = f"{process.name} is gone ({reason}); the others carry on"

    def last_log_line(self, process):
        try:
            with open(os.path.join(self.logs, process.name + ".log"), "rb") as f:
                f.seek(max(0, os.path.getsize(f.name) - 4096))
                lines = f.read().decode("utf-8", "replace").strip().splitlines()
                return lines[-1] if lines else ""
        except OSError:
            return ""

    def send(self, process, signum, verb):
        if not process.running:
            self.message = f"{process.name} is not running (r restarts what is gone)"
            return
        if signum == signal.SIGTERM:
            if process.paused:
                os.kill(process.popen.pid, signal.SIGCONT)
                process.paused = False
            process.stopping = True
        os.kill(process.popen.pid, signum)
        self.message = f"{verb} {process.name} (pid {process.popen.pid})"

    def toggle_pause(self, process):
        if not process.running:
            self.message = f"{process.name} is not running"
            return
        os.kill(process.popen.pid, signal.SIGCONT if process.paused else signal.SIGSTOP)
        process.paused = not process.paused
        self.message = f"{'paused' if process.paused else 'resumed'} {process.name}"

    def add_worker(self):
        process = Process("worker", len(self.workers), free_port())
        self.workers.append(process)
        self.start(process)
        self.message = f"added {process.name} (pid {process.popen.pid})"

    def restart_gone(self):
        gone = [p for p in self.everything() if p.ended]
        for process in gone:
            self.start(process)
        self.message = f"restarted {', '.join(p.name for p in gone)}" if gone else "nothing is gone"

    def stop_all(self):
        """Workers first (they release their leases through a control plane), then the control planes:
        SIGTERM, SIGKILL after 5 s."""
        for group in (self.workers + self.tag_workers, self.control_planes, self.responders):
            live = [p for p in group if p.running]
            for process in live:
                if process.paused:
                    os.kill(process.popen.pid, signal.SIGCONT)
                process.popen.send_signal(signal.SIGTERM)
            deadline = time.monotonic() + 5
            for process in live:
                try:
                    process.popen.wait(max(0.1, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    process.popen.kill()
                    process.popen.wait()

    # The local Service: every connection goes to a live control plane, round robin.

    def serve(self, listener):
        while True:
            client, _ = listener.accept()
            threading.Thread(target=self.forward, args=(client,), daemon=True).start()

    def forward(self, client):
        with self.lock:
            candidates = [p for p in self.control_planes if p.running and not p.paused]
            start = self.next_cp
            self.next_cp += 1
        upstream = None
        for offset in range(len(candidates)):
            process = candidates[(start + offset) % len(candidates)]
            try:
                upstream = socket.create_connection(("127.0.0.1", process.port), timeout=1)
                upstream.settimeout(None)
                break
            except OSError:
                continue
        if upstream is None:
            client.close()
            return
        threading.Thread(target=self.pipe, args=(upstream, client), daemon=True).start()
        self.pipe(client, upstream)

    @staticmethod
    def pipe(source, target):
        try:
            while data := source.recv(65536):
                target.sendall(data)
        except OSError:
            pass
        for s in (source, target):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        source.close()

    # What the view shows

    def get(self, path):
        request = urllib.request.Request(f"http://127.0.0.1:{self.options.service_port}{path}")
        request.add_header("Authorization", "Bearer " + os.environ.get("AUTH_TOKEN", ""))
        with urllib.request.urlopen(request, timeout=2) as response:
            return json.load(response)

    def refresh(self):
        try:
            self.pools = self.get("/v1/pools")["pools"]
            self.overviews = {p["name"]: self.get(f"/v1/pools/{p['name']}/overview") for p in self.pools}
            self.overview, self.overview_error = self.overviews.get("default"), ""
        except urllib.error.HTTPError as error:
            self.overview_error = f"{error.code}: {error.read().decode('utf-8', 'replace')[:120]}"
        except (OSError, ValueError) as error:
            self.overview_error = f"no control plane answers ({error})"
        query = (
            "select coalesce(o.worker, w.worker), coalesce(o.partitions, 0), coalesce(w.rows, 0) from"
            " (select worker, count(*) as partitions from partition_owners group by worker) o full join"
            " (select current_worker as worker, count(*) as rows from work_items where current_worker is not null group by current_worker) w"
            " on o.worker = w.worker"
        )
        try:
            result = subprocess.run(
                ["psql", os.environ["DATABASE_URL"], "-qtAX", "-F", " ", "-c", query], capture_output=True, text=True, timeout=5
            )
        except (OSError, subprocess.TimeoutExpired):
            return
        self.claims = {}
        for line in result.stdout.splitlines():
            parts = line.split()
            if len(parts) == 3:
                self.claims[parts[0]] = (int(parts[1]), int(parts[2]))
        if self.options.kafka:
            self.refresh_kafka()

    def refresh_kafka(self):
        """Each live worker's consumer and requests (its /v1/status), and the groups claimed in PostgreSQL."""
        self.kafka = {}
        for process in self.workers + self.tag_workers:
            if not process.running or process.paused:
                continue
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{process.port}/v1/status", timeout=0.5) as response:
                    self.kafka[process.name] = json.load(response).get("kafka")
            except (OSError, ValueError):
                pass
        # Every pool has its own kafka_group_owners (the default pool's in public, another's in its schema).
        try:
            tables = self.psql("select format('%I.%I', schemaname, tablename) from pg_tables where tablename = 'kafka_group_owners'").split()
            if tables:
                self.groups = sorted(self.psql(" union all ".join(f"select group_name from {t}" for t in tables)).split())
        except (OSError, subprocess.TimeoutExpired):
            pass

    @staticmethod
    def psql(query):
        return subprocess.run(["psql", os.environ["DATABASE_URL"], "-qtAX", "-c", query], capture_output=True, text=True, timeout=5).stdout

    def kafka_lines(self):
        lines = [
            f"Kafka {self.options.kafka}: each worker in its group sends a request a second on `requests`, its group in a header;"
            " the responder answers on `replies` 2 s later; every group reads all of `replies`",
            f"  {'process':<16} {'group':<10} {'sent':>6} {'replies':>7} {'to earlier holders':>18} {'records':>8} {'joins':>5}",
        ]
        for process in self.workers + self.tag_workers:
            kafka = self.kafka.get(process.name)
            if not kafka:
                lines.append(f"  {process.name:<16} {'-':<10}")
                continue
            requests = kafka.get("requests") or {}
            lines.append(
                f"  {process.name:<16} {kafka.get('group') or '(none)':<10} {requests.get('sent', 0):>6} {requests.get('replies', 0):>7}"
                f" {requests.get('earlierHoldersReplies', 0):>18} {kafka['records']:>8} {kafka['joins']:>5}"
            )
        try:
            with open(self.responder_status()) as f:
                responder = json.load(f)
            lines.append(f"  responder answered {responder['answered']}, {responder['waiting']} waiting")
        except (OSError, ValueError, KeyError):
            lines.append("  responder: no status yet")
        lines.append(f"groups claimed (kafka_group_owners): {', '.join(self.groups) or 'none'}")
        return lines

    def frame(self, started):
        now = time.monotonic()
        o = self.options
        workers = self.workers + self.tag_workers
        live_workers = sum(1 for p in workers if p.running)
        lines = [
            f"Rollcall on this machine: {sum(1 for p in self.control_planes if p.running)}/{len(self.control_planes)} control planes,"
            f" {live_workers}/{len(workers)} workers running, up {int(now - started)} s"
            f" · pools: {', '.join(map(pool_label, self.pools)) or '?'}",
            f"status page: http://127.0.0.1:{o.service_port}/_status  (any user name; password: the token in {o.token_file})",
            f"Redis {os.environ['REDIS_URL']}  PostgreSQL {os.environ['DATABASE_URL'].split('@')[-1]}  logs {self.logs}/",
            KEYS,
            self.message,
            "",
        ]
        leases = {(pool, w["name"]): w for pool, overview in self.overviews.items() for w in overview.get("workers", [])}
        lines.append(
            f"  {'process':<16} {'pid':>7}  {'state':<38} {'number':>6} {'lease left':>10} {'granted':>7} {'claimed':>7} {'rows':>6}  consumer group"
        )
        for row, process in enumerate(self.everything()):
            pid = str(process.popen.pid) if process.popen else "-"
            lease = leases.get((process.pool, process.name)) if process.kind == "worker" else None
            claimed, rows = self.claims.get(process.name, (0, 0))
            if process.kind == "control-plane":
                detail = f"{'':>6} {'':>10} {'':>7} {'':>7} {'':>6}  port {process.port}"
            elif process.kind == "responder":
                detail = f"{'':>6} {'':>10} {'':>7} {'':>7} {'':>6}  Kafka request/reply"
            elif lease:
                detail = (
                    f"{lease['number']:>6} {lease['leaseMillisLeft'] / 1000:>9.1f}s {lease['partitions']:>7} {claimed:>7} {rows:>6}"
                    f"  {lease['consumerGroup']}"
                )
            else:
                detail = f"{'-':>6} {'-':>10} {'-':>7} {claimed:>7} {rows:>6}"
            marker = ">" if row == self.selected else " "
            lines.append(f"{marker} {process.name:<16} {pid:>7}  {process.state(now)[:38]:<38} {detail}")
        lines.append("")
        if self.options.kafka:
            lines += self.kafka_lines() + [""]
        if self.overview:
            layout, handoffs = self.overview["layout"], self.overview["handoffs"]
            names = {w["number"]: w["name"] for w in self.overview["workers"]}
            counts = {}
            for holder in layout["holders"]:
                counts[holder] = counts.get(holder, 0) + 1
            shares = " · ".join(f"{names.get(n, 'gone')} {counts[n]}" for n in sorted(k for k in counts if k is not None))
            lines.append(
                f"layout v{layout['version']}, {layout['partitionCount']} partitions held: {shares or 'none'}"
                f" · pending handoffs {handoffs['pending']} · unowned {handoffs['unowned']}"
            )
            fleet = self.overview.get("fleet")
            if fleet:
                lines.append(load_line(fleet, [w for w in self.overview["workers"] if w["kind"] != "numberOnly"]))
            quarantine = ", ".join(f"{q['number']} ({q['millisLeft'] / 1000:.1f} s)" for q in self.overview["quarantine"])
            lines.append(f"numbers in quarantine: {quarantine or 'none'}")
            for pool in self.pools:
                if pool["name"] == "default" or pool["name"] not in self.overviews:
                    continue
                held = ", ".join(f"{w['name']} {w['number']}" for w in self.overviews[pool["name"]]["workers"])
                kind = f"{pool['partitions']} partitions" if pool["partitions"] else "numbers only"
                lines.append(f"pool {pool['name']} ({kind}): {pool['liveWorkers']} of {pool['maxWorkers']} numbers leased: {held or 'none'}")
            lines.append("recent events:")
            for event in self.overview["events"][:6]:
                lines.append(f"  {(self.overview['nowMillis'] - event['atMillis']) / 1000:6.1f} s ago  {describe(event)}")
        else:
            lines.append(f"control planes: {self.overview_error}")
        return lines

    # Keys

    def handle_key(self, key):
        rows = self.everything()
        if key in ("\x1b[A", "\x1bOA"):
            self.selected = (self.selected - 1) % len(rows)
        elif key in ("\x1b[B", "\x1bOB"):
            self.selected = (self.selected + 1) % len(rows)
        elif key.isdigit():
            index = int(key)
            if index < len(self.workers):
                self.selected = len(self.control_planes) + index
        elif key == "k":
            self.send(rows[self.selected], signal.SIGKILL, "killed")
        elif key == "t":
            self.send(rows[self.selected], signal.SIGTERM, "asked to stop:")
        elif key == "p":
            self.toggle_pause(rows[self.selected])
        elif key == "a":
            self.add_worker()
        elif key == "r":
            self.restart_gone()
        elif key == "q":
            self.message = "q pressed"
            return False
        return True


def load_line(fleet, members):
    """The pool's reported load, each worker's load over the mean, and the fleet size it needs."""
    # The mean of what the workers hold now (mid-handoff a partition's load belongs to nobody).
    mean = sum(w.get("load", 0) for w in members) / len(members) if members else 0
    ratios = [(w["name"], w.get("load", 0) / mean if mean else 0) for w in members]
    worst = max((ratio for _, ratio in ratios), default=0)
    needs = f" · needs {fleet['desiredWorkers']} workers" if fleet.get("desiredWorkers") is not None else ""
    per = " · ".join(f"{name} {ratio:.2f}" for name, ratio in ratios)
    return f"load {fleet['load']:.0f} rows/s, max/mean {worst:.2f}{needs} · per worker (x mean): {per or 'none'}"


def pool_label(pool):
    """`default (1024 partitions)`, `tags (numbers only)`."""
    return pool["name"] + (f" ({pool['partitions']} partitions)" if pool["partitions"] else " (numbers only)")


def describe(event):
    kind = event["kind"]
    if kind in ("leased", "adopted"):
        return f"{event['name']} {'got' if kind == 'leased' else 'took back'} number {event['number']}"
    if kind == "released":
        return f"{event['name']} released number {event['number']}"
    if kind == "expired":
        return f"{event['name']}'s lease on number {event['number']} expired"
    if kind == "layout":
        return f"layout v{event['version']}: {event['members']} members, {event['moved']} partitions moved"
    return f"the store lost state: no new numbers or grants until {event.get('until')}"


def split_keys(text):
    """Keys as typed: an escape sequence (an arrow) is one key."""
    keys, i = [], 0
    while i < len(text):
        length = 3 if text[i] == "\x1b" else 1
        keys.append(text[i : i + length])
        i += length
    return keys


def alive(pid_file):
    try:
        with open(pid_file) as f:
            pid = int(f.readline().strip())
        os.kill(pid, 0)
        return True
    except PermissionError:
        return True
    except (OSError, ValueError):
        return False


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin", required=True)
    parser.add_argument("--state", required=True)
    parser.add_argument("--workers", type=int, required=True)
    parser.add_argument("--tag-workers", type=int, default=0)
    parser.add_argument("--control-planes", type=int, required=True)
    parser.add_argument("--duration", type=int, default=0)
    parser.add_argument("--service-port", type=int, required=True)
    parser.add_argument("--token-file", required=True)
    parser.add_argument("--kafka", default="", help="a Kafka broker: the request/reply demo (scripts/run --kafka)")
    parser.add_argument("--python", default="", help="the virtualenv's python, for the responder (confluent-kafka)")
    options = parser.parse_args()
    supervisor = Supervisor(options)

    listener = socket.create_server(("127.0.0.1", options.service_port), reuse_port=False)
    threading.Thread(target=supervisor.serve, args=(listener,), daemon=True).start()
    for process in supervisor.control_planes:
        supervisor.start(process)
    for process in supervisor.responders + supervisor.workers + supervisor.tag_workers:
        supervisor.start(process)

    quit_requested = []
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, lambda signum, _: quit_requested.append(signal.Signals(signum).name))

    interactive = sys.stdout.isatty()
    keys = interactive and sys.stdin.isatty()
    saved = termios.tcgetattr(sys.stdin) if keys else None
    redis_pid = os.path.join(options.state, "redis", "redis.pid")
    postgres_pid = os.path.join(options.state, "postgres", "data", "postmaster.pid")
    started = time.monotonic()
    code, why = 0, ""
    try:
        if interactive:
            sys.stdout.write("\x1b[?1049h\x1b[?25l")
        if keys:
            tty.setcbreak(sys.stdin.fileno())
        next_frame = 0.0
        while not quit_requested:
            supervisor.reap()
            if not alive(redis_pid):
                code, why = 1, "Redis is gone: stopping everything"
                break
            if not alive(postgres_pid):
                code, why = 1, "PostgreSQL is gone: stopping everything"
                break
            if options.duration and time.monotonic() - started >= options.duration:
                why = f"stopped after --duration {options.duration}"
                break
            if time.monotonic() >= next_frame:
                supervisor.refresh()
                lines = supervisor.frame(started)
                if interactive:
                    # Cut to the window: a line that wrapped or a frame taller than the window would scroll it.
                    width, height = os.get_terminal_size()
                    sys.stdout.write("\x1b[H" + "\x1b[K\r\n".join(line[:width] for line in lines[:height]) + "\x1b[K\x1b[J")
                else:
                    sys.stdout.write("\n".join(lines) + "\n---\n")
                sys.stdout.flush()
                next_frame = time.monotonic() + 1
            timeout = max(0.05, next_frame - time.monotonic())
            if keys:
                try:
                    ready, _, _ = select.select([sys.stdin], [], [], timeout)
                except InterruptedError:
                    continue
                if ready:
                    if not all(supervisor.handle_key(key) for key in split_keys(os.read(sys.stdin.fileno(), 64).decode("utf-8", "replace"))):
                        why = "q pressed"
                        break
                    next_frame = 0.0
            else:
                time.sleep(timeout)
    finally:
        if keys:
            termios.tcsetattr(sys.stdin, termios.TCSADRAIN, saved)
        if interactive:
            sys.stdout.write("\x1b[?25h\x1b[?1049l")
            sys.stdout.flush()
        print(why or f"{quit_requested[0] if quit_requested else 'stopped'} received")
        print("stopping: workers, then control planes")
        supervisor.stop_all()
        listener.close()
    return code


if __name__ == "__main__":
    sys.exit(main())
