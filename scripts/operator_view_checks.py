#!/usr/bin/env python3
"""What an operator sees, checked end to end (scripts/test-operator-view runs it):

1. scripts/run on a terminal (tmux, keys with send-keys, the screen with capture-pane), 3 workers;
2. the status page of its control planes in headless Chromium (driven over the DevTools protocol,
   logging in through the browser's own HTTP Basic prompt with the token), with screenshots under
   .build/: 3 workers with their numbers, one cell per partition in 3 owner colours;
3. a worker killed by key: the page shows 2 workers and 2 colours within LEASE_TTL + 2 s, the view shows
   it gone (killed by SIGKILL), its partitions held by the others, and the script still running; then a
   control plane killed by key: shown gone, the workers keep their numbers, the page keeps updating;
4. pause and resume, a graceful stop, restart of what is gone, a worker added, then q: everything
   stopped, nothing left running;
5. scripts/run piped (plain frames, no terminal codes) until Redis is killed under it: it exits 1 and
   leaves nothing running.

  operator_view_checks.py STATE_DIR ARTIFACT_DIR"""
import base64
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

import websocket

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SESSION = f"rollcall-view-{os.getpid()}"
failures = []


def check(condition, what):
    print(("ok   " if condition else "FAIL ") + what, flush=True)
    if not condition:
        failures.append(what)
    return condition


def tmux(*args):
    return subprocess.run(["tmux", *args], capture_output=True, text=True, check=True).stdout


def screen():
    return tmux("capture-pane", "-p", "-t", SESSION)


def wait_for(condition, timeout, interval=0.25):
    """Polls condition() until it returns something true or timeout passes; returns the last value."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(interval)


def rows(text):
    """The process rows of scripts/run's view: name -> (pid, state, number, granted)."""
    table = {}
    for line in text.splitlines():
        m = re.match(r"^[> ] ((?:control-plane|worker)-\d+)\s+(\d+|-)\s+(.*)$", line)
        if not m:
            continue
        rest = m.group(3)
        state = rest[:38].strip()
        fields = rest[38:].split()
        number = int(fields[0]) if fields and fields[0].isdigit() and m.group(1).startswith("worker") else None
        granted = int(fields[2]) if number is not None and len(fields) > 2 and fields[2].isdigit() else None
        table[m.group(1)] = (int(m.group(2)) if m.group(2).isdigit() else None, state, number, granted)
    return table


def worker_numbers(table):
    """The numbers the workers' rows show (None for a worker without one)."""
    return [row[2] for name, row in table.items() if name.startswith("worker")]


