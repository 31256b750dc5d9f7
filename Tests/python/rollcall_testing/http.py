"""HTTP(S) to the servers under test. `secure` switches every request to HTTPS checked against a CA,
with a bearer token chosen per request (the name a request acts as gets its own token), over a
keep-alive connection per thread and port, as a worker keeps one: how the fault suite runs with TLS and
per-worker tokens on. Plain HTTP opens a fresh connection per request, as it always did."""
import http.client
import json
import re
import ssl
import threading

_context = None
_credentials = None
_kept = threading.local()
# The routes that act as a worker name: heartbeat, release, and the number routes.
NAMED = re.compile(r"^(?:/v1(?:/pools/[^/]+)?/(?:workers|numbers)/([^/?]+)|/([a-z0-9][^/?_]*))(?:/heartbeat)?(?:\?.*)?$")


def secure(ca_file, credentials):
    """From now on: HTTPS trusting `ca_file`, and `credentials(name)` (name: the worker a request acts as,
    or None) gives the bearer token."""
    global _context, _credentials
    _context = ssl.create_default_context(cafile=ca_file)
    _credentials = credentials


def acting_as(path):
    """The worker name a request to `path` acts as, or None for a read."""
    match = NAMED.match(path)
    if not match or path.startswith("/v1/openapi") or path in ("/healthz", "/readyz", "/metrics"):
        return None
    return match.group(1) or match.group(2)


def connection(port, timeout):
    """A connection to 127.0.0.1:`port`: HTTPS once `secure` was called."""
    if _context:
        return http.client.HTTPSConnection("127.0.0.1", port, timeout=timeout, context=_context)
    return http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)


def _kept_connection(port, timeout):
    """This thread's keep-alive HTTPS connection to `port` (a TLS handshake per request would cost the
    test process more CPU than the servers it checks)."""
    connections = getattr(_kept, "connections", None)
    if connections is None:
        connections = _kept.connections = {}
    conn = connections.get(port)
    if conn is None:
        conn = connections[port] = connection(port, timeout)
    conn.timeout = timeout
    if conn.sock is not None:
        conn.sock.settimeout(timeout)
    return conn


def _drop(port):
    conn = getattr(_kept, "connections", {}).pop(port, None)
    if conn is not None:
        conn.close()


def http_json(port, method, path, body=None, timeout=1.0):
    """One request to 127.0.0.1:`port`; returns (status, the JSON body or None). Raises OSError when
    nothing answers (a kept connection that failed is dropped: the next request opens a new one)."""
    keep = _context is not None
    conn = _kept_connection(port, timeout) if keep else connection(port, timeout)
    failed = True
    try:
        headers = {"Content-Type": "application/json"} if body is not None else {}
        if _credentials:
            headers["Authorization"] = f"Bearer {_credentials(acting_as(path))}"
        conn.request(method, path, body=None if body is None else json.dumps(body), headers=headers)
        response = conn.getresponse()
        data = response.read()
        failed = response.will_close
        try:
            return response.status, json.loads(data) if data else None
        except ValueError:
            return response.status, None
    except (http.client.HTTPException, ValueError) as error:
        raise OSError(str(error)) from error
    finally:
        if not keep:
            conn.close()
        elif failed:
            _drop(port)
