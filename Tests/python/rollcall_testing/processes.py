"""The one process helper: children that can be killed, paused and restarted, and daemons by pid file."""
import os
import signal
import socket
import subprocess
import threading
import time


class Proc:
    """One child process (its own session, output appended to `logfile`) that can be killed, paused and
    restarted."""

    def __init__(self, label, argv, env, logfile):
        self.label, self.argv, self.env, self.logfile = label, argv, env, logfile
        self.p = None
        self.paused = False
        self.lock = threading.Lock()

    def start(self):
        with self.lock:
            with open(self.logfile, "ab") as out:
                self.p = subprocess.Popen(self.argv, env=self.env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
            self.paused = False
        return self

    def alive(self):
        return self.p is not None and self.p.poll() is None

    def send(self, sig):
        with self.lock:
            if self.alive():
                try:
                    os.kill(self.p.pid, sig)
                except ProcessLookupError:
                    pass
                self.paused = sig == signal.SIGSTOP

    def stop(self, sig=signal.SIGKILL, wait=10):
        """Continues it, sends `sig`, and waits `wait` s for it to exit (SIGKILL after that); returns its status."""
        if not self.p:
            return None
        self.send(signal.SIGCONT)
        self.send(sig)
        try:
            return self.p.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            self.send(signal.SIGKILL)
            return self.p.wait()


def is_running(pid):
    """Whether `pid` is a process that has not exited (a zombie has)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def wait_port_free(port, seconds=10):
    """Waits until nothing listens on 127.0.0.1:`port` (a killed server's forked child, an AOF rewrite
    say, can hold its listening socket a moment longer); True once it can be bound."""
    deadline = time.monotonic() + seconds
    while True:
        with socket.socket() as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind(("127.0.0.1", port))
                return True
            except OSError:
                if time.monotonic() > deadline:
                    return False
        time.sleep(0.05)


def kill_pidfile(pidfile):
    """SIGKILLs the daemon whose pid the file holds (continuing it first), waits until it is dead, and
    removes the file."""
    try:
        pid = int(open(pidfile).read())
        os.kill(pid, signal.SIGCONT)
        os.kill(pid, signal.SIGKILL)
        # Dead once it is a zombie: the daemonized server's parent reaps it only after a while.
        for _ in range(100):
            if not is_running(pid):
                break
            time.sleep(0.01)
    except (OSError, ValueError):
        pass
    try:
        os.remove(pidfile)
    except OSError:
        pass
