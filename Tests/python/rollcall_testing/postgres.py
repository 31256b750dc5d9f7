"""The fault suite's PostgreSQL: one server, or a primary with a streaming standby that a failover
promotes, after which a new standby is built (pg_basebackup) where the old primary was, so the next
failover has one to promote. Both nodes keep their ports, and the workers' DATABASE_URL names both:
libpq keeps only the one that accepts writes (target_session_attrs=read-write, the worker's default).

The audit triggers report to the server log (`WARNING:  chaos-audit|kind|detail`), not to a table: an
asynchronous failover loses the old primary's last commits, and a table's rows with them, but not its log."""
import glob
import os
import shutil
import signal
import subprocess
import threading
import time
import uuid

from rollcall_testing.paths import ROOT, shell
from rollcall_testing.ports import free_port

DATABASE = "rollcall_chaos"
AUDIT_MARK = "WARNING:  chaos-audit|"

AUDIT_SQL = """
CREATE OR REPLACE FUNCTION chaos_audit(kind text, detail text) RETURNS void LANGUAGE plpgsql AS $f$
BEGIN
    RAISE WARNING 'chaos-audit|%|%', kind, detail;
END $f$;
CREATE OR REPLACE FUNCTION chaos_audit_write() RETURNS trigger LANGUAGE plpgsql AS $f$
DECLARE owner text;
BEGIN
    SELECT worker INTO owner FROM partition_owners WHERE partition = NEW.partition;
    IF owner IS DISTINCT FROM NEW.current_worker THEN
        PERFORM chaos_audit('write by a non-owner',
            format('partition %s written by %s while %s owns it', NEW.partition, NEW.current_worker, owner));
    END IF;
    RETURN NULL;
END $f$;
CREATE OR REPLACE FUNCTION chaos_audit_epoch() RETURNS trigger LANGUAGE plpgsql AS $f$
BEGIN
    IF NEW.epoch < OLD.epoch THEN
        PERFORM chaos_audit('partition epoch went down',
            format('partition %s: %s -> %s (%s -> %s)', NEW.partition, OLD.epoch, NEW.epoch, OLD.worker, NEW.worker));
    END IF;
    RETURN NULL;
END $f$;
DROP TRIGGER IF EXISTS chaos_audit_write ON work_items;
CREATE TRIGGER chaos_audit_write AFTER UPDATE ON work_items FOR EACH ROW EXECUTE FUNCTION chaos_audit_write();
DROP TRIGGER IF EXISTS chaos_audit_epoch ON partition_owners;
CREATE TRIGGER chaos_audit_epoch AFTER UPDATE ON partition_owners FOR EACH ROW EXECUTE FUNCTION chaos_audit_epoch();
"""


