"""HTTP(S) checks with httpx.

Latency is the time from starting to send the request to having received the
response head (the first request's ``http11.send_request_headers.started`` to
the final response's ``http11.receive_response_headers.complete``, from
httpcore's ``trace`` events): as close to the socket as httpx allows, so
neither the client's own set-up nor the first connection and TLS set-up is
counted. A redirect's whole time is (a new origin's connection included): the
user waits for it too.
The body is read only when ``body_contains`` needs it, and never beyond
``max_body_bytes``, so a huge response cannot exhaust the runner's memory.

Each check has its own client and connection (a redirect to the same origin
reuses it): a connection shared between checks would queue one check behind
another, and httpcore's shared pool costs time quadratic in the requests in
flight. The TLS contexts are shared (``CheckResources.ssl_context``).
"""

from __future__ import annotations

import importlib.util
import socket
import ssl
import sys
import time
from typing import Any

from vigil.checks.base import Check, Probe
from vigil.checks.http.config import HttpCheckConfig

# httpcore runs ``import sniffio`` each time it sets up a lock - several times per
# request - and falls back to asyncio when that fails. Without sniffio installed
# (anyio no longer requires it) every failed import searches all of sys.path:
# ~0.25 ms each, over a second of event-loop time for 500 checks, all of it
# measurement error. A ``None`` entry makes the same import fail at once.
if "sniffio" not in sys.modules and importlib.util.find_spec("sniffio") is None:
    sys.modules["sniffio"] = None  # type: ignore[assignment]

import httpx  # after the sniffio entry above

_SENT = "http11.send_request_headers.started"
_HEAD = "http11.receive_response_headers.complete"


class _Timing:
    """httpcore ``trace`` callback: when the first request went out and the last head came in."""

    __slots__ = ("head", "sent")

    def __init__(self) -> None:
        self.sent: float | None = None
        self.head: float | None = None

    async def __call__(self, event: str, info: dict[str, Any]) -> None:
        if event == _SENT:
            if self.sent is None:
                self.sent = time.perf_counter()
        elif event == _HEAD:
            self.head = time.perf_counter()

    def latency_ms(self, fallback_start: float) -> float:
        """The traced latency; from ``fallback_start`` if nothing was traced (never negative)."""
        end = self.head if self.head is not None else time.perf_counter()
        start = self.sent if self.sent is not None else fallback_start
        return max(0.0, (end - start) * 1000)


class HttpCheck(Check):
    type_name = "http"
    config: HttpCheckConfig

    def __init__(self, config: HttpCheckConfig, resources) -> None:
        super().__init__(config, resources)
        self.remember_url(config.url)  # httpx sends its user:password as Basic auth
        for key, value in config.headers.items():
            self.remember_header(key, value)

    async def probe(self) -> Probe:
        cfg = self.config
        verify = self.resources.ssl_context(cfg.verify_tls)
        timing = _Timing()
        async with httpx.AsyncClient(
            verify=verify,
            timeout=httpx.Timeout(cfg.timeout),
            follow_redirects=cfg.follow_redirects,
            max_redirects=5,
            trust_env=False,
        ) as client:
            started = time.perf_counter()
            try:
                async with client.stream(
                    cfg.method,
                    cfg.url,
                    headers=cfg.headers,
                    content=cfg.body,
                    extensions={"trace": timing},
                ) as response:
                    latency_ms = timing.latency_ms(started)
                    details = {"status_code": response.status_code}
                    failures = self._status_failures(response.status_code)
                    if not failures and cfg.body_contains is not None:
                        failures += await self._body_failures(response)
            except httpx.TooManyRedirects:
                return self._failed("too many redirects (more than 5)", started)
            except httpx.TimeoutException:
                return self._failed(f"timed out after {cfg.timeout:g}s", started)
            except httpx.ConnectError as exc:
                return self._failed(_connect_reason(exc), started)
            except (httpx.RemoteProtocolError, httpx.LocalProtocolError) as exc:
                return self._failed(f"invalid HTTP response: {self.excerpt(str(exc))}", started)
            except httpx.TransportError as exc:
                reason = f"request failed: {type(exc).__name__}: {self.excerpt(str(exc))}"
                return self._failed(reason, started)
        if failures:
            return Probe(False, "; ".join(failures), latency_ms, details)
        return Probe(True, f"HTTP {response.status_code}", latency_ms, details)

    def _status_failures(self, code: int) -> list[str]:
        expected = self.config.expect_status
        if expected is None:
            return [] if 200 <= code < 300 else [f"HTTP {code}, expected 2xx"]
        if code in expected:
            return []
        return [f"HTTP {code}, expected {', '.join(map(str, expected))}"]

    async def _body_failures(self, response: httpx.Response) -> list[str]:
        needle = self.config.body_contains or ""
        cap = self.config.max_body_bytes
        seen = bytearray()
        async for chunk in response.aiter_raw():
            seen += chunk
            if len(seen) >= cap:
                del seen[cap:]
                break
        text = _decode(bytes(seen), response)
        if needle in text:
            return []
        read = f"first {cap} bytes read" if len(seen) >= cap else f"{len(seen)} bytes read"
        return [f"body does not contain {needle!r} ({read})"]

    def _failed(self, reason: str, started: float) -> Probe:
        return Probe(False, reason, (time.perf_counter() - started) * 1000)


def _decode(raw: bytes, response: httpx.Response) -> str:
    encoding = response.charset_encoding or "utf-8"
    try:
        return raw.decode(encoding, errors="replace")
    except LookupError:
        return raw.decode("utf-8", errors="replace")


def _connect_reason(exc: httpx.ConnectError) -> str:
    """One line saying why the connection failed, from the first cause that tells."""
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, ssl.SSLCertVerificationError):
            return f"TLS certificate verification failed: {cause.verify_message}"
        if isinstance(cause, ssl.SSLError):
            return f"TLS handshake failed: {cause.reason or cause}"
        if isinstance(cause, ConnectionRefusedError):
            return "connection refused"
        if isinstance(cause, socket.gaierror):
            return "DNS lookup failed"
        cause = cause.__cause__ or cause.__context__
    text = str(exc)
    if "CERTIFICATE_VERIFY_FAILED" in text:
        return "TLS certificate verification failed"
    if "Name or service not known" in text or "nodename nor servname" in text:
        return "DNS lookup failed"
    return f"connection failed: {text or type(exc).__name__}"
