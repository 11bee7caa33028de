"""The network under an HTTP check: resolve, connect, TLS, on asyncio streams, each phase timed.

``PhaseClock`` is one exchange's stopwatch: ``open_connection`` stamps DNS
resolution, the TCP connect and the TLS handshake of each new connection; the
exchange (``vigil.checks.http.exchange``) stamps when each request was sent and
when its response head arrived. Phases are summed over the connections and
requests of the exchange (a redirect adds its own), so they add up to the latency
but for the time spent reading a redirect's body.

``open_connection`` resolves the name itself (``loop.getaddrinfo``, only the
family ``ip_version`` allows: no fallback to the other one) and races the
addresses, Happy Eyeballs (RFC 8305): the first at once, the next when the one
before fails or after ``CONNECT_DELAY_S`` without an answer, the families
alternating from the resolver's first; the first connected wins and the others
are cancelled (an address that never answers, an unreachable AAAA say, costs
that delay and not the whole timeout). This is what asyncio does for
``open_connection(host, happy_eyeballs_delay=0.25, interleave=1)``, with its own
``staggered_race``, on addresses resolved here so that resolution is timed
apart. TLS uses the URL's host name (SNI and the certificate check). There are
no per-operation timeouts: the exchange's deadline is one ``asyncio.timeout``
around the whole of it.

Connections are always direct: ``HTTP_PROXY``, ``HTTPS_PROXY``, ``ALL_PROXY`` and
``NO_PROXY`` are not read (``proxy_variables`` names those set, for a warning). A
check measures the path from where it runs to the target, as a user inside the
network would reach it; a proxy would add its own hop to the latency and answer
for the target when the target is down.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import ipaddress
import itertools
import socket
import ssl
import time
from asyncio import staggered
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

FAMILIES = {4: socket.AF_INET, 6: socket.AF_INET6, "any": socket.AF_UNSPEC}
PROXY_VARIABLES = frozenset(("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY"))
_FAMILY_NAMES = {socket.AF_INET: "IPv4", socket.AF_INET6: "IPv6"}
_READ_SIZE = 2**16
# Happy Eyeballs (RFC 8305): how long an address may go unanswered before the next one is
# tried beside it; 250 ms is the RFC's recommended Connection Attempt Delay.
CONNECT_DELAY_S = 0.25


class ConnectFailed(Exception):
    """A connection (or its TLS handshake) could not be made; the message is the reason."""


class TransferFailed(Exception):
    """The connection failed while the request or the response was on it.

    ``str()`` is ``"<ReadError|WriteError>: <why>"``; ``why`` alone is the cause
    (``Connection reset by peer``, ``TLS TLSV13_ALERT_CERTIFICATE_REQUIRED``).
    """

    def __init__(self, kind: str, exc: OSError) -> None:
        if isinstance(exc, ssl.SSLError) and exc.reason:  # a TLS alert from the peer
            self.why = f"TLS {exc.reason}"
        else:
            self.why = str(exc.strerror or exc or type(exc).__name__)
        super().__init__(f"{kind}: {self.why}")


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
        self.phase = "connecting"  # what the exchange is doing, for a timeout's reason
        self.certificates: list[dict[str, Any]] = []  # verified peer certificates seen

    def start(self) -> float:
        now = time.perf_counter()
        if self.started is None:
            self.started = now
        return now

    def sending(self) -> None:
        """A request starts (on a reused connection, the exchange's time starts here)."""
        self.start()
        self.phase = "sending the request"

    def request_sent(self) -> None:
        self.sent = time.perf_counter()
        self.phase = "waiting for the response"

    def head_arrived(self) -> None:
        self.head = time.perf_counter()
        if self.sent is not None:
            self.ttfb_s += self.head - self.sent
        self.phase = "reading the body"


class Connection:
    """One TCP (maybe TLS) connection; I/O errors become ``TransferFailed``."""

    __slots__ = ("_clock", "_reader", "_writer", "origin")

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        clock: PhaseClock,
        origin: tuple[str, str, int],
    ) -> None:
        self._reader = reader
        self._writer = writer
        self._clock = clock
        self.origin = origin  # (scheme, host, port) it was opened for

    async def read(self) -> bytes:
        """The next bytes the peer sent; ``b""`` once it closed its side."""
        try:
            return await self._reader.read(_READ_SIZE)
        except (OSError, ssl.SSLError) as exc:
            raise TransferFailed("ReadError", exc) from exc

    async def write(self, data: bytes) -> None:
        try:
            self._writer.write(data)
            await self._writer.drain()
        except (OSError, ssl.SSLError) as exc:
            raise TransferFailed("WriteError", exc) from exc

    async def start_tls(self, context: ssl.SSLContext, server_hostname: str) -> None:
        clock = self._clock
        began = time.perf_counter()
        clock.phase = "in the TLS handshake"
        try:
            await self._writer.start_tls(context, server_hostname=server_hostname)
        except (OSError, ssl.SSLError) as exc:
            raise ConnectFailed(connect_failure(exc)) from exc
        finally:
            clock.tls_s += time.perf_counter() - began
        certificate = self._writer.get_extra_info("peercert")
        if certificate:
            clock.certificates.append(certificate)

    def close(self) -> None:
        """Close at once, with no TLS close_notify exchange: asyncio would keep the
        socket open for up to 30 s waiting for a peer that never answers one, and with
        hundreds of checks in flight those sockets add up to Lambda's 1,024 files."""
        with contextlib.suppress(Exception):
            self._writer.transport.abort()


