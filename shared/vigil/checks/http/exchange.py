"""One HTTP/1.1 exchange of a check: the request, its redirects, the final response.

The wire protocol is h11's (the parser under httpx); URLs are httpx's (``httpx.URL``:
IDNA host names, percent-encoding, joining a ``Location``); the connections are
``network.open_connection``'s. A check makes one exchange on a connection of its
own, so the connection pool, client and request/response layers of httpx would
only add work: about two thirds of a check's CPU when hundreds run at once, and
on a busy event loop every millisecond of CPU is a millisecond of somebody's
latency read late.

Redirects follow httpx's rules: ``303`` turns any method but ``HEAD`` into
``GET``, ``301``/``302`` turn ``POST`` into ``GET`` (the body dropped); a
redirect to another origin drops ``Host``, ``Authorization``,
``Proxy-Authorization``, ``Cookie`` and the headers the caller names private
(except http -> https on the same host, which keeps all but ``Host``); cookies
set along the chain are sent on. A redirect to the same origin reuses the
connection when the server keeps it open.
"""

from __future__ import annotations

import asyncio
import base64
import os
import ssl
from collections.abc import Callable, Iterable
from email.message import Message
from functools import cached_property, lru_cache
from typing import NamedTuple

import h11
import httpx

from vigil.checks.http.body import LoopTurns
from vigil.checks.http.network import Connection, PhaseClock, TransferFailed, open_connection
from vigil.exceptions import CheckSetupError

DISCONNECTED = "Server disconnected without sending a response{}."
REDIRECT_CODES = frozenset((301, 302, 303, 307, 308))
DEFAULT_PORTS = {"http": 80, "https": 443}


def user_agent(region: str | None) -> str:
    """``Vigil (health check; <region>)``: a target's owner can tell the locations apart."""
    return f"Vigil (health check; {region})" if region else "Vigil (health check)"