class Postgres:
    """One server (`standby=False`) or a primary and a streaming standby, on loopback under `root`."""

    def __init__(self, root, standby):
        self.root, self.standby = root, standby
        self.ports = [free_port() for _ in range(2 if standby else 1)]
        self.password = uuid.uuid4().hex[:24]
        self.primary = 0
        self.lock = threading.Lock()
        self.killed = []

    def dir(self, node):
        return f"{self.root}/postgres{node}"

    def url(self):
        hosts = ",".join(f"127.0.0.1:{port}" for port in self.ports)
        return f"postgres://postgres:{self.password}@{hosts}/{DATABASE}"

    # --- starting and stopping ---------------------------------------------------------------
    def start(self):
        shell(f"rollcall_start_postgres {self.dir(0)} {self.ports[0]} {self.password} {DATABASE}")

    def install_audit(self):
        self.psql(AUDIT_SQL)

    def start_standby(self):
        """A standby of the primary where the other node was, then synchronous replication to it."""
        node = 1 - self.primary
        self.wait_gone()
        for leftover in (f".s.PGSQL.{self.ports[node]}.lock", f".s.PGSQL.{self.ports[node]}"):
            if os.path.exists(f"{self.dir(node)}/{leftover}"):
                os.remove(f"{self.dir(node)}/{leftover}")
        shutil.rmtree(f"{self.dir(node)}/data", ignore_errors=True)
        shell(f"rollcall_start_postgres_standby {self.dir(node)} {self.ports[node]} {self.ports[self.primary]} {self.password}")
        self.wait_streaming()
        self.synchronous(True)

    def wait_streaming(self, seconds=30):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.psql("SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'", database="postgres") != "0":
                return
            time.sleep(0.1)
        raise OSError("the standby did not start streaming")

    def stop(self):
        for node in range(len(self.ports)):
            shell(f"rollcall_stop_postgres {self.dir(node)}", check=False)

    # --- queries -----------------------------------------------------------------------------
    def psql(self, sql, node=None, database=DATABASE):
        node = self.primary if node is None else node
        result = subprocess.run(
            ["bash", "-c", f". {ROOT}/scripts/lib/servers.sh; rollcall_as_postgres psql -h {self.dir(node)} -p {self.ports[node]} "
                           f"-U postgres -d {database} -qtAX -v ON_ERROR_STOP=1 -f -"],
            input=sql, capture_output=True, text=True)
        if result.returncode != 0:
            raise OSError(result.stderr.strip())
        return result.stdout.strip()

    def synchronous(self, on):
        """Whether the primary's commits wait for the standby (synchronous_standby_names '*')."""
        shell(f"rollcall_postgres_synchronous {self.dir(self.primary)} {self.ports[self.primary]} {'on' if on else 'off'}")

    def audit_lines(self):
        """Every audit report in every node's server log, lost commits or not."""
        lines = []
        for path in glob.glob(f"{self.root}/postgres*/postgres.log"):
            with open(path, errors="replace") as log:
                lines += [line.split(AUDIT_MARK, 1)[1].rstrip("\n") for line in log if AUDIT_MARK in line]
        return lines

    # --- faults ------------------------------------------------------------------------------
    def restart(self):
        node = self.primary
        shell(f"rollcall_as_postgres $(rollcall_pg_bindir)/pg_ctl -D {self.dir(node)}/data -m fast -w restart "
              f"-o '-p {self.ports[node]} -k {self.dir(node)} -c listen_addresses=127.0.0.1 -c max_connections=300 -c fsync=off' "
              f"-l {self.dir(node)}/postgres.log", check=False)

    def kill_primary(self):
        """SIGKILL to the postmaster and every backend at once, as a crashed machine."""
        with open(f"{self.dir(self.primary)}/data/postmaster.pid") as pidfile:
            pid = int(pidfile.readline())
        os.kill(pid, signal.SIGSTOP)  # so it cannot react to its children's deaths
        subprocess.run(["pkill", "-KILL", "-P", str(pid)], check=False)
        os.kill(pid, signal.SIGKILL)
        self.killed.append(pid)

    @staticmethod
    def gone(pid):
        try:
            with open(f"/proc/{pid}/stat") as stat:
                return stat.read().rsplit(")", 1)[1].split()[0] == "Z"  # dead, not reaped yet
        except OSError:
            return True

    def wait_gone(self, seconds=10):
        """Until every killed postmaster is dead. A new one would refuse its socket lock file while the pid
        in it exists, even as a zombie (init here reaps them late), so the caller removes that file."""
        deadline = time.monotonic() + seconds
        while not all(self.gone(pid) for pid in self.killed) and time.monotonic() < deadline:
            time.sleep(0.05)
        self.killed = [pid for pid in self.killed if not self.gone(pid)]

    def stop_receiving(self):
        """The standby stops streaming: from now on it misses what the primary commits."""
        self.synchronous(False)
        node = 1 - self.primary
        shell(f"rollcall_postgres_stop_receiving {self.dir(node)} {self.ports[node]}")

    def failover(self):
        """The primary SIGKILLed and the standby promoted; returns the seconds from the kill until the
        promoted standby accepts writes. A new standby is built afterwards with `start_standby`."""
        standby = 1 - self.primary
        self.kill_primary()
        killed = time.monotonic()
        shell(f"rollcall_promote_postgres {self.dir(standby)}")
        self.primary = standby
        # The promoted node's settings came from the old primary's base backup; until a standby streams
        # from it, its commits must not wait for one, and it streams from nobody.
        self.psql("ALTER SYSTEM RESET synchronous_standby_names; ALTER SYSTEM RESET primary_conninfo; SELECT pg_reload_conf();",
                  database="postgres")
        return time.monotonic() - killed
