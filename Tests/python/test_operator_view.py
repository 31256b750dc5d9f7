"""What an operator sees, checked end to end, as the ordered steps of one scenario (each step builds on
the ones before; scripts/test-operator-view runs them, and -k picks steps, e.g. -k "three_workers or page"):

1. scripts/run --kafka on a terminal (tmux, keys with send-keys, the screen with capture-pane), 3 workers in
   the partitioned pool `default` and 2 id workers in the numbers-only pool `tags`, both pools shown; with
   its Kafka request/reply demo: every worker in its number's group, sending requests and getting replies;
2. the status page of its control planes in headless Chromium (driven over the DevTools protocol,
   logging in through the browser's own HTTP Basic prompt with the token), with screenshots under
   .build/: 3 workers with their numbers, one cell per partition in 3 owner colours; the pool list, and
   the tags pool shown alone (its 2 workers, no partitions);
3. a worker killed by key: once its lease has expired, the page shows 2 workers and 2 colours (how long
   that took is printed, a measurement), the view shows it gone (killed by SIGKILL), its partitions held
   by the others, and the script still running; then a control plane killed by key: shown gone, the
   workers keep their numbers, the page keeps updating;
4. pause and resume, a graceful stop, restart of what is gone, a worker added: the numbers of the killed
   and the stopped worker continue their groups and get the replies their predecessors waited for, and no
   group was made beyond one per number; then q: everything stopped, the broker too, nothing left running;
5. scripts/run piped (plain frames, no terminal codes) until Redis is killed under it: it exits 1 and
   leaves nothing running;
6. scripts/run --skew piped: the load per worker of a skewed inbox converging in its view, and on the
   status page each worker's load over the mean and the workers the inbox needs.

ROLLCALL_VIEW_STATE names the state folder scripts/run uses, ROLLCALL_VIEW_ARTIFACTS where screenshots go."""
import base64
import json
import os
import re
import signal
import subprocess
import tempfile
import threading
import time
import urllib.request
from types import SimpleNamespace

import pytest
import websocket

from rollcall_testing.paths import ROOT
from rollcall_testing.processes import is_running as running
from rollcall_testing.waiting import eventually

SESSION = f"rollcall-view-{os.getpid()}"


def tmux(*args):
    return subprocess.run(["tmux", *args], capture_output=True, text=True, check=True).stdout


def screen():
    return tmux("capture-pane", "-p", "-t", SESSION)


def rows(text):
    """The process rows of scripts/run's view: name -> (pid, state, number, granted)."""
    table = {}
    for line in text.splitlines():
        m = re.match(r"^[> ] ((?:control-plane|worker|tags-worker)-\d+)\s+(\d+|-)\s+(.*)$", line)
        if not m:
            continue
        rest = m.group(3)
        state = rest[:38].strip()
        fields = rest[38:].split()
        number = int(fields[0]) if fields and fields[0].isdigit() and "worker" in m.group(1) else None
        granted = int(fields[2]) if number is not None and len(fields) > 2 and fields[2].isdigit() else None
        table[m.group(1)] = (int(m.group(2)) if m.group(2).isdigit() else None, state, number, granted)
    return table


def kafka_rows(text):
    """The view's Kafka lines: worker name -> (group, sent, replies, replies to earlier holders, records)."""
    table = {}
    for m in re.finditer(r"^  ((?:worker|tags-worker)-\d+)\s+(\S+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*$", text, re.M):
        table[m.group(1)] = (m.group(2), int(m.group(3)), int(m.group(4)), int(m.group(5)), int(m.group(6)))
    return table


def claimed_groups(text):
    m = re.search(r"^groups claimed \(kafka_group_owners\): (.*)$", text, re.M)
    return sorted(m.group(1).split(", ")) if m and m.group(1) != "none" else []


def worker_numbers(table):
    """The numbers the workers' rows show (None for a worker without one)."""
    return [row[2] for name, row in table.items() if name.startswith("worker")]


def tag_numbers(table):
    """The numbers the tags pool's id workers show."""
    return [row[2] for name, row in table.items() if name.startswith("tags-worker")]


