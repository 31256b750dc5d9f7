"""A local OIDC issuer on loopback, as a cluster's API server is one for its service-account tokens: a
discovery document, a key set with one ES256 key made here, and pod-bound tokens for any pod name, signed
with it (the `ecdsa` package). The control plane verifies them by the real path: discovery, key set,
signature, issuer, audience, expiry, and the pod name as the worker name."""
import base64
import hashlib
import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import ecdsa
from ecdsa.util import sigencode_string


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class Issuer:
    def __init__(self, namespace="chaos", account="worker", audience="rollcall"):
        self.namespace, self.account, self.audience = namespace, account, audience
        self.key = ecdsa.SigningKey.generate(curve=ecdsa.NIST256p, hashfunc=hashlib.sha256)
        self.kid = "chaos-" + uuid.uuid4().hex[:8]
        self.tokens = {}
        self.lock = threading.Lock()
        issuer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                if self.path == "/.well-known/openid-configuration":
                    body = {"issuer": issuer.url, "jwks_uri": f"{issuer.url}/openid/v1/jwks"}
                elif self.path == "/openid/v1/jwks":
                    body = {"keys": [issuer.jwk()]}
                else:
                    self.send_error(404)
                    return
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()

    def jwk(self):
        point = self.key.get_verifying_key().pubkey.point
        return {"kty": "EC", "crv": "P-256", "alg": "ES256", "use": "sig", "kid": self.kid,
                "x": b64url(point.x().to_bytes(32, "big")), "y": b64url(point.y().to_bytes(32, "big"))}

    def token(self, pod, ttl=3600):
        """A pod-bound token for `pod`, valid for `ttl` s (the same one again while it has more than half left)."""
        now = int(time.time())
        with self.lock:
            cached = self.tokens.get(pod)
            if cached and cached[1] - now > ttl / 2:
                return cached[0]
        header = {"alg": "ES256", "kid": self.kid, "typ": "JWT"}
        claims = {"iss": self.url, "aud": [self.audience], "exp": now + ttl, "nbf": now - 5, "iat": now,
                  "sub": f"system:serviceaccount:{self.namespace}:{self.account}",
                  "kubernetes.io": {"namespace": self.namespace, "pod": {"name": pod, "uid": str(uuid.uuid4())},
                                    "serviceaccount": {"name": self.account, "uid": "chaos-account"}}}
        signing_input = f"{b64url(json.dumps(header).encode())}.{b64url(json.dumps(claims).encode())}"
        signature = self.key.sign(signing_input.encode(), hashfunc=hashlib.sha256, sigencode=sigencode_string)
        token = f"{signing_input}.{b64url(signature)}"
        with self.lock:
            self.tokens[pod] = (token, now + ttl)
        return token


def main(argv):
    """python -m rollcall_testing.identity URL_FILE TOKENS_FILE N [EXTRA_NAME...]: serves an issuer until
    killed, after writing its URL to URL_FILE and the tokens of workers w-%012d, 0 <= i < N, one a line, to
    TOKENS_FILE, then one line per extra name (the load scripts' callers)."""
    import sys
    url_file, tokens_file, count = argv[0], argv[1], int(argv[2])
    issuer = Issuer()
    with open(tokens_file, "w") as file:
        for index in range(count):
            file.write(issuer.token(f"w-{index:012d}") + "\n")
        for name in argv[3:]:
            file.write(issuer.token(name) + "\n")
    with open(url_file + ".tmp", "w") as file:
        file.write(issuer.url)
    import os
    os.rename(url_file + ".tmp", url_file)
    sys.stdout.flush()
    threading.Event().wait()


if __name__ == "__main__":
    import sys
    main(sys.argv[1:])
