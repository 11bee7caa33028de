"""httpcore's network layer on asyncio streams, timing each phase of every connection.

``PhaseClock`` is one exchange's stopwatch: the backend stamps DNS resolution,
TCP connect and the TLS handshake of each new connection; httpcore's ``trace``
events (``PhaseClock.trace``) stamp when each request was sent and when its
response head arrived. Phases are summed over the connections and requests of
the exchange (a redirect adds its own), so they add up to the latency.

``ResolvingBackend`` resolves the name itself (``loop.getaddrinfo``, only the
family ``ip_version`` allows: no fallback to the other one), connects to the
addresses in order, and lets httpcore do TLS with the URL's host name as SNI
and the ``Host`` header unchanged. It runs on plain asyncio streams (no anyio
task groups or cancel scopes per read): the exchange's deadline is one
``asyncio.timeout`` around the whole of it, so per-operation timeouts are not
needed here.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import select
import socket
import ssl
import time
from collections.abc import Iterable
from typing import Any

import httpcore

FAMILIES = {4: socket.AF_INET, 6: socket.AF_INET6, "any": socket.AF_UNSPEC}
_FAMILY_NAMES = {socket.AF_INET: "IPv4", socket.AF_INET6: "IPv6"}
_READ_LIMIT = 2**16


class ConnectFailed(httpcore.ConnectError):
    """A connection could not be made; the message is the reason, ready to show.

    httpcore re-raises connection errors ``from None``, so the original
    exception cannot be found later: the reason is worded here.
    """


def connect_failure(exc: BaseException) -> str:
    """One line saying why connecting (or the TLS handshake) failed."""
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"TLS certificate verification failed: {exc.verify_message}"
    if isinstance(exc, ssl.SSLError):
        return f"TLS handshake failed: {exc.reason or type(exc).__name__}"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, socket.gaierror):
        return f"DNS lookup failed: {exc.strerror or exc}"
    if isinstance(exc, ConnectionError):
        return f"connection lost: {exc.strerror or type(exc).__name__}"
    if isinstance(exc, OSError):
        return f"connection failed: {exc.strerror or exc}"
    return f"connection failed: {type(exc).__name__}"


class PhaseClock:
    """When an exchange started and how long each phase took (perf_counter seconds)."""

    __slots__ = (
        "certificates",
        "connect_s",
        "connected",
        "dns_s",
        "head",
        "phase",
        "sent",
        "started",
        "tls_s",
        "ttfb_s",
    )

    def __init__(self) -> None:
        self.started: float | None = None  # the first connection's resolution started
        self.dns_s = 0.0
        self.connect_s = 0.0
        self.tls_s = 0.0
        self.ttfb_s = 0.0
        self.sent: float | None = None  # the latest request was fully sent
        self.head: float | None = None  # the latest response head arrived
        self.connected = False
        self.phase = "connecting"  # what the exchange is doing, for a timeout's reason
        self.certificates: list[dict[str, Any]] = []  # verified peer certificates seen

    def start(self) -> float:
        now = time.perf_counter()
        if self.started is None:
            self.started = now
        return now

    async def trace(self, event: str, info: dict[str, Any]) -> None:
        """httpcore ``trace`` callback: request sent, response head arrived."""
        if event == "http11.send_request_body.complete":
            self.sent = time.perf_counter()
            self.phase = "waiting for the response"
        elif event == "http11.receive_response_headers.complete":
            self.head = time.perf_counter()
            if self.sent is not None:
                self.ttfb_s += self.head - self.sent
            self.phase = "reading the body"
        elif event == "http11.send_request_headers.started":
            self.start()  # a reused connection: the request starts here
            self.phase = "sending the request"


class _Stream(httpcore.AsyncNetworkStream):
    """An asyncio stream as httpcore's network stream; errors become httpcore's."""

    def __init__(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, clock: PhaseClock
    ) -> None:
        self._reader = reader
        self._writer = writer
        self._clock = clock

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        try:
            return await self._reader.read(max_bytes)
        except (OSError, ssl.SSLError) as exc:
            raise httpcore.ReadError(str(exc) or type(exc).__name__) from exc

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        if not buffer:
            return
        try:
            self._writer.write(buffer)
            await self._writer.drain()
        except (OSError, ssl.SSLError) as exc:
            raise httpcore.WriteError(str(exc) or type(exc).__name__) from exc

    async def aclose(self) -> None:
        # No wait for the close to complete: a peer that never answers the TLS
        # close_notify must not hold the check.
        with contextlib.suppress(Exception):
            self._writer.close()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.AsyncNetworkStream:
        began = time.perf_counter()
        self._clock.phase = "in the TLS handshake"
        try:
            await self._writer.start_tls(ssl_context, server_hostname=server_hostname)
        except (OSError, ssl.SSLError) as exc:
            self._clock.tls_s += time.perf_counter() - began
            raise ConnectFailed(connect_failure(exc)) from exc
        self._clock.tls_s += time.perf_counter() - began
        certificate = self._writer.get_extra_info("peercert")
        if certificate:
            self._clock.certificates.append(certificate)
        return self

    def get_extra_info(self, info: str) -> Any:
        if info == "ssl_object":
            return self._writer.get_extra_info("ssl_object")
        if info == "client_addr":
            return self._writer.get_extra_info("sockname")
        if info == "server_addr":
            return self._writer.get_extra_info("peername")
        if info == "socket":
            return self._writer.get_extra_info("socket")
        if info == "is_readable":  # an idle connection that is readable was closed by the peer
            if self._reader.at_eof():
                return True
            sock = self._writer.get_extra_info("socket")
            if sock is None:
                return True
            try:
                readable, _, _ = select.select([sock.fileno()], [], [], 0)
            except (OSError, ValueError):
                return True
            return bool(readable)
        return None


class ResolvingBackend(httpcore.AsyncNetworkBackend):
    """Resolve (one address family or any), connect in address order, time both."""

    def __init__(self, clock: PhaseClock, ip_version: int | str = "any") -> None:
        self._clock = clock
        self._ip_version = ip_version
        self._family = FAMILIES[ip_version]

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        clock = self._clock
        began = clock.start()
        clock.phase = "resolving the name"
        host = host.strip("[]")
        addresses = await self._resolve(host, port)
        resolved = time.perf_counter()
        clock.dns_s += resolved - began
        clock.phase = "connecting"
        failures: list[str] = []
        try:
            for family, address in addresses:
                try:
                    reader, writer = await asyncio.open_connection(
                        address, port, family=family, limit=_READ_LIMIT
                    )
                except OSError as exc:
                    failures.append(connect_failure(exc))
                    continue
                clock.connected = True
                return _Stream(reader, writer, clock)
        finally:
            clock.connect_s += time.perf_counter() - resolved
        if len(set(failures)) == 1:
            raise ConnectFailed(failures[0])
        tried = zip(addresses, failures, strict=True)
        raise ConnectFailed("; ".join(f"{address}: {why}" for (_, address), why in tried))

    async def _resolve(self, host: str, port: int) -> list[tuple[int, str]]:
        """The addresses to try, ``(family, address)`` in the resolver's order."""
        try:
            literal = ipaddress.ip_address(host)
        except ValueError:
            literal = None
        if literal is not None:
            family = socket.AF_INET if literal.version == 4 else socket.AF_INET6
            if self._family not in (socket.AF_UNSPEC, family):
                raise ConnectFailed(
                    f"{host} is an {_FAMILY_NAMES[family]} address but ip_version is "
                    f"{self._ip_version}"
                )
            return [(family, host)]
        loop = asyncio.get_running_loop()
        try:
            infos = await loop.getaddrinfo(host, port, family=self._family, type=socket.SOCK_STREAM)
        except socket.gaierror as exc:
            raise ConnectFailed(connect_failure(exc)) from exc
        seen: list[tuple[int, str]] = []
        for family, _, _, _, sockaddr in infos:
            entry = (family, str(sockaddr[0]))
            if entry not in seen and family in _FAMILY_NAMES:
                seen.append(entry)
        if not seen:
            wanted = "any" if self._family == socket.AF_UNSPEC else _FAMILY_NAMES[self._family]
            raise ConnectFailed(f"DNS lookup failed: no {wanted} address for {host}")
        return seen

    async def connect_unix_socket(self, *args: Any, **kwargs: Any) -> httpcore.AsyncNetworkStream:
        raise ConnectFailed("unix sockets are not supported")

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)