def pane_alive():
    return tmux("list-panes", "-t", SESSION, "-F", "#{pane_dead}").strip() == "0"


def pane_exit_status():
    """scripts/run's exit status once the pane's shell printed it (the pane runs `scripts/run ...; echo
    ENDED $?`), else None. The shell says it rather than tmux: tmux 3.3a here has marked the pane dead
    (its terminal closed) without ever recording the exit status, with nothing left on the terminal."""
    m = re.search(r"^scripts/run ended with status (\d+)$", screen(), re.M)
    return m.group(1) if m else None


def pane_holders():
    """What tmux says of the pane and every process still on its terminal: why it has not ended yet."""
    pane = tmux("list-panes", "-t", SESSION, "-F", "#{pane_tty} #{pane_pid} #{pane_dead}:#{pane_dead_status}:#{pane_dead_signal}").strip()
    tty = pane.split()[0].removeprefix("/dev/")
    listing = subprocess.run(["ps", "-t", tty, "-o", "pid,ppid,stat,etime,args"], capture_output=True, text=True).stdout
    return f"pane {pane}; processes on {tty}:\n{listing}"


def wait_for_exit(seconds, what):
    """scripts/run's exit status once it ended (see pane_exit_status); on a timeout, says what holds it."""
    try:
        return eventually(pane_exit_status, seconds, what)
    except Exception as error:
        raise AssertionError(f"{error}; {pane_holders()}") from error


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


def page_state(browser):
    return json.loads(browser.evaluate(PAGE_STATE) or "{}")


@pytest.fixture(scope="module")
def view():
    """scripts/run in a tmux pane for the whole scenario; the steps share what they learn in it."""
    state, artifacts = os.environ["ROLLCALL_VIEW_STATE"], os.environ["ROLLCALL_VIEW_ARTIFACTS"]
    os.makedirs(artifacts, exist_ok=True)
    # One tmux command list, so the pane keeps its exit status even if scripts/run ends at once.
    tmux("new-session", "-d", "-s", SESSION, "-x", "200", "-y", "50", f"cd {ROOT} && scripts/run --workers 3 --kafka --state {state}; echo \"scripts/run ended with status $?\"",
         ";", "set-option", "-t", SESSION, "remain-on-exit", "on")
    scenario = SimpleNamespace(state=state, artifacts=artifacts, browser=None, failed=False)
    try:
        yield scenario
    finally:
        if scenario.browser:
            scenario.browser.close()
        if scenario.failed:
            print(screen())
        subprocess.run(["tmux", "kill-session", "-t", SESSION], capture_output=True)


@pytest.fixture(autouse=True)
def screen_of_a_failure(request, view):
    yield
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        view.failed = True


def overview(view):
    request = urllib.request.Request(f"http://127.0.0.1:{view.port}/v1/overview", headers={"Authorization": f"Bearer {view.token}"})
    return json.load(urllib.request.urlopen(request))


def test_1_scripts_run_shows_two_control_planes_and_three_numbered_workers(view):
    # The first number of a new store comes one LEASE_TTL + quarantine after the start. One capture per
    # try: before the first frame the screen has no rows, so "every worker has a number" holds of it
    # vacuously, and the next capture may be the first frame, whose workers have none yet.
    view.table = eventually(lambda: (t := rows(screen())) and len(t) == 7 and None not in worker_numbers(t) + tag_numbers(t) and t, 300,
                            "2 control planes, 3 workers and 2 id workers, each worker with a number")
    assert sorted(worker_numbers(view.table)) == [0, 1, 2], view.table
    assert sorted(tag_numbers(view.table)) == [0, 1], f"the tags pool numbers its workers from 0 too: {view.table}"
    text = screen()
    assert "\x1b" not in text and "keys: " in text and "k kill" in text, "the key help is on screen, with no raw escape codes"
    assert "pools: default (1024 partitions), tags (numbers only)" in text, "both pools are named"
    assert re.search(r"pool tags \(numbers only\): 2 of 16 numbers leased: tags-worker-\d \d, tags-worker-\d \d", text), text
    view.port = int(re.search(r"status page: http://127\.0\.0\.1:(\d+)/_status", text).group(1))
    view.token = open(os.path.join(view.state, "auth-token")).read().strip()
    first = overview(view)
    view.partitions, view.ttl = first["layout"]["partitionCount"], first["leaseTTLMillis"] / 1000
    eventually(lambda: overview(view)["handoffs"]["pending"] == 0, 60, "every partition granted to its owner (no pending handoff)")