# The region this function runs in (Lambda sets AWS_REGION), fixed for its life.
USER_AGENT = user_agent(os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION"))
_MAX_HEAD_BYTES = 100 * 1024  # a response head longer than this is refused
_REDIRECT_BODY_BYTES = 64 * 1024  # a longer redirect body is not drained: the connection closes
_CREDENTIALS = frozenset((b"authorization", b"proxy-authorization", b"cookie"))
_BODY_HEADERS = frozenset((b"content-length", b"transfer-encoding", b"content-type"))
# One framing (never Content-Length and Transfer-Encoding both: RFC 9112), one protocol.
_OWN_HEADERS = frozenset((b"content-length", b"transfer-encoding", b"upgrade"))


class InvalidResponse(Exception):
    """The server broke HTTP/1.1 (or hung up before answering); the message says how."""


class InvalidRequest(CheckSetupError):
    """The request cannot be sent as configured (a header h11 refuses, say): the check's
    own problem, status ``error``."""


class TooManyRedirects(Exception):
    """The chain of redirects is longer than allowed."""


class Target(NamedTuple):
    """What a URL means on the wire, worked out once per URL (``target``); a named tuple,
    whose class costs a cold start a fraction of a frozen dataclass's."""

    url: httpx.URL
    scheme: str
    host: str  # ASCII (IDNA), no brackets: for resolving, SNI and the certificate check
    port: int
    path: bytes  # the request target: path and query, percent-encoded
    host_header: bytes  # host[:port], the port only when it is not the scheme's default
    authorization: bytes | None  # Basic, from the URL's user:password

    @property
    def origin(self) -> tuple[str, str, int]:
        return (self.scheme, self.host, self.port)


@lru_cache(maxsize=4096)  # warm-start cache: a check's URL is parsed once per container
def target(url: str | httpx.URL) -> Target:
    """``url`` as the wire needs it; raises ``InvalidRequest`` for a URL that is not http(s)
    or whose port is out of range, ``httpx.InvalidURL`` for one httpx cannot parse."""
    parsed = url if isinstance(url, httpx.URL) else httpx.URL(url)
    if parsed.scheme not in DEFAULT_PORTS or not parsed.raw_host:
        raise InvalidRequest(f"not an http:// or https:// URL with a host: {parsed.scheme}://…")
    port = parsed.port or DEFAULT_PORTS[parsed.scheme]
    if not 0 < port < 65536:
        raise InvalidRequest(f"port {port} is out of range")
    authorization = None
    if parsed.username or parsed.password:
        userpass = f"{parsed.username}:{parsed.password}".encode()
        authorization = b"Basic " + base64.b64encode(userpass)
    return Target(
        url=parsed,
        scheme=parsed.scheme,
        host=parsed.raw_host.decode("ascii"),
        port=port,
        path=parsed.raw_path,
        host_header=parsed.netloc.rpartition(b"@")[2],
        authorization=authorization,
    )


class Response:
    """The final response: status, headers, the number of redirects followed, the body."""

    def __init__(self, exchange: Exchange, head: h11.Response, redirects: int) -> None:
        self._exchange = exchange
        self._head = head
        self.status_code = head.status_code
        self.raw_headers = head.headers.raw_items()
        self.redirects = redirects
        # RFC 9110 (as h11 frames it): no body after HEAD, 204 or 304
        self.has_body = exchange.method != "HEAD" and head.status_code not in (204, 304)

    @cached_property
    def headers(self) -> httpx.Headers:
        return httpx.Headers(self.raw_headers)

    @property
    def charset_encoding(self) -> str | None:
        """The ``charset`` of ``Content-Type``, if any (as httpx reads it)."""
        content_type = self.headers.get("content-type")
        if not content_type:
            return None
        message = Message()
        message["content-type"] = content_type
        return message.get_content_charset(failobj=None)

    @property
    def content_encoding(self) -> str | None:
        """``Content-Encoding``, several headers joined by ``, `` (read without building
        ``headers``: every check reads its body, few look at other headers)."""
        values = None
        for name, value in self._head.headers:
            if name == b"content-encoding":
                values = value if values is None else values + b", " + value
        return None if values is None else values.decode("latin-1")

    async def read_body(self, feed: Callable[[bytes | bytearray], bool]) -> None:
        """Give ``feed`` the body as sent (still content-encoded), chunk by chunk, until
        its end or until ``feed`` returns True (enough was read)."""
        await self._exchange.read_body(feed)


class Exchange:
    """``async with Exchange(...) as response``: send, follow redirects, close at the end.

    ``headers`` are the caller's (``Host``, ``Accept``, ``User-Agent`` and
    ``Authorization`` from the URL's user:password are added unless given;
    ``Content-Length`` always is, with a body: the exchange frames the request
    itself, and a given ``Content-Length``, ``Transfer-Encoding`` or ``Upgrade`` is
    ``InvalidRequest``); ``private`` names more of them (lower-case) that must
    not follow a redirect to another origin; ``context`` is the TLS context for
    https. Entering raises ``ConnectFailed``, ``TransferFailed``,
    ``InvalidResponse``, ``InvalidRequest`` or ``TooManyRedirects``; reading the
    body, ``TransferFailed`` or ``InvalidResponse``. The connection is closed on
    every way out.
    """

    def __init__(
        self,
        method: str,
        url: str,
        headers: dict[str, str],
        body: bytes | None,
        *,
        context: ssl.SSLContext,
        clock: PhaseClock,
        ip_version: int | str = "any",
        max_redirects: int = 0,
        private: Iterable[str] = (),
    ) -> None:
        self._method = method
        self._target = target(url)
        self._headers = _encoded(headers)
        given = {name.lower() for name, _ in self._headers}
        if given & _OWN_HEADERS:  # the config refuses them: a second guard, for the wire
            owned = ", ".join(sorted(name.decode() for name in given & _OWN_HEADERS))
            raise InvalidRequest(f"headers: {owned} cannot be set (the exchange's own)")
        if self._target.authorization is not None and b"authorization" not in given:
            self._headers.append((b"Authorization", self._target.authorization))
        self._private = _CREDENTIALS | {name.lower().encode("latin-1") for name in private}
        self._body = body
        self._context = context
        self._clock = clock
        self._ip_version = ip_version
        self._max_redirects = max_redirects
        self._cookies: httpx.Cookies | None = None
        self._connection: Connection | None = None
        self._h11: h11.Connection | None = None

    async def __aenter__(self) -> Response:
        redirects = 0
        try:
            while True:
                head = await self._request()
                if not self._follows(head):
                    return Response(self, head, redirects)
                if redirects >= self._max_redirects:
                    raise TooManyRedirects(
                        f"too many redirects (more than max_redirects {self._max_redirects})"
                    )
                redirects += 1
                await self._redirect(head)
        except BaseException:  # failed, timed out or cancelled: __aexit__ will not run
            self._close()
            raise

    async def __aexit__(self, *exc_info: object) -> None:
        self._close()

    @property
    def method(self) -> str:
        """The method of the latest request (a redirect may have turned it into ``GET``)."""
        return self._method

    # ------------------------------------------------------------------ one request

    async def _request(self) -> h11.Response:
        """Send the request on a connection to its origin; the response head (1xx skipped)."""
        goal = self._target
        if self._connection is None or self._connection.origin != goal.origin:
            self._close()
            await self._connect(goal)
        else:
            self._h11.start_next_cycle()  # a reused connection
        assert self._connection is not None and self._h11 is not None
        clock = self._clock
        clock.sending()
        try:
            event = _request_event(self._method, goal.path, self._request_headers())
            data = self._h11.send(event)
            if self._body:
                data += self._h11.send(h11.Data(data=self._body))
            data += self._h11.send(h11.EndOfMessage())
        except h11.LocalProtocolError as exc:
            raise InvalidRequest(f"invalid HTTP request: {exc}") from None
        await self._connection.write(data)
        clock.request_sent()
        while True:
            event = await self._next_event()
            if isinstance(event, h11.Response):
                clock.head_arrived()
                return event
            if isinstance(event, h11.ConnectionClosed):
                raise InvalidResponse(DISCONNECTED.format(""))
            # an InformationalResponse (1xx): the final answer comes after it

    async def _connect(self, goal: Target) -> None:
        connection = await open_connection(
            self._clock, goal.scheme, goal.host, goal.port, self._ip_version
        )
        self._connection = connection
        if goal.scheme == "https":
            await connection.start_tls(self._context, goal.host)
        self._h11 = h11.Connection(h11.CLIENT, max_incomplete_event_size=_MAX_HEAD_BYTES)

    def _request_headers(self) -> tuple[tuple[bytes, bytes], ...]:
        goal = self._target
        given = {name.lower() for name, _ in self._headers}
        added = []
        if b"host" not in given:
            added.append((b"Host", goal.host_header))
        if b"accept" not in given:
            added.append((b"Accept", b"*/*"))
        if b"user-agent" not in given:
            added.append((b"User-Agent", USER_AGENT.encode()))
        if self._body or self._method in ("POST", "PUT"):
            added.append((b"Content-Length", str(len(self._body or b"")).encode()))
        headers = self._headers
        if self._cookies:  # one Cookie header (RFC 6265): the caller's cookies, then the jar's
            request = httpx.Request(self._method, goal.url)
            self._cookies.set_cookie_header(request)
            if "cookie" in request.headers:
                jar = request.headers["cookie"].encode("latin-1")
                own = [value for name, value in headers if name.lower() == b"cookie"]
                headers = [h for h in headers if h[0].lower() != b"cookie"]
                headers.append((b"Cookie", b"; ".join([*own, jar])))
        return (*added, *headers)

    async def _next_event(self) -> h11.Event:
        assert self._connection is not None and self._h11 is not None
        while True:
            try:
                event = self._h11.next_event()
                if event is h11.NEED_DATA:
                    self._h11.receive_data(await self._read())
                    continue
            except h11.RemoteProtocolError as exc:
                raise InvalidResponse(str(exc)) from None
            return event

    async def _read(self) -> bytes:
        """The next bytes; before the response head, a hang-up (an end, a reset or a TLS
        alert, whichever the race on the wire delivers first) is ``InvalidResponse``."""
        assert self._connection is not None and self._h11 is not None
        waiting = self._h11.their_state is h11.SEND_RESPONSE
        try:
            data = await self._connection.read()
        except TransferFailed as exc:
            if waiting:
                raise InvalidResponse(DISCONNECTED.format(f" ({exc.why})")) from None
            raise
        if not data and waiting:
            raise InvalidResponse(DISCONNECTED.format(""))
        return data

    async def read_body(self, feed: Callable[[bytes | bytearray], bool]) -> None:
        """Feed the current response's body chunks to ``feed`` until its end or until
        ``feed`` returns True. The event loop gets a turn every millisecond
        (``LoopTurns``): a body of a million one-byte chunks is a million events.
        (``_next_event`` inlined: this runs for every check.)"""
        assert self._h11 is not None
        connection = self._h11
        turns = LoopTurns()
        while True:
            try:
                event = connection.next_event()
                if event is h11.NEED_DATA:
                    connection.receive_data(await self._read())
                    continue
            except h11.RemoteProtocolError as exc:
                raise InvalidResponse(str(exc)) from None
            kind = type(event)
            if kind is h11.Data:
                if feed(event.data):
                    return
                if turns.due():
                    await asyncio.sleep(0)
            elif kind is h11.EndOfMessage or kind is h11.ConnectionClosed:
                return

    # ------------------------------------------------------------------ redirects

    def _follows(self, head: h11.Response) -> bool:
        if head.status_code not in REDIRECT_CODES or self._max_redirects == 0:
            return False
        return any(name == b"location" for name, _ in head.headers)

    async def _redirect(self, head: h11.Response) -> None:
        """Turn the request into the one ``head`` redirects to."""
        location = next(value for name, value in head.headers if name == b"location")
        here = self._target
        try:
            there = target(here.url.join(_header_text(location)))
        except (httpx.InvalidURL, InvalidRequest, UnicodeError) as exc:
            raise InvalidResponse(f"Invalid URL in location header: {exc}") from None
        self._keep_cookies(head, here)
        if (head.status_code == 303 and self._method != "HEAD") or (
            head.status_code in (301, 302) and self._method == "POST"
        ):
            self._method, self._body = "GET", None
            self._headers = [h for h in self._headers if h[0].lower() not in _BODY_HEADERS]
        if here.origin != there.origin:
            upgrade = _is_https_upgrade(here, there)
            dropped = {b"host"} if upgrade else {b"host", *self._private}
            self._headers = [h for h in self._headers if h[0].lower() not in dropped]
        self._target = there
        if self._connection is not None and self._connection.origin == there.origin:
            await self._drain()

    async def _drain(self) -> None:
        """Read the redirect's body so that its connection can carry the next request;
        close it instead when the server will not keep it open."""
        assert self._h11 is not None
        if self._h11.our_state is h11.MUST_CLOSE:  # Connection: close, or a body ended by it
            self._close()
            return
        read = 0

        def drained(chunk: bytes | bytearray) -> bool:
            nonlocal read
            read += len(chunk)
            return read > _REDIRECT_BODY_BYTES

        await self.read_body(drained)
        if (self._h11.our_state, self._h11.their_state) != (h11.DONE, h11.DONE):
            self._close()

    def _keep_cookies(self, head: h11.Response, here: Target) -> None:
        """Remember the cookies a redirect sets (httpx's cookie jar, only when one is set)."""
        if not any(name == b"set-cookie" for name, _ in head.headers):
            return
        if self._cookies is None:
            self._cookies = httpx.Cookies()
        request = httpx.Request(self._method, here.url)
        response = httpx.Response(head.status_code, headers=head.headers.raw_items())
        response.request = request
        self._cookies.extract_cookies(response)

    def _close(self) -> None:
        if self._connection is not None:
            self._connection.close()
        self._connection = self._h11 = None


# Warm-start cache: request events by content, validated by h11 once per container
# (events are immutable). Its keys hold header values, in memory only, as the config does.
@lru_cache(maxsize=4096)
def _request_event(
    method: str, path: bytes, headers: tuple[tuple[bytes, bytes], ...]
) -> h11.Request:
    return h11.Request(method=method, target=path, headers=list(headers))


def _encoded(headers: dict[str, str]) -> list[tuple[bytes, bytes]]:
    """The headers as bytes; a name or value HTTP/1.1 cannot carry is ``InvalidRequest``."""
    encoded = []
    for name, value in headers.items():
        try:
            encoded.append((name.encode("ascii"), value.encode("latin-1")))
        except UnicodeEncodeError:
            part = "name" if not name.isascii() else "value"
            raise InvalidRequest(
                f"headers.{name}: the {part} has characters an HTTP header cannot carry "
                "(ASCII names, Latin-1 values)"
            ) from None
    return encoded


def _header_text(value: bytes) -> str:
    """A header's bytes as text, as httpx reads them: ASCII, else UTF-8, else Latin-1."""
    for encoding in ("ascii", "utf-8"):
        try:
            return value.decode(encoding)
        except UnicodeDecodeError:
            continue
    return value.decode("latin-1")


def _is_https_upgrade(here: Target, there: Target) -> bool:
    """http -> https on the same host and default ports: httpx keeps the credentials."""
    return (
        here.host == there.host
        and (here.scheme, there.scheme) == ("http", "https")
        and (here.port, there.port) == (80, 443)
    )
