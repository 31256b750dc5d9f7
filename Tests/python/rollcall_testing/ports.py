"""The one port helper (scripts/lib/servers.sh and Tests/TestSupport pick ports the same way)."""
import random
import socket


def _ephemeral_floor():
    """The first port of the kernel's ephemeral range (the local ports of outgoing connections)."""
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def free_port():
    """A TCP port free on 127.0.0.1 now, below the ephemeral range. A port the kernel handed out (bind
    to port 0) is in that range, and any outgoing connection may take it as its local port before the
    server meant for it binds: a fault suite's standby failed to start so."""
    floor = _ephemeral_floor()
    for _ in range(1000):
        port = random.randint(10000, floor - 1)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise OSError("no free port below the ephemeral range")