def test_1b_with_kafka_every_worker_requests_in_its_numbers_group_and_gets_replies(view):
    """Every worker sits in its number's group (inbox-N, tags-N) and gets the replies to its own requests."""
    groups = {name: ("inbox-" if name.startswith("worker") else "tags-") + str(row[2]) for name, row in view.table.items() if "worker" in name}
    shown = eventually(lambda: (k := kafka_rows(screen())) and len(k) == 5 and all(k[n][0] == g and k[n][2] > 0 for n, g in groups.items()) and k,
                       120, "each of the 5 workers in its number's group with replies to its requests")
    assert all(sent >= replies for _, sent, replies, _, _ in shown.values()), f"no more replies than requests: {shown}"
    assert all(records >= replies for _, _, replies, _, records in shown.values()), f"every group reads all of `replies`: {shown}"
    assert re.search(r"^  responder answered [1-9]\d*, \d+ waiting$", screen(), re.M), "the responder says what it answered"
    assert claimed_groups(screen()) == sorted(groups.values()), f"one group claimed per number: {claimed_groups(screen())}"
    view.groups = sorted(groups.values())


def test_2_the_status_page_lists_the_workers_and_their_partitions_after_a_login(view):
    view.browser = browser = Browser("operator", view.token, view.artifacts)
    browser.call("Page.navigate", url=f"http://127.0.0.1:{view.port}/_status")
    shown = eventually(lambda: (s := page_state(browser)) and len(s.get("workers", [])) == 3 and len(s["colours"]) == 3 and s, 30,
                       "the page lists 3 workers and draws 3 owner colours")
    numbers = {name: number for name, number in shown["workers"]}
    assert sorted(numbers) == ["worker-0", "worker-1", "worker-2"] and sorted(numbers.values()) == [0, 1, 2], shown["workers"]
    assert all(view.table[name][2] == number for name, number in numbers.items()), f"the numbers scripts/run shows: {view.table}"
    assert shown["cells"] == view.partitions, f"one cell per partition: {shown['cells']} cells, {view.partitions} partitions"
    assert shown["holders"] == ["0", "1", "2"], f"every cell is held by one of the three: {shown['holders']}"
    assert browser.auth_prompts >= 1, "the browser was asked to log in"
    assert page_state(browser).get("state") == "ok", "the page's data requests succeed with the browser's login"
    print("screenshot:", browser.screenshot("status-page.png"))
    pools = browser.evaluate("JSON.stringify([...document.querySelectorAll('#pool option')].map(o => o.value))")
    assert json.loads(pools) == ["default", "tags"], f"the page lists the pools: {pools}"
    # One pool at a time: the tags pool alone, its two id workers and no partitions.
    browser.evaluate("(s => { s.value = 'tags'; s.dispatchEvent(new Event('change')); })(document.getElementById('pool'))")
    tags = eventually(lambda: (s := page_state(browser)) and browser.evaluate("document.body.dataset.pool") == "tags"
                      and len(s.get("workers", [])) == 2 and s, 30, "the page shows the tags pool")
    assert sorted(n for _, n in tags["workers"]) == [0, 1] and tags["cells"] == 0, tags
    assert "tags" in browser.evaluate("location.hash"), "the address names the pool shown"
    print("screenshot:", browser.screenshot("status-page-tags-pool.png"))
    browser.evaluate("(s => { s.value = 'default'; s.dispatchEvent(new Event('change')); })(document.getElementById('pool'))")
    eventually(lambda: browser.evaluate("document.body.dataset.pool") == "default" and page_state(browser).get("cells") == view.partitions,
               30, "and back to the default pool")