async def open_connection(
    clock: PhaseClock, scheme: str, host: str, port: int, ip_version: int | str = "any"
) -> Connection:
    """A connection to ``host:port`` (resolved, connected; not yet TLS), timed on ``clock``."""
    began = clock.start()
    clock.phase = "resolving the name"
    addresses = interleaved(await _resolve(host, port, ip_version))
    resolved = time.perf_counter()
    clock.dns_s += resolved - began
    clock.phase = "connecting"
    try:
        reader, writer = await _connect(addresses, port)
    finally:
        clock.connect_s += time.perf_counter() - resolved
    return Connection(reader, writer, clock, (scheme, host, port))


async def _connect(
    addresses: list[tuple[int, str]], port: int
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """The first of ``addresses`` to connect, raced (Happy Eyeballs); ``ConnectFailed``
    with each address's reason when none does."""
    if len(addresses) == 1:  # an IP address, or a name with one: nothing to race
        family, address = addresses[0]
        try:
            return await asyncio.open_connection(address, port, family=family, limit=_READ_SIZE)
        except OSError as exc:
            raise ConnectFailed(connect_failure(exc)) from exc
    made: list[asyncio.StreamWriter] = []  # at most one connection is kept

    async def attempt(
        family: int, address: str
    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        reader, writer = await asyncio.open_connection(
            address, port, family=family, limit=_READ_SIZE
        )
        if made:  # another attempt won in the same turn of the loop
            writer.transport.abort()
            raise ConnectionAbortedError("another address connected first")
        made.append(writer)
        return reader, writer

    try:
        winner, _, errors = await staggered.staggered_race(
            [functools.partial(attempt, family, address) for family, address in addresses],
            CONNECT_DELAY_S,
        )
    except BaseException:  # cancelled (the deadline) or failed after a connection was made
        for writer in made:
            writer.transport.abort()
        raise
    if winner is not None:
        return winner
    failures = [connect_failure(exc) for exc in errors if exc is not None]
    if len(set(failures)) == 1:
        raise ConnectFailed(failures[0])
    tried = zip(addresses, failures, strict=True)
    raise ConnectFailed("; ".join(f"{address}: {why}" for (_, address), why in tried))


def interleaved(addresses: list[tuple[int, str]]) -> list[tuple[int, str]]:
    """``addresses`` with the families alternating, from the first one's (RFC 8305
    section 4, asyncio's ``interleave=1``); each family's own order is kept."""
    by_family: dict[int, list[tuple[int, str]]] = {}
    for entry in addresses:
        by_family.setdefault(entry[0], []).append(entry)
    if len(by_family) < 2:
        return addresses
    return [entry for turn in itertools.zip_longest(*by_family.values()) for entry in turn if entry]


def proxy_variables(environ: Mapping[str, str]) -> list[str]:
    """The proxy variables set (not empty) in ``environ``, in either case: ignored."""
    return sorted(
        name for name, value in environ.items() if name.upper() in PROXY_VARIABLES and value
    )


@lru_cache(maxsize=4096)
def literal_family(host: str) -> int | None:
    """``AF_INET``/``AF_INET6`` if ``host`` is an IP address, else None (a name to resolve)."""
    try:
        literal = ipaddress.ip_address(host)
    except ValueError:
        return None
    return socket.AF_INET if literal.version == 4 else socket.AF_INET6


async def _resolve(host: str, port: int, ip_version: int | str) -> list[tuple[int, str]]:
    """The addresses to try, ``(family, address)`` in the resolver's order."""
    wanted = FAMILIES[ip_version]
    family = literal_family(host)
    if family is not None:
        if wanted not in (socket.AF_UNSPEC, family):
            raise ConnectFailed(
                f"{host} is an {_FAMILY_NAMES[family]} address but ip_version is {ip_version}"
            )
        return [(family, host)]
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, family=wanted, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise ConnectFailed(connect_failure(exc)) from exc
    seen: list[tuple[int, str]] = []
    for family, _, _, _, sockaddr in infos:
        entry = (family, str(sockaddr[0]))
        if entry not in seen and family in _FAMILY_NAMES:
            seen.append(entry)
    if not seen:
        which = "any" if wanted == socket.AF_UNSPEC else _FAMILY_NAMES[wanted]
        raise ConnectFailed(f"DNS lookup failed: no {which} address for {host}")
    return seen
