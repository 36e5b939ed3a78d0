"""The optional loopback HTTP trigger: ``POST /trigger`` with the token starts a cycle now.

For a push-webhook relay on the same host or pod. Guarded because anything on
the host can reach a loopback port:

* it binds loopback addresses only (the configuration refuses others);
* the token is compared in constant time (:func:`hmac.compare_digest`) and
  comes in ``Authorization: Bearer …``; a wrong or missing one is 403, logged
  without the token;
* a request body is capped (4 KiB) and ignored; headers and the connection
  time out after a few seconds;
* a trigger only *wakes* the loop: a flood of valid triggers coalesces into
  the next cycle; it cannot make the agent apply anything the gate refuses.
"""

from __future__ import annotations

import hmac
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

from gitvault.errors import BadInput

MAX_BODY = 4096
MAX_TOKEN_BYTES = 4096
MIN_TOKEN_CHARS = 16


def read_token(path: Path) -> bytes:
    from gitvault.fsutil import read_input

    token = read_input(path, limit=MAX_TOKEN_BYTES).strip()
    if len(token) < MIN_TOKEN_CHARS:
        raise BadInput(f"{path}: the trigger token must be at least {MIN_TOKEN_CHARS} characters")
    return token


class _Handler(BaseHTTPRequestHandler):
    server_version = "gitvault-agent"
    sys_version = ""
    timeout = 5  # seconds per socket operation: a slow client cannot hold the server

    def log_message(self, format: str, *args: Any) -> None:
        return  # the agent logs what matters itself, as JSON

    def _reply(self, code: int, text: str) -> None:
        body = (text + "\n").encode()
        self.send_response(code)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        self._reply(405, "use POST")

    def do_POST(self) -> None:
        server: TriggerServer = self.server  # type: ignore[assignment]
        if self.path.split("?")[0] != "/trigger":
            self._reply(404, "not found")
            return
        length_text = self.headers.get("Content-Length", "0") or "0"
        if not length_text.isdigit() or int(length_text) > MAX_BODY:
            self._reply(413, "body too large")
            return
        if int(length_text):
            self.rfile.read(int(length_text))
        given = self.headers.get("Authorization", "")
        scheme, _, token = given.partition(" ")
        ok = scheme.lower() == "bearer" and hmac.compare_digest(
            token.strip().encode("utf-8", "replace"), server.token
        )
        if not ok:
            server.on_event("trigger-refused", self.client_address[0])
            self._reply(403, "forbidden")
            return
        server.on_event("trigger", self.client_address[0])
        server.wake()
        self._reply(202, "accepted")


class TriggerServer(HTTPServer):
    def __init__(
        self,
        host: str,
        port: int,
        token: bytes,
        wake: Callable[[], None],
        on_event: Callable[[str, str], None],
    ) -> None:
        if ":" in host:
            import socket

            self.address_family = socket.AF_INET6
        super().__init__((host, port), _Handler)
        self.token = token
        self.wake = wake
        self.on_event = on_event
        self.thread: threading.Thread | None = None

    def start(self) -> None:
        self.thread = threading.Thread(
            target=self.serve_forever, name="gitvault-trigger", daemon=True
        )
        self.thread.start()

    def stop(self) -> None:
        self.shutdown()
        self.server_close()