def test_3_a_worker_killed_by_key_leaves_the_page_once_its_lease_expired_and_its_share_moves(view):
    browser = view.browser
    tmux("send-keys", "-t", SESSION, "1", "k")
    killed_at = time.monotonic()
    gone = str(view.table["worker-1"][2])
    eventually(lambda: (s := page_state(browser)) and sorted(w[0] for w in s["workers"]) == ["worker-0", "worker-2"]
               and len(s["colours"]) == 2 and gone not in s["holders"] and s, view.ttl + 60,
               "the page shows 2 workers and 2 colours", step=0.1)
    print(f"the page changed {time.monotonic() - killed_at:.1f} s after the kill (LEASE_TTL {view.ttl:.0f} s; a measurement)")
    # It left because its lease expired (a SIGKILL releases nothing), not for any other reason.
    ended = [e for e in overview(view)["events"] if e.get("name") == "worker-1" and e["kind"] in ("expired", "released")]
    assert ended and ended[0]["kind"] == "expired", f"worker-1's lease ended by expiry: {ended[:2]}"
    print("screenshot:", browser.screenshot("status-page-after-kill.png"))
    eventually(lambda: (t := rows(screen())) and "killed by SIGKILL" in t["worker-1"][1]
               and (t["worker-0"][3] or 0) + (t["worker-2"][3] or 0) == view.partitions and t, 30,
               "the view shows worker-1 gone (killed by SIGKILL) and its partitions granted to worker-0 and worker-2")
    assert pane_alive(), "scripts/run is still running"


def test_3b_a_control_plane_killed_by_key_leaves_the_workers_their_numbers(view):
    tmux("send-keys", "-t", SESSION, "0", "Up", "Up", "k")
    eventually(lambda: "killed by SIGKILL" in rows(screen())["control-plane-0"][1], 20, "the view shows control-plane-0 gone")
    numbers_before = {name: rows(screen())[name][2] for name in ("worker-0", "worker-2")}
    time.sleep(3)  # an observation window, not a limit: the numbers must not change in it
    kept = {name: rows(screen())[name][2] for name in ("worker-0", "worker-2")}
    assert kept == numbers_before and None not in kept.values(), f"the workers keep their numbers: {numbers_before} -> {kept}"
    assert pane_alive(), "scripts/run runs on"
    state = page_state(view.browser)
    assert state.get("state") == "ok" and len(state["workers"]) == 2, "the status page, served by the other replica, still updates"