def running(pid):
    """Whether pid is a process that has not exited (a zombie waiting for its parent has)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def pane_alive():
    return tmux("list-panes", "-t", SESSION, "-F", "#{pane_dead}").strip() == "0"


def pane_exit_status():
    """The exit status of the pane's command once tmux has it, else None. tmux marks a pane dead when
    its terminal closes, which can come before the process's exit is reaped: only then are the status
    and "Pane is dead" there."""
    status = tmux("list-panes", "-t", SESSION, "-F", "#{pane_dead}:#{pane_dead_status}:#{pane_dead_signal}").strip()
    dead, code, signal_number = status.split(":")
    if dead != "1" or (code == "" and signal_number == ""):
        return None
    return f"signal {signal_number}" if signal_number else code


class Browser:
    """Headless Chromium, one page, driven over the DevTools protocol. It answers the browser's HTTP
    auth prompts with the credentials given, as a person typing them into the prompt would."""

    def __init__(self, username, password, artifacts):
        self.profile = tempfile.mkdtemp(prefix="rollcall-chromium-")
        self.process = subprocess.Popen(
            ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run", "--remote-debugging-port=0",
             f"--user-data-dir={self.profile}", "--window-size=1280,1400", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        port = None
        for line in self.process.stderr:
            m = re.search(r"DevTools listening on ws://127\.0\.0\.1:(\d+)/", line)
            if m:
                port = int(m.group(1))
                break
        threading.Thread(target=lambda: [None for _ in self.process.stderr], daemon=True).start()
        targets = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/json"))
        page = next(t for t in targets if t["type"] == "page")
        self.ws = websocket.create_connection(page["webSocketDebuggerUrl"], timeout=30)
        self.credentials = (username, password)
        self.auth_prompts = 0
        self.next_id = 0
        self.replies = {}
        self.lock = threading.Condition()
        threading.Thread(target=self.read, daemon=True).start()
        self.call("Fetch.enable", handleAuthRequests=True, patterns=[{"urlPattern": "*"}])
        self.call("Emulation.setDeviceMetricsOverride", width=1280, height=1400, deviceScaleFactor=1, mobile=False)
        self.artifacts = artifacts

    def read(self):
        while True:
            try:
                message = json.loads(self.ws.recv())
            except Exception:
                return
            if "id" in message:
                with self.lock:
                    self.replies[message["id"]] = message
                    self.lock.notify_all()
            elif message.get("method") == "Fetch.requestPaused":
                self.send("Fetch.continueRequest", requestId=message["params"]["requestId"])
            elif message.get("method") == "Fetch.authRequired":
                self.auth_prompts += 1
                username, password = self.credentials
                self.send("Fetch.continueWithAuth", requestId=message["params"]["requestId"],
                          authChallengeResponse={"response": "ProvideCredentials", "username": username, "password": password})

    def send(self, method, **params):
        with self.lock:
            self.next_id += 1
            ident = self.next_id
        self.ws.send(json.dumps({"id": ident, "method": method, "params": params}))
        return ident

    def call(self, method, **params):
        ident = self.send(method, **params)
        with self.lock:
            self.lock.wait_for(lambda: ident in self.replies, timeout=30)
            reply = self.replies.pop(ident)
        if "error" in reply:
            raise RuntimeError(f"{method}: {reply['error']}")
        return reply["result"]

    def evaluate(self, expression):
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        return result["result"].get("value")

    def screenshot(self, name):
        data = self.call("Page.captureScreenshot", format="png")["data"]
        path = os.path.join(self.artifacts, name)
        with open(path, "wb") as f:
            f.write(base64.b64decode(data))
        return path

    def close(self):
        self.process.kill()
        self.process.wait()
        subprocess.run(["rm", "-rf", self.profile])


# What the page shows, read from its DOM: the worker rows and the partition cells.
PAGE_STATE = """JSON.stringify((() => {
  const cells = [...document.querySelectorAll('#grid rect')];
  const held = cells.filter(c => c.dataset.state === 'held');
  return {
    state: document.body.dataset.state || '',
    workers: [...document.querySelectorAll('#workers tbody tr[data-number]')].map(r => [r.dataset.name, Number(r.dataset.number)]),
    cells: cells.length,
    holders: [...new Set(cells.map(c => c.dataset.holder))].sort(),
    colours: [...new Set(held.map(c => c.getAttribute('fill')))].sort(),
    version: Number(document.body.dataset.version || 0),
  };
})())"""


def page_state(browser):
    return json.loads(browser.evaluate(PAGE_STATE) or "{}")


def main(state, artifacts):
    os.makedirs(artifacts, exist_ok=True)
    # One tmux command list, so the pane keeps its exit status even if scripts/run ends at once.
    tmux("new-session", "-d", "-s", SESSION, "-x", "200", "-y", "50", f"cd {ROOT} && scripts/run --workers 3 --state {state}",
         ";", "set-option", "-t", SESSION, "remain-on-exit", "on")
    browser = None
    try:
        # 1. Three workers with numbers; the first of a new store comes one LEASE_TTL + quarantine after the start.
        # One capture per try: before the first frame the screen has no rows, so "every worker has a number"
        # holds of it vacuously, and the next capture may be the first frame, whose workers have none yet.
        table = wait_for(lambda: (t := rows(screen())) and len(t) == 5 and None not in worker_numbers(t) and t, 300) or rows(screen())
        check(len(table) == 5 and None not in worker_numbers(table), "scripts/run shows 2 control planes and 3 workers, each worker with a number")
        check(None not in worker_numbers(table) and sorted(worker_numbers(table)) == [0, 1, 2], f"the workers hold numbers 0, 1, 2: {table}")
        check("\x1b" not in screen() and "keys: " in screen() and "k kill" in screen(), "the key help is on screen")
        port = int(re.search(r"status page: http://127\.0\.0\.1:(\d+)/_status", screen()).group(1))
        token = open(os.path.join(state, "auth-token")).read().strip()
        request = urllib.request.Request(f"http://127.0.0.1:{port}/v1/overview", headers={"Authorization": f"Bearer {token}"})
        overview = json.load(urllib.request.urlopen(request))
        partitions, ttl = overview["layout"]["partitionCount"], overview["leaseTTLMillis"] / 1000
        all_held = wait_for(lambda: json.load(urllib.request.urlopen(request))["handoffs"]["pending"] == 0, 30)
        check(all_held, "every partition is granted to its owner (no pending handoff)")

        # 2. The status page in a real browser, through its login prompt.
        browser = Browser("operator", token, artifacts)
        browser.call("Page.navigate", url=f"http://127.0.0.1:{port}/_status")
        shown = wait_for(lambda: (s := page_state(browser)) and len(s.get("workers", [])) == 3 and len(s["colours"]) == 3 and s, 20)
        check(bool(shown), f"the page lists 3 workers and draws 3 owner colours: {shown or page_state(browser)}")
        if shown:
            numbers = {name: number for name, number in shown["workers"]}
            check(sorted(numbers) == ["worker-0", "worker-1", "worker-2"] and sorted(numbers.values()) == [0, 1, 2]
                  and all(table[name][2] == number for name, number in numbers.items()),
                  f"with the numbers scripts/run shows: {shown['workers']}")
            check(shown["cells"] == partitions, f"one cell per partition: {shown['cells']} cells, {partitions} partitions")
            check(shown["holders"] == ["0", "1", "2"], f"every cell is held by one of the three: {shown['holders']}")
        check(browser.auth_prompts >= 1, f"the browser was asked to log in ({browser.auth_prompts} prompts answered)")
        check(page_state(browser).get("state") == "ok", "the page's data requests succeed with the browser's login")
        print("screenshot:", browser.screenshot("status-page.png"))

        # 3. Kill worker-1 by key.
        tmux("send-keys", "-t", SESSION, "1", "k")
        killed_at = time.monotonic()
        gone = str(table["worker-1"][2])
        moved = wait_for(lambda: (s := page_state(browser)) and sorted(w[0] for w in s["workers"]) == ["worker-0", "worker-2"]
                         and len(s["colours"]) == 2 and gone not in s["holders"] and s, ttl + 10, interval=0.1)
        elapsed = time.monotonic() - killed_at
        check(bool(moved) and elapsed <= ttl + 2,
              f"the page shows 2 workers and 2 colours {elapsed:.1f} s after the kill (LEASE_TTL {ttl:.0f} s + 2 s allowed)")
        print("screenshot:", browser.screenshot("status-page-after-kill.png"))
        after = wait_for(lambda: (t := rows(screen())) and "killed by SIGKILL" in t["worker-1"][1]
                         and (t["worker-0"][3] or 0) + (t["worker-2"][3] or 0) == partitions and t, 15)
        check(bool(after), f"the view shows worker-1 gone (killed by SIGKILL) and its partitions granted to worker-0 and worker-2: {rows(screen())}")
        check(pane_alive(), "scripts/run is still running")

        # A control plane killed by key: the workers keep their leases through the other replica.
        tmux("send-keys", "-t", SESSION, "0", "Up", "Up", "k")
        cp_gone = wait_for(lambda: "killed by SIGKILL" in rows(screen())["control-plane-0"][1], 10)
        check(bool(cp_gone), f"the view shows control-plane-0 gone: {rows(screen())['control-plane-0']}")
        numbers_before = {name: rows(screen())[name][2] for name in ("worker-0", "worker-2")}
        time.sleep(3)
        kept = {name: rows(screen())[name][2] for name in ("worker-0", "worker-2")}
        check(kept == numbers_before and None not in kept.values() and pane_alive(),
              f"the workers keep their numbers through control-plane-1 ({numbers_before} -> {kept}), and scripts/run runs on")
        check(page_state(browser).get("state") == "ok" and len(page_state(browser)["workers"]) == 2,
              "the status page, served by the other replica through the same address, still updates")

        # 4. Pause and resume, a graceful stop, restart, add, quit.
        tmux("send-keys", "-t", SESSION, "2", "p")
        check(bool(wait_for(lambda: "paused" in rows(screen())["worker-2"][1], 5)), "p pauses worker-2 (SIGSTOP)")
        check(os.path.exists(f"/proc/{rows(screen())['worker-2'][0]}") and
              open(f"/proc/{rows(screen())['worker-2'][0]}/stat").read().split(")")[1].split()[0] == "T", "worker-2's process is stopped")
        tmux("send-keys", "-t", SESSION, "p")
        check(bool(wait_for(lambda: rows(screen())["worker-2"][1] == "running", 5)), "p again resumes it")
        tmux("send-keys", "-t", SESSION, "0", "t")
        stopped = wait_for(lambda: "exited 0 after SIGTERM" in rows(screen())["worker-0"][1], 15)
        check(bool(stopped), f"t stops worker-0 gracefully: {rows(screen())['worker-0']}")
        tmux("send-keys", "-t", SESSION, "r")
        restarted = wait_for(lambda: (t := rows(screen())) and all(t[n][1] == "running" for n in ("worker-0", "worker-1", "control-plane-0")) and t, 10)
        check(bool(restarted), f"r restarts what is gone: {rows(screen())}")
        tmux("send-keys", "-t", SESSION, "a")
        added = wait_for(lambda: (t := rows(screen())) and "worker-3" in t and t["worker-3"][2] is not None and (t["worker-3"][3] or 0) > 0 and t, 40)
        check(bool(added), f"a adds worker-3, which gets a number and partitions: {rows(screen()).get('worker-3')}")
        check(bool(wait_for(lambda: len(page_state(browser).get("workers", [])) == 4, 40)), "the page lists the 4 workers")
        pids = [r[0] for r in rows(screen()).values() if r[0]]
        redis_pid = int(open(os.path.join(state, "redis", "redis.pid")).read())
        postgres_pid = int(open(os.path.join(state, "postgres", "data", "postmaster.pid")).readline())
        tmux("send-keys", "-t", SESSION, "q")
        status = wait_for(pane_exit_status, 60)
        check(status is not None, "q ends scripts/run")
        check(status == "0", f"with exit status 0 (status {status})")
        left = [pid for pid in pids + [redis_pid, postgres_pid] if running(pid)]
        check(not left, f"nothing it started is left running (pids {pids + [redis_pid, postgres_pid]}; left: {left})")
        check("stopped Redis and PostgreSQL" in screen(), "it says it stopped Redis and PostgreSQL")

        # 5. Piped: plain frames; Redis dying ends it with status 1.
        piped = subprocess.Popen([os.path.join(ROOT, "scripts", "run"), "--workers", "1", "--state", state],
                                 stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        output = []
        threading.Thread(target=lambda: [output.append(line) for line in piped.stdout], daemon=True).start()
        check(bool(wait_for(lambda: "".join(output).count("\n---\n") >= 2, 120)), "piped, it prints frames separated by ---")
        redis_pid = int(open(os.path.join(state, "redis", "redis.pid")).read())
        os.kill(redis_pid, signal.SIGKILL)
        try:
            code = piped.wait(30)
        except subprocess.TimeoutExpired:
            piped.kill()
            code = None
        text = "".join(output)
        check(code == 1 and "Redis is gone" in text, f"killing Redis under it ends it with status 1 (status {code})")
        check("\x1b[" not in text, "piped frames carry no terminal codes")
        frame_pids = [int(p) for p in re.findall(r"^[> ] (?:control-plane|worker)-\d+\s+(\d+)", text, re.M)]
        left = [pid for pid in set(frame_pids) if running(pid)]
        check(frame_pids and not left, f"and nothing is left running (left: {left})")
    finally:
        if browser:
            browser.close()
        if failures:
            print(screen())
        subprocess.run(["tmux", "kill-session", "-t", SESSION], capture_output=True)
    if failures:
        print(f"{len(failures)} operator-view checks failed", file=sys.stderr)
        return 1
    print("every operator-view check passed")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
