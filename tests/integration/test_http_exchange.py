"""The HTTP exchange on the wire: what a check sends, how it follows redirects (methods,
credentials across origins, cookies), and what it accepts back - against real loopback
servers that record every request."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import os
import socket
import ssl
import struct
import threading
from dataclasses import dataclass, field

import pytest

from tests.integration import http_servers as hs
from tests.integration.tcp_servers import Servers, server_tls_context
from tests.integration.test_http_check_keys import run_check
from vigil.checks import CheckResources, build_check
from vigil.checks.http.check import warn_if_proxies_set
from vigil.checks.http.exchange import USER_AGENT, Exchange, InvalidRequest, target
from vigil.checks.http.network import PROXY_VARIABLES, PhaseClock
from vigil.config import parse_config

FRAMING = ("content-length", "transfer-encoding")


@dataclass
class Seen:
    """One request as the server read it."""

    method: str
    path: str
    headers: dict[str, str]  # lower-cased names; the last of repeated ones
    lines: list[tuple[str, str]]  # every header line, as sent
    body: bytes
    connection: int  # which connection carried it (1, 2, ... in order of accept)


@dataclass
class Recorder:
    """A server answering from ``answers`` by path, recording each request and connection."""

    answers: dict[str, tuple[int, list[tuple[str, str]], bytes]]
    seen: list[Seen] = field(default_factory=list)
    connections: int = 0

    async def __call__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        connection = self.connections
        while True:
            try:
                head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
                first, *rest = head.split("\r\n")
                method, path, _ = first.split(" ", 2)
                lines = [
                    (n.strip(), v.strip()) for n, _, v in (x.partition(":") for x in rest if x)
                ]
                headers = {name.lower(): value for name, value in lines}
                body = await reader.readexactly(int(headers.get("content-length", "0")))
            except (asyncio.IncompleteReadError, ConnectionError):
                return
            self.seen.append(Seen(method, path, headers, lines, body, connection))
            status, extra, answer = self.answers.get(path.split("?")[0], (404, [], b"no"))
            writer.write(hs.head_bytes(status, [*extra, ("Content-Length", str(len(answer)))]))
            writer.write(answer)
            await writer.drain()


def serve(servers: Servers, answers) -> tuple[Recorder, str]:
    recorder = Recorder(answers)
    port = servers.serve(recorder)
    return recorder, f"http://127.0.0.1:{port}"


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def test_what_a_check_sends(servers):
    recorder, base = serve(servers, {"/health": hs.body(b"ok")})
    result = run_check(base + "/health?probe=1", headers={"X-Trace": "abc"})
    assert result.status == "healthy", result.reason
    (request,) = recorder.seen
    assert (request.method, request.path) == ("GET", "/health?probe=1")
    assert request.headers["host"] == base.removeprefix("http://")  # the port: not the default
    assert request.headers["user-agent"] == USER_AGENT
    assert request.headers["accept"] == "*/*"
    assert request.headers["accept-encoding"] == "gzip, deflate"
    assert request.headers["x-trace"] == "abc"
    assert "content-length" not in request.headers  # a GET has no body


def test_a_configured_header_replaces_the_default_one(servers):
    recorder, base = serve(servers, {"/": hs.body(b"ok")})
    agent = {"User-Agent": "acme-probe/2", "Accept": "application/json", "Host": "api.acme"}
    assert run_check(base + "/", headers=agent).status == "healthy"
    (request,) = recorder.seen
    assert request.headers["user-agent"] == "acme-probe/2"
    assert request.headers["accept"] == "application/json"
    assert request.headers["host"] == "api.acme"


def test_a_body_is_sent_with_its_length(servers):
    recorder, base = serve(servers, {"/orders": (201, [], b"made")})
    payload = json.dumps({"sku": "é-1"})
    result = run_check(base + "/orders", method="POST", body=payload, expect_status=[201])
    assert result.status == "healthy", result.reason
    (request,) = recorder.seen
    assert request.method == "POST"
    assert request.body == payload.encode()
    assert request.headers["content-length"] == str(len(payload.encode()))


@pytest.mark.parametrize("method", ["POST", "PUT"])
def test_a_request_has_one_framing(servers, method):
    """Content-Length, never Transfer-Encoding beside it (RFC 9112): Vigil frames the body."""
    recorder, base = serve(servers, {"/": hs.body(b"ok")})
    assert run_check(base + "/", method=method, body="ping").status == "healthy"
    assert run_check(base + "/", method=method).status == "healthy"  # no body: length 0
    for request, length in zip(recorder.seen, ("4", "0"), strict=True):
        framing = [(n, v) for n, v in request.lines if n.lower() in FRAMING]
        assert framing == [("Content-Length", length)], request.lines


@pytest.mark.parametrize("name", ["Transfer-Encoding", "content-length", "Upgrade"])
def test_the_exchange_refuses_the_headers_it_owns(servers, name):
    """The config refuses them at their key (test_http_check_keys); the exchange refuses
    them too, before anything is sent."""
    recorder, base = serve(servers, {"/": hs.body(b"ok")})

    async def exchange():
        given = {name: "chunked", "X-Trace": "abc"}
        context = ssl.create_default_context()
        clock = PhaseClock()
        async with Exchange("POST", base + "/", given, b"ping", context=context, clock=clock):
            pass

    with pytest.raises(InvalidRequest, match=f"headers: {name.lower()} cannot be set"):
        asyncio.run(exchange())
    assert recorder.connections == 0


def test_url_credentials_are_sent_as_basic_auth(servers):
    recorder, base = serve(servers, {"/": hs.body(b"ok")})
    url = base.replace("http://", "http://ops%40acme:p%3Ass@") + "/"
    assert run_check(url).status == "healthy"
    assert recorder.seen[0].headers["authorization"] == basic("ops@acme", "p:ss")


@pytest.mark.parametrize(
    ("code", "method", "after"),
    [
        (303, "POST", "GET"),
        (303, "PUT", "GET"),
        (302, "POST", "GET"),
        (301, "POST", "GET"),
        (302, "PUT", "PUT"),
        (307, "POST", "POST"),
        (308, "PUT", "PUT"),
    ],
)
def test_a_redirect_keeps_or_changes_the_method_as_browsers_do(servers, code, method, after):
    recorder, base = serve(servers, {"/submit": hs.redirect("/done", code), "/done": hs.body(b"")})
    result = run_check(base + "/submit", method=method, body="payload")
    assert result.status == "healthy", result.reason
    first, second = recorder.seen
    assert (first.method, first.body) == (method, b"payload")
    assert second.method == after
    if after == "GET":
        assert second.body == b""
        assert "content-length" not in second.headers
    else:
        assert second.body == b"payload"


def test_a_redirect_to_the_same_origin_reuses_the_connection(servers):
    recorder, base = serve(servers, {"/a": hs.redirect("/b"), "/b": hs.body(b"ok")})
    result = run_check(base + "/a")
    assert result.status == "healthy", result.reason
    assert [(s.path, s.connection) for s in recorder.seen] == [("/a", 1), ("/b", 1)]
    assert result.details["redirects"] == 1


def test_credentials_do_not_follow_a_redirect_to_another_origin(servers):
    other, other_base = serve(servers, {"/landing": hs.body(b"ok")})
    recorder, base = serve(
        servers,
        {"/away": hs.redirect(other_base + "/landing"), "/home": hs.redirect("/landing"),
         "/landing": hs.body(b"ok")},
    )  # fmt: skip
    headers = {
        "Authorization": "Bearer s3cr3t-token",
        "Cookie": "session=abc123",
        "X-Api-Key": "k3y-k3y-k3y",
        "X-Signed": {"secret": "signing"},
        "Host": "api.acme",
        "X-Trace": "abc",
    }
    secrets = {"signing": "s1gn4ture"}
    assert run_check(base + "/away", headers=headers, secrets=secrets).status == "healthy"
    assert recorder.seen[0].headers["authorization"] == "Bearer s3cr3t-token"
    assert recorder.seen[0].headers["host"] == "api.acme"
    (landed,) = other.seen
    for private in ("authorization", "cookie", "x-api-key", "x-signed"):
        assert private not in landed.headers, private
    assert landed.headers["host"] == other_base.removeprefix("http://")  # its own, not api.acme
    assert landed.headers["x-trace"] == "abc"  # nothing private: it follows

    url = base.replace("http://", "http://ops:pw@") + "/away"
    assert run_check(url).status == "healthy"
    assert "authorization" not in other.seen[-1].headers

    # the same origin keeps them
    assert run_check(base + "/home", headers=headers, secrets=secrets).status == "healthy"
    kept = recorder.seen[-1]
    assert kept.path == "/landing"
    assert kept.headers["authorization"] == "Bearer s3cr3t-token"
    assert kept.headers["cookie"] == "session=abc123"
    assert kept.headers["x-signed"] == "s1gn4ture"
    assert kept.headers["host"] == "api.acme"


def test_url_credentials_follow_an_absolute_redirect_to_the_same_origin(servers):
    recorder, base = serve(servers, {"/docs": hs.redirect(""), "/docs/": hs.body(b"ok")})
    recorder.answers["/docs"] = hs.redirect(base + "/docs/", 301)  # absolute, no user:password
    url = base.replace("http://", "http://ops:pw@") + "/docs"
    assert run_check(url).status == "healthy"
    assert [s.path for s in recorder.seen] == ["/docs", "/docs/"]
    assert {s.headers["authorization"] for s in recorder.seen} == {basic("ops", "pw")}


def test_a_cookie_set_by_a_redirect_is_sent_to_the_next_hop(servers):
    login = (302, [("Location", "/app"), ("Set-Cookie", "sid=xyz; Path=/")], b"")
    recorder, base = serve(servers, {"/login": login, "/app": hs.body(b"welcome")})
    result = run_check(base + "/login", body_contains="welcome")
    assert result.status == "healthy", result.reason
    assert recorder.seen[1].headers["cookie"] == "sid=xyz"

    # with a Cookie of its own: still one Cookie header (RFC 6265), both cookies in it
    assert run_check(base + "/login", headers={"Cookie": "theme=dark"}).status == "healthy"
    cookies = [value for name, value in recorder.seen[-1].lines if name.lower() == "cookie"]
    assert cookies == ["theme=dark; sid=xyz"]


def test_a_utf8_location_is_followed_as_written(servers):
    location = (302, [("Location", "/café".encode().decode("latin-1"))], b"")
    recorder, base = serve(servers, {"/": location, "/caf%C3%A9": hs.body(b"ok")})
    assert run_check(base + "/").status == "healthy"
    assert recorder.seen[-1].path == "/caf%C3%A9"


def test_a_redirect_whose_connection_ends_with_its_body_is_not_drained(servers):
    """A 3xx whose body runs until the server closes: the server keeps the connection open,
    so draining would wait for the timeout; the check opens a new connection instead."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        _, path, _ = await hs.read_head(reader)
        if path == "/old":
            writer.write(b"HTTP/1.1 302 Found\r\nLocation: /new\r\nConnection: close\r\n\r\n")
            await writer.drain()
            await reader.read()  # never closes first
        else:
            writer.write(hs.head_bytes(200, [("Content-Length", "2")]) + b"ok")
            await writer.drain()

    port = servers.serve(handle)
    result = run_check(f"http://127.0.0.1:{port}/old", timeout="2s")
    assert (result.status, result.reason) == ("healthy", "HTTP 200 after 1 redirects")


