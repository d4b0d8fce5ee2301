"""An HTTPS front with basic auth before the real registry: how a team puts Apicurio (or any Confluent-API
registry) behind TLS and a login, so every client's TXF_REGISTRY_BASIC_AUTH and TXF_REGISTRY_SSL_CA_LOCATION
are exercised against the real registry.

The local stack's Apicurio stays plain HTTP on loopback (its own auth needs an OIDC server); this front
answers only requests carrying the right `Authorization: Basic`, with 401 otherwise, and forwards them
unchanged. Its certificate comes from the secured profile's CA (stack/tls.py). A thread of the test
process, on an ephemeral 127.0.0.1 port; `close()` stops it.
"""

from __future__ import annotations

import base64
import http.server
import ssl
import threading
import urllib.error
import urllib.request
from pathlib import Path

FORWARDED_HEADERS = ("Content-Type", "Accept")


class RegistryFront:
    def __init__(self, upstream: str, user: str, password: str, cert_chain: Path, key: Path) -> None:
        self.upstream = upstream.rstrip("/")
        self.requests = 0  # answered with the upstream's answer (the login was right)
        self.refused = 0  # answered 401
        expected = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
        front = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - quiet
                pass

            def _forward(self) -> None:
                if self.headers.get("Authorization") != expected:
                    front.refused += 1
                    self.send_response(401)
                    self.send_header("WWW-Authenticate", 'Basic realm="registry"')
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                headers = {h: self.headers[h] for h in FORWARDED_HEADERS if self.headers.get(h)}
                req = urllib.request.Request(
                    front.upstream + self.path, data=body, headers=headers, method=self.command
                )
                try:
                    with urllib.request.urlopen(req, timeout=30) as resp:
                        status, payload, ctype = resp.status, resp.read(), resp.headers.get("Content-Type")
                except urllib.error.HTTPError as exc:
                    status, payload, ctype = exc.code, exc.read(), exc.headers.get("Content-Type")
                front.requests += 1
                self.send_response(status)
                self.send_header("Content-Type", ctype or "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PUT = do_DELETE = _forward

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert_chain, key)
        self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, name="registry-front", daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}/apis/ccompat/v7"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)
