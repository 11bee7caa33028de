"""Notification receivers on loopback: stand-ins for Slack, Teams, PagerDuty and
a webhook endpoint, for the tests and ``vigil demo`` (development only).

A ``Receiver`` is a real HTTP/1.1 server on 127.0.0.1 that records every request
(path, headers, body) and answers from a script of ``Reply`` values, then with
its default. Given a ``signing_key`` it verifies ``X-Vigil-Signature`` itself,
as a real webhook consumer would (one of the comma-separated signatures of
``"<X-Vigil-Timestamp>.<body>"`` matches, and the timestamp is at most 5 minutes
off), and records the verdict. Given a ``tls`` server context it speaks HTTPS.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import ssl
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self

from vigil_cli.targets.ports import LOCALHOST, Served


@dataclass(frozen=True)
class Reply:
    """One scripted answer."""

    status: int = 200
    body: bytes = b"ok"
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ReceivedRequest:
    """One request as the receiver got it; ``signature_ok`` is None without a signing key."""

    method: str
    path: str
    headers: dict[str, str]  # names in lower case
    body: bytes
    answered: int
    signature_ok: bool | None = None

    def json(self) -> Any:
        return json.loads(self.body)


class Receiver(Served):
    """A recording HTTP endpoint; ``url`` carries a random token, like a webhook URL."""

    def __init__(
        self,
        name: str,
        *,
        default: Reply | None = None,
        signing_key: str | None = None,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self.name = name
        self.default = default or Reply()
        self.signing_key = signing_key
        self.tls = tls
        self.token = secrets.token_urlsafe(16)
        self._replies: deque[Reply] = deque()
        self._requests: list[ReceivedRequest] = []
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> Self:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                receiver._answer(self, body)

            def log_message(self, format: str, *args: Any) -> None:
                pass  # the path holds the token: keep it off stderr

        self._server = ThreadingHTTPServer((LOCALHOST, 0), Handler)
        if self.tls is not None:
            self._server.socket = self.tls.wrap_socket(self._server.socket, server_side=True)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, name=f"receiver-{self.name}", daemon=True
        )
        self._thread.start()
        return self

    def close(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    @property
    def port(self) -> int:
        assert self._server is not None, "receiver not started"
        return self._server.server_address[1]

    @property
    def url(self) -> str:
        """The endpoint's URL; its path holds the secret token, as Slack's and Teams' do."""
        scheme = "https" if self.tls is not None else "http"
        return f"{scheme}://{LOCALHOST}:{self.port}/hooks/{self.name}/{self.token}"

    def script(self, *replies: Reply) -> None:
        """Answer the next requests with ``replies`` in order, then with the default."""
        with self._lock:
            self._replies.extend(replies)

    @property
    def requests(self) -> list[ReceivedRequest]:
        with self._lock:
            return list(self._requests)

    def wait_requests(self, count: int, timeout: float = 10.0) -> bool:
        """Block until ``count`` requests arrived; False if ``timeout`` passed first."""
        with self._arrived:
            return self._arrived.wait_for(lambda: len(self._requests) >= count, timeout)

    def reset(self) -> None:
        with self._lock:
            self._requests.clear()
            self._replies.clear()

    def _answer(self, handler: BaseHTTPRequestHandler, body: bytes) -> None:
        with self._lock:
            reply = self._replies.popleft() if self._replies else self.default
            headers = {k.lower(): v for k, v in handler.headers.items()}
            verdict = None
            if self.signing_key is not None:
                verdict = signature_valid(
                    self.signing_key,
                    headers.get("x-vigil-timestamp", ""),
                    headers.get("x-vigil-signature", ""),
                    body,
                )
            self._requests.append(
                ReceivedRequest("POST", handler.path, headers, body, reply.status, verdict)
            )
            self._arrived.notify_all()
        handler.send_response(reply.status)
        for name, value in reply.headers.items():
            handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(reply.body)))
        handler.end_headers()
        handler.wfile.write(reply.body)


def signature_valid(
    signing_key: str, timestamp: str, signatures: str, body: bytes, *, now: float | None = None
) -> bool:
    """What a webhook consumer checks: the timestamp is at most 5 minutes off and one of
    the comma-separated ``sha256=<hex>`` signatures is the HMAC-SHA256 of
    ``"<timestamp>.<body>"`` with its key (compared in constant time)."""
    if not timestamp.isdigit() or abs((now or time.time()) - int(timestamp)) > 300:
        return False
    content = timestamp.encode() + b"." + body
    expected = "sha256=" + hmac.new(signing_key.encode(), content, hashlib.sha256).hexdigest()
    return any(hmac.compare_digest(given.strip(), expected) for given in signatures.split(","))