def test_a_header_http_cannot_carry_is_the_checks_own_error(servers):
    _, base = serve(servers, {"/": hs.body(b"ok")})
    result = run_check(base + "/", headers={"X-Note": "ünïcode ☃"})
    assert result.status == "error"
    assert result.reason.startswith("headers.X-Note: the value has characters"), result.reason


@pytest.mark.parametrize(
    ("location", "reason"),
    [
        ("ftp://files.example/x", "invalid HTTP response: Invalid URL in location header"),
        ("http://[::1", "invalid HTTP response: Invalid URL in location header: Invalid port"),
        ("http://a:99999/", "invalid HTTP response: Invalid URL in location header: port 99999"),
    ],
)
def test_a_redirect_vigil_cannot_follow_is_unhealthy_and_says_why(servers, location, reason):
    _, base = serve(servers, {"/": hs.redirect(location)})
    result = run_check(base + "/")
    assert result.status == "unhealthy"
    assert result.reason.startswith(reason), result.reason


def test_a_3xx_without_location_is_the_final_answer(servers):
    _, base = serve(servers, {"/": (304, [], b"")})
    assert run_check(base + "/", expect_status=[304]).status == "healthy"


def test_an_informational_answer_is_skipped_and_a_chunked_body_is_read(servers):
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await hs.read_head(reader)
        writer.write(b"HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
        for chunk in (b"all ", b"systems ", b"go"):
            writer.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            await writer.drain()
        writer.write(b"0\r\n\r\n")
        await writer.drain()

    port = servers.serve(handle)
    result = run_check(f"http://127.0.0.1:{port}/", body_contains="systems go")
    assert result.status == "healthy", result.reason
    assert result.details["status_code"] == 200


def test_a_body_cut_short_is_an_invalid_response(servers):
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await hs.read_head(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly this")
        await writer.drain()
        writer.close()

    port = servers.serve(handle)
    result = run_check(f"http://127.0.0.1:{port}/", body_contains="only")
    assert result.status == "unhealthy"
    assert result.reason.startswith("invalid HTTP response: peer closed connection"), result


def test_a_url_becomes_its_wire_form_once():
    wire = target("https://ops:pw@Bücher.example:8443/a b?q=ü")
    assert wire.host == "xn--bcher-kva.example"
    assert wire.port == 8443
    assert wire.path == b"/a%20b?q=%C3%BC"
    assert wire.host_header == b"xn--bcher-kva.example:8443"
    assert wire.authorization == b"Basic " + base64.b64encode(b"ops:pw")
    assert target("http://[::1]/").host == "::1"
    assert target("http://[::1]/").host_header == b"[::1]"
    assert target("https://example.com").path == b"/"
    assert target("https://example.com:443/").host_header == b"example.com"


def test_a_reset_before_the_answer_is_a_server_that_hung_up(servers):
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await hs.read_head(reader)
        sock = writer.get_extra_info("socket")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        writer.transport.abort()  # linger 0: the kernel answers with a reset

    port = servers.serve(handle)
    result = run_check(f"http://127.0.0.1:{port}/")
    assert (result.status, result.reason) == (
        "unhealthy",
        "invalid HTTP response: Server disconnected without sending a response "
        "(Connection reset by peer).",
    )


@pytest.mark.parametrize(
    ("path", "keys", "reason"),
    [
        ("/loop", {}, "too many redirects (more than max_redirects 10)"),
        ("/slow", {"timeout": "0.3s"}, "timed out after 0.3s waiting for the response"),
        ("/bad", {}, "invalid HTTP response: illegal status line"),
    ],
)
def test_a_failed_exchange_closes_its_connection_at_once(servers, path, keys, reason):
    """The server sees the connection end while the check's event loop is still running:
    a failing check does not keep a file descriptor until the garbage collector runs."""
    closed = threading.Event()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                _, target_path, _ = await hs.read_head(reader)
                if target_path == "/slow":
                    await reader.read()  # until the client hangs up
                    break
                if target_path == "/bad":
                    writer.write(b"HTTP/9 nonsense\r\n\r\n")
                else:
                    redirect = [("Location", "/loop"), ("Content-Length", "0")]
                    writer.write(hs.head_bytes(302, redirect))
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            closed.set()

    port = servers.serve(handle)
    check = {"name": "c", "type": "http", "url": f"http://127.0.0.1:{port}{path}", **keys}
    config = parse_config({"groups": {"g": {"checks": [check]}}}).group("g").checks[0]

    async def run_and_watch():
        result = await build_check(config, CheckResources()).run()
        ended = await asyncio.get_running_loop().run_in_executor(None, closed.wait, 5)
        return result, ended

    result, ended = asyncio.run(run_and_watch())
    assert result.status == "unhealthy"
    assert result.reason.startswith(reason), result.reason
    assert ended, "the server still had the connection after the check returned"


def test_a_timed_out_tls_exchange_gives_its_socket_back_at_once(servers):
    """A TLS peer that never answers: the check times out and its connection ends at once,
    not after asyncio's 30 s wait for a close_notify that never comes (with hundreds of
    checks in flight such sockets would use up Lambda's 1,024 files)."""
    context = server_tls_context(servers.ca)
    listener = socket.create_server(("127.0.0.1", 0))
    hung_up, done = threading.Event(), threading.Event()

    def mute_peer() -> None:
        conn, _ = listener.accept()
        with context.wrap_socket(conn, server_side=True) as tls:
            tls.recv(65536)  # the request; then no answer, not even to a close_notify
            with socket.socket(fileno=os.dup(tls.fileno())) as raw:
                raw.settimeout(5)
                try:
                    while raw.recv(4096):  # TLS records (a close_notify) until the end
                        pass
                    hung_up.set()
                except ConnectionResetError:
                    hung_up.set()
                except TimeoutError:
                    pass
            done.wait(10)

    threading.Thread(target=mute_peer, daemon=True).start()
    url = f"https://127.0.0.1:{listener.getsockname()[1]}/"
    check = {"name": "c", "type": "http", "url": url, "timeout": "0.3s"}
    check["ca_bundle"] = str(servers.ca_path)
    config = parse_config({"groups": {"g": {"checks": [check]}}}).group("g").checks[0]

    async def run_and_watch():
        result = await build_check(config, CheckResources()).run()
        ended = await asyncio.get_running_loop().run_in_executor(None, hung_up.wait, 4)
        return result, ended

    try:
        result, ended = asyncio.run(run_and_watch())
    finally:
        done.set()
        listener.close()
    assert result.reason == "timed out after 0.3s waiting for the response", result
    assert ended, "the connection was still open seconds after the check returned"


@pytest.fixture
def fresh_container():
    """The proxy warning is given once per container: forget it was given."""
    warn_if_proxies_set.cache_clear()
    yield
    warn_if_proxies_set.cache_clear()


def test_proxy_variables_are_ignored_with_one_warning(
    servers, monkeypatch, caplog, fresh_container
):
    """A check connects directly, whatever the environment says; it says so once per
    container, naming the variables and never their values (a proxy URL may hold a
    password)."""
    recorder, base = serve(servers, {"/": hs.body(b"ok")})
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "http_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", "http://ops:pr0xy-pw@127.0.0.1:9/")  # nothing listens
    monkeypatch.setenv("no_proxy", "example.com")
    monkeypatch.setenv("HTTPS_PROXY", "")  # empty: not set
    with caplog.at_level(logging.WARNING, logger="vigil"):
        assert run_check(base + "/").status == "healthy"
        assert run_check(base + "/").status == "healthy"
    assert [s.path for s in recorder.seen] == ["/", "/"]  # the target itself, not a proxy
    warnings = [r.getMessage() for r in caplog.records if r.name.startswith("vigil.checks")]
    assert warnings == [
        "HTTP checks connect directly, without a proxy: HTTP_PROXY, no_proxy ignored"
    ]
    assert "pr0xy-pw" not in caplog.text


def test_no_proxy_warning_without_proxy_variables(servers, monkeypatch, caplog, fresh_container):
    _, base = serve(servers, {"/": hs.body(b"ok")})
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    with caplog.at_level(logging.WARNING, logger="vigil"):
        assert run_check(base + "/").status == "healthy"
    assert not [r for r in caplog.records if r.name.startswith("vigil.checks")]