def test_4_pause_resume_stop_restart_add_and_quit(view):
    tmux("send-keys", "-t", SESSION, "2", "p")
    eventually(lambda: "paused" in rows(screen())["worker-2"][1], 10, "p pauses worker-2 (SIGSTOP)")
    pid = rows(screen())["worker-2"][0]
    assert open(f"/proc/{pid}/stat").read().split(")")[1].split()[0] == "T", "worker-2's process is stopped"
    tmux("send-keys", "-t", SESSION, "p")
    eventually(lambda: rows(screen())["worker-2"][1] == "running", 10, "p again resumes it")
    tmux("send-keys", "-t", SESSION, "0", "t")
    eventually(lambda: "exited 0 after SIGTERM" in rows(screen())["worker-0"][1], 30, "t stops worker-0 gracefully")
    tmux("send-keys", "-t", SESSION, "r")
    eventually(lambda: (t := rows(screen())) and all(t[n][1] == "running" for n in ("worker-0", "worker-1", "control-plane-0")) and t, 20,
               "r restarts what is gone")
    tmux("send-keys", "-t", SESSION, "a")
    eventually(lambda: (t := rows(screen())) and "worker-3" in t and t["worker-3"][2] is not None and (t["worker-3"][3] or 0) > 0 and t, 60,
               "a adds worker-3, which gets a number and partitions")
    eventually(lambda: len(page_state(view.browser).get("workers", [])) == 4, 60, "the page lists the 4 workers")
    # worker-1 was killed and worker-0 stopped while their requests waited for replies (the responder takes
    # 2 s): whoever holds those numbers now continued their groups and got those replies.
    # (The stopped worker's number may still be in quarantine, and then nobody holds it yet.)
    numbers = {name: row[2] for name, row in rows(screen()).items() if name.startswith("worker")}
    killed, stopped = view.table["worker-1"][2], view.table["worker-0"][2]
    heirs = [name for name, number in numbers.items() if number in (killed, stopped)]
    assert killed in numbers.values(), f"the killed worker's number {killed} is the lowest free one and held again: {numbers}"
    kafka = eventually(lambda: (k := kafka_rows(screen())) and all(n in k and k[n][3] > 0 for n in heirs) and k, 60,
                       f"the new holders of numbers {killed} and {stopped} ({', '.join(heirs)}) got replies to their predecessors' requests")
    print("Kafka after the kill, the stop and the restarts:", kafka)
    # No group per process: the groups claimed are those of the numbers held, then and now.
    expected = sorted(set(view.groups) | {f"inbox-{n}" for n in numbers.values()})
    eventually(lambda: claimed_groups(screen()) == expected, 10, f"the groups claimed are {expected}, one per number ever held")
    pids = [r[0] for r in rows(screen()).values() if r[0]]
    pids += [int(p) for p in re.findall(r"^[> ] responder\s+(\d+)", screen(), re.M)]
    pids.append(int(open(os.path.join(view.state, "kafka", "kafka.pid")).read()))
    redis_pid = int(open(os.path.join(view.state, "redis", "redis.pid")).read())
    postgres_pid = int(open(os.path.join(view.state, "postgres", "data", "postmaster.pid")).readline())
    tmux("send-keys", "-t", SESSION, "q")
    # It stops the workers (each releases its lease), the control planes, Redis and PostgreSQL first.
    status = wait_for_exit(120, "q ends scripts/run")
    assert status == "0", f"scripts/run exited with status {status}"
    left = [pid for pid in pids + [redis_pid, postgres_pid] if running(pid)]
    assert not left, f"nothing it started is left running (pids {pids + [redis_pid, postgres_pid]}; left: {left})"
    assert "stopped Redis and PostgreSQL" in screen(), "it says it stopped Redis and PostgreSQL"
    assert "stopped the Kafka broker" in screen() and not os.path.exists(os.path.join(view.state, "kafka", "kafka.pid")), "and the broker"


def test_5_piped_it_prints_plain_frames_and_ends_with_status_1_when_redis_dies(view):
    piped = subprocess.Popen([os.path.join(ROOT, "scripts", "run"), "--workers", "1", "--state", view.state],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    output = []
    threading.Thread(target=lambda: [output.append(line) for line in piped.stdout], daemon=True).start()
    try:
        eventually(lambda: "".join(output).count("\n---\n") >= 2, 180, "piped, it prints frames separated by ---")
        redis_pid = int(open(os.path.join(view.state, "redis", "redis.pid")).read())
        os.kill(redis_pid, signal.SIGKILL)
        code = piped.wait(60)
    finally:
        if piped.poll() is None:
            piped.kill()
    text = "".join(output)
    assert code == 1 and "Redis is gone" in text, f"killing Redis under it ends it with status 1 (status {code})"
    assert "\x1b[" not in text, "piped frames carry no terminal codes"
    frame_pids = [int(p) for p in re.findall(r"^[> ] (?:control-plane|worker|tags-worker)-\d+\s+(\d+)", text, re.M)]
    left = [pid for pid in set(frame_pids) if running(pid)]
    assert frame_pids and not left, f"nothing is left running (left: {left})"


def test_6_with_skew_the_load_per_worker_converges_and_the_page_shows_it(view):
    """scripts/run --skew, piped: a Zipf-skewed inbox in a pool balanced by load. The view's load line goes
    from a skewed start to balanced, and the status page shows each worker's load over the mean and the
    workers the inbox needs."""
    state = tempfile.mkdtemp(prefix="rollcall-view-skew-")
    os.chmod(state, 0o755)
    piped = subprocess.Popen([os.path.join(ROOT, "scripts", "run"), "--skew", "--workers", "4", "--tag-workers", "0", "--state", state],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    output = []
    threading.Thread(target=lambda: [output.append(line) for line in piped.stdout], daemon=True).start()
    load_line = re.compile(r"^load (\d+) rows/s, max/mean (\d+\.\d+) · needs (\d+) workers · per worker \(x mean\): (.*)$", re.M)

    def ratios():
        return [(int(m.group(1)), float(m.group(2)), int(m.group(3)), m.group(4)) for m in load_line.finditer("".join(output))]

    try:
        eventually(lambda: any(total > 0 and len(per.split(" · ")) == 4 for total, _, _, per in ratios()), 180,
                   "the view shows the load of the four workers")
        seen = [r for r in ratios() if r[0] > 0]
        start = seen[0][1]
        converged = eventually(lambda: (r := [x for x in ratios() if x[0] > 0][-1]) and r[1] <= 1.15 and r, 120,
                               "the most loaded worker comes within 1.15 x the mean")
        print(f"scripts/run --skew: max/mean {start:.2f} -> {converged[1]:.2f} (a measurement), needs {converged[2]} workers")
        # The inbox is dealt from a fixed seed whose count layout puts the heaviest of four workers at 2.07 x the
        # mean (WorkStoreTests' demoSeed); the order the workers join in moves the first line's figure (1.6-2.9).
        assert start > 1.3, f"the skewed inbox must unbalance the count it starts from for the step to mean anything: {seen[:3]}"
        # 6,000 rows worked about once a second over a target of 1,600 per worker: 4 workers.
        assert 3 <= converged[2] <= 5, converged
        text = "".join(output)
        port = int(re.search(r"status page: http://127\.0\.0\.1:(\d+)/_status", text).group(1))
        token = open(os.path.join(state, "auth-token")).read().strip()
        browser = view.browser = view.browser or Browser("operator", token, view.artifacts)
        browser.credentials = ("operator", token)
        browser.call("Page.navigate", url=f"http://127.0.0.1:{port}/_status")
        def page_ratios():
            return json.loads(browser.evaluate(
                "JSON.stringify([...document.querySelectorAll('#workers tbody tr[data-number] [data-ratio]')].map(e => Number(e.dataset.ratio)))")
                or "[]")

        shown = eventually(lambda: (r := page_ratios()) and len(r) == 4 and r, 30, "the page shows the load of each of the 4 workers")
        assert abs(sum(shown) - 4) < 0.05, f"loads over the mean, as the page shows them, add up to the 4 workers: {shown}"
        # Each report covers 2 s of a few heavy partitions, so one sample can sit a little over the balanced
        # figure (1.248 once, right after the view's line showed 1.14): the page must show it balanced within 30 s.
        shown = eventually(lambda: (r := page_ratios()) and len(r) == 4 and max(r) <= 1.2 and r, 30,
                           f"the page shows every worker within 1.2 x the mean (it showed {shown})")
        summary = browser.evaluate("document.getElementById('summary').textContent")
        assert re.search(r"load \d+\.\d · needs \d workers", summary), summary
        print("screenshot:", browser.screenshot("status-page-skew.png"))
    finally:
        if piped.poll() is None:
            os.killpg(piped.pid, signal.SIGINT)  # Ctrl-C: the whole foreground group
            try:
                piped.wait(60)
            except subprocess.TimeoutExpired:
                piped.kill()
        subprocess.run(["rm", "-rf", state])
    frame_pids = set(int(p) for p in re.findall(r"^[> ] (?:control-plane|worker|tags-worker)-\d+\s+(\d+)", "".join(output), re.M))
    assert piped.returncode == 0, f"Ctrl-C ends scripts/run with status 0, not {piped.returncode}"
    # Processes it stopped can stay zombies for a moment, until the machine's init reaps them.
    eventually(lambda: frame_pids and not [pid for pid in frame_pids if running(pid)], 30, "nothing it started is left running")
