"""The keys of an HTTP check, each against real loopback servers (``tcp_servers.Servers``
with the handlers of ``http_servers``): decoded bodies and the body assertions,
``expect_status``, ``headers_match``, ``json``, redirects, TLS expiry, ``ca_bundle``,
client certificates, ``ip_version``, headers from secrets, the latency from DNS to the
response head, and the refusal of bad keys at their path."""

from __future__ import annotations

import asyncio
import json
import socket
import textwrap
import threading
import tracemalloc
from pathlib import Path

import pytest
import trustme

from tests.integration import http_servers as hs
from tests.integration.conftest import minute
from tests.integration.tcp_servers import Servers, server_tls_context
from tests.support.checks import run_once
from vigil.config import ConfigError, parse_config


def run_check(url: str, *, base_dir: Path | None = None, secrets=None, **keys):
    keys.setdefault("timeout", "3s")
    return run_once({"type": "http", "url": url, **keys}, base_dir=base_dir, secrets=secrets)


def serve_routes(servers: Servers, table, **kwargs) -> str:
    port = servers.serve(hs.routes(table, **kwargs))
    return f"http://127.0.0.1:{port}"


# --- decoded bodies ---------------------------------------------------------------------------

TEXT = b"<html><body>status: all systems operational</body></html>"


@pytest.mark.parametrize("encoding", [None, "gzip", "deflate", "raw-deflate"])
def test_body_assertions_see_the_decoded_body(servers, encoding):
    base = serve_routes(servers, {"/": hs.body(TEXT, encoding=encoding)})
    result = run_check(
        base + "/",
        body_contains="operational",
        body_not_contains="outage",
        body_matches=r"status: \w+ systems",
    )
    assert result.status == "healthy", result.reason
    assert result.details["body_truncated"] is False
    assert result.details["timings_ms"]["transfer"] >= 0


@pytest.mark.parametrize(
    ("keys", "reason"),
    [
        ({"body_contains": "degraded"}, "body does not contain 'degraded' (57 bytes read)"),
        ({"body_not_contains": "systems"}, "body contains 'systems' (57 bytes read)"),
        ({"body_matches": r"^status"}, "body does not match /^status/ (57 bytes read)"),
    ],
)
def test_body_assertions_fail_on_a_gzip_body(servers, keys, reason):
    base = serve_routes(servers, {"/": hs.body(TEXT, encoding="gzip")})
    result = run_check(base + "/", **keys)
    assert (result.status, result.reason) == ("unhealthy", reason)


@pytest.mark.parametrize(
    ("charset", "data"),
    [
        ("windows-1252", "prix: 5 € - café".encode("cp1252")),
        ("utf-16", "prix: 5 € - café".encode("utf-16")),
        ("GB18030", "café: 正常".encode("gb18030")),
        ("punycode", "prix: 5 € - café".encode()),  # not decoded as declared: read as UTF-8
        ("x-unknown", "prix: 5 € - café".encode()),
    ],
)
def test_the_text_is_decoded_in_its_charset_if_fast_else_as_utf8(servers, charset, data):
    route = hs.body(data, content_type=f"text/plain; charset={charset}")
    base = serve_routes(servers, {"/": route})
    result = run_check(base + "/", body_contains="café")
    assert (result.status, result.reason) == ("healthy", "HTTP 200")


def test_vigil_asks_for_gzip_and_deflate_only(servers):
    seen: list[dict[str, str]] = []
    base = serve_routes(servers, {"/": hs.body(b"ok")}, seen=seen)
    assert run_check(base + "/").status == "healthy"
    assert seen[0]["accept-encoding"] == "gzip, deflate"


def test_an_encoding_vigil_cannot_decode_fails_the_body_assertion(servers):
    route = (200, [("Content-Encoding", "br")], b"\x1b\x03\x00")
    base = serve_routes(servers, {"/": route})
    result = run_check(base + "/", body_contains="x")
    assert result.status == "unhealthy"
    assert result.reason.startswith("cannot decode Content-Encoding 'br'")


@pytest.mark.parametrize(
    ("keys", "status", "reason"),
    [
        ({"body_contains": "needle"}, "unhealthy",
         "body does not contain 'needle' (first 1048576 bytes read)"),
        ({}, "healthy", "HTTP 200"),  # read (and decoded) all the same, only counted
    ],
)  # fmt: skip
def test_a_gzip_bomb_is_read_only_up_to_max_body_bytes(servers, keys, status, reason):
    """4 GiB of zeros, gzip-compressed and streamed: one 64 KiB read of it decodes to some
    64 MiB if decoded without a bound; the check reads 1 MiB of the decoded body."""
    stats = hs.BombStats()
    port = servers.serve(hs.gzip_bomb(stats, decoded_gib=4))
    tracemalloc.start()
    try:
        result = run_check(f"http://127.0.0.1:{port}/", timeout="20s", **keys)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert (result.status, result.reason) == (status, reason)
    assert result.details["body_truncated"] is True
    assert peak < 16 * 1024 * 1024, f"{peak / 2**20:.1f} MiB allocated at the peak"
    assert stats.finished.wait(10)  # the client hung up long before 4 GiB


# --- the body is read, assertions or not --------------------------------------------------


def test_the_body_is_read_and_timed_without_assertions(servers):
    base = serve_routes(servers, {"/": hs.body(TEXT, encoding="gzip")})
    result = run_check(base + "/")
    assert (result.status, result.reason) == ("healthy", "HTTP 200")
    assert result.details["body_truncated"] is False
    timings = result.details["timings_ms"]
    assert set(timings) == {"dns", "connect", "tls", "ttfb", "transfer"}
    assert timings["transfer"] >= 0


def stall_after_head(sent: bytes = b"") -> hs.Handler:
    """A 200 announcing 1000 bytes, sending ``sent`` of them, then nothing more."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await hs.read_head(reader)
        writer.write(hs.head_bytes(200, [("Content-Length", "1000")]) + sent)
        await writer.drain()
        await reader.read()  # until the client hangs up

    return handle


@pytest.mark.parametrize("sent", [b"", b"<html>"])
def test_a_body_that_stalls_after_the_head_is_unhealthy(servers, sent):
    """No assertion reads the body, but a user would wait for it: it must arrive in time."""
    port = servers.serve(stall_after_head(sent))
    result = run_check(f"http://127.0.0.1:{port}/", timeout="0.5s")
    assert (result.status, result.reason) == ("unhealthy", "timed out after 0.5s reading the body")
    assert "ttfb" in result.details["timings_ms"]  # the head had arrived
    assert "transfer" not in result.details["timings_ms"]  # the body never finished


@pytest.mark.parametrize(
    ("method", "code", "keys"),
    [("HEAD", 200, {}), ("GET", 204, {}), ("GET", 304, {"expect_status": 304})],
)
def test_a_response_without_a_body_has_no_transfer(servers, method, code, keys):
    """The head announces 1000 bytes (the representation's length, as HEAD and 304 answers
    may), none follows and the connection stays open: waiting for them would time out."""
    length = [] if code == 204 else [("Content-Length", "1000")]

    async def head_only(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await hs.read_head(reader)
        writer.write(hs.head_bytes(code, length))
        await writer.drain()
        await reader.read()  # until the client hangs up

    port = servers.serve(head_only)
    result = run_check(f"http://127.0.0.1:{port}/", method=method, timeout="1s", **keys)
    assert (result.status, result.reason) == ("healthy", f"HTTP {code}")
    assert result.details["timings_ms"]["transfer"] == 0
    assert "body_truncated" not in result.details


def test_a_long_body_without_assertions_is_read_to_max_body_bytes_then_closed(servers):
    hung_up = threading.Event()

    async def endless(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await hs.read_head(reader)
        writer.write(hs.head_bytes(200, [("Content-Length", str(1 << 40))]))
        try:
            while True:
                writer.write(b"x" * 65536)
                await writer.drain()
        finally:
            hung_up.set()

    port = servers.serve(endless)
    result = run_check(f"http://127.0.0.1:{port}/", max_body_bytes=300_000)
    assert (result.status, result.reason) == ("healthy", "HTTP 200")
    assert result.details["body_truncated"] is True
    assert hung_up.wait(5), "the server was still sending after the check returned"


def test_an_encoding_vigil_cannot_decode_is_read_as_sent_without_assertions(servers):
    route = (200, [("Content-Encoding", "br")], b"\x1b\x03\x00")
    base = serve_routes(servers, {"/": route})
    result = run_check(base + "/")
    assert (result.status, result.reason) == ("healthy", "HTTP 200")
    assert result.details["body_truncated"] is False


def test_a_corrupt_gzip_body_is_unhealthy_without_assertions(servers):
    route = (200, [("Content-Encoding", "gzip")], b"this is not gzip")
    base = serve_routes(servers, {"/": route})
    result = run_check(base + "/")
    assert result.status == "unhealthy"
    assert result.reason.startswith("corrupt gzip body: "), result.reason
    assert "transfer" not in result.details["timings_ms"]


def test_a_long_body_is_judged_on_what_was_read_and_marked_truncated(servers):
    base = serve_routes(servers, {"/": hs.body(b"ok " + b"x" * 5000, encoding="gzip")})
    result = run_check(base + "/", body_contains="ok", max_body_bytes=100)
    assert result.status == "healthy", result.reason
    assert result.details["body_truncated"] is True


# --- status, headers, JSON, redirects --------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "expect", "status"),
    [
        (204, "2xx", "healthy"),
        (301, ["2xx", "301-302"], "healthy"),
        (302, ["2xx", "301-302"], "healthy"),
        (303, ["2xx", "301-302"], "unhealthy"),
        (503, 503, "healthy"),
        (503, "5xx", "healthy"),
        (500, ["200-299", 404], "unhealthy"),
    ],
)
def test_expect_status_codes_ranges_and_classes(servers, code, expect, status):
    base = serve_routes(servers, {"/": (code, [("Location", "/elsewhere")], b"")})
    result = run_check(base + "/", expect_status=expect, max_redirects=0)
    assert result.status == status, result.reason
    assert result.details["status_code"] == code


def test_expect_status_failure_names_what_was_expected(servers):
    base = serve_routes(servers, {"/": (500, [], b"")})
    result = run_check(base + "/", expect_status=["2xx", "300-302", 404])
    assert result.reason == "HTTP 500, expected 2xx, 300-302, 404"


def test_headers_match(servers):
    headers = [("Cache-Control", "no-store, max-age=0"), ("X-Version", "2.14.1")]
    base = serve_routes(servers, {"/": (200, headers, b"ok")})
    good = run_check(base + "/", headers_match={"cache-control": "no-store", "X-Version": r"^2\."})
    assert good.status == "healthy", good.reason
    bad = run_check(
        base + "/", headers_match={"X-Version": r"^3\.", "Strict-Transport-Security": "."}
    )
    assert bad.status == "unhealthy"
    assert bad.reason == (
        "header X-Version is '2.14.1', expected to match /^3\\./; "
        "header Strict-Transport-Security is missing, expected to match /./"
    )


DOCUMENT = {
    "status": "ok",
    "version": "5",
    "queue": {"depth": 12, "workers": [{"up": True}, {"up": False}]},
    "error": None,
}


@pytest.mark.parametrize(
    ("assertion", "failure"),
    [
        ({"path": "status", "equals": "ok"}, None),
        ({"path": "version", "equals": 5},
         'json `version` is "5" (a string), expected 5 (a number)'),
        ({"path": "version", "equals": "5"}, None),
        ({"path": "queue.depth", "less_than": 100}, None),
        ({"path": "queue.depth", "greater_than": 100},
         "json `queue.depth` is 12, expected greater than 100"),
        ({"path": "queue.workers[?up] | length(@)", "equals": 1}, None),
        ({"path": "queue.workers[0].up", "equals": True}, None),
        ({"path": "status", "matches": "^o"}, None),
        ({"path": "status", "not_equals": "ok"},
         'json `status` is "ok", expected anything but "ok"'),
        ({"path": "missing", "exists": False}, None),
        ({"path": "missing", "exists": True}, "json `missing` is missing, expected to exist"),
        ({"path": "error", "equals": None}, None),
        ({"path": "missing.deeper", "equals": 1}, "json `missing.deeper` is missing, expected 1"),
    ],
)  # fmt: skip
def test_json_assertions(servers, assertion, failure):
    base = serve_routes(servers, {"/": hs.json_body(DOCUMENT)})
    result = run_check(base + "/", json=[assertion])
    if failure is None:
        assert result.status == "healthy", result.reason
    else:
        assert (result.status, result.reason) == ("unhealthy", failure)


def test_json_assertions_on_a_body_that_is_not_json(servers):
    base = serve_routes(servers, {"/": hs.body(b"<html>", encoding="gzip")})
    result = run_check(base + "/", json=[{"path": "a", "exists": True}])
    assert result.status == "unhealthy"
    assert result.reason.startswith("body is not JSON: ")


def test_json_assertions_on_a_large_body(servers):
    """Over 16 KiB the body is parsed in Python, in a thread: the same verdicts."""
    document = {"status": "ok", "items": [{"id": i, "up": i % 7 != 0} for i in range(5000)]}
    base = serve_routes(servers, {"/": hs.json_body(document)})
    assertions = [
        {"path": "status", "equals": "ok"},
        {"path": "items[?!up] | length(@)", "equals": 0},
        {"path": "length(items)", "equals": 5000},
    ]
    result = run_check(base + "/", json=assertions)
    assert (result.status, result.reason) == (
        "unhealthy",
        "json `items[?!up] | length(@)` is 715, expected 0",
    )
    assert result.details["body_truncated"] is False


@pytest.mark.parametrize("depth", [10_000, 100_000])  # parsed on the loop, in a thread
def test_json_nested_too_deeply_is_not_json(servers, depth):
    base = serve_routes(servers, {"/": hs.body(b"[" * depth, content_type="application/json")})
    result = run_check(base + "/", json=[{"path": "a", "exists": True}])
    assert (result.status, result.reason) == ("unhealthy", "body is not JSON: nested too deeply")


def test_json_body_cut_by_max_body_bytes_says_so(servers):
    base = serve_routes(servers, {"/": hs.json_body({"items": list(range(1000))})})
    result = run_check(base + "/", json=[{"path": "items", "exists": True}], max_body_bytes=50)
    assert result.status == "unhealthy"
    assert result.reason.startswith("body is not JSON (cut at max_body_bytes 50)")
    assert result.details["body_truncated"] is True


REDIRECTS = {
    "/r3": hs.redirect("/r2"),
    "/r2": hs.redirect("/r1", 301),
    "/r1": hs.redirect("/ok", 307),
    "/ok": hs.body(b"landed"),
    "/loop": hs.redirect("/loop"),
}


def test_redirects_are_followed_and_counted(servers):
    base = serve_routes(servers, REDIRECTS)
    result = run_check(base + "/r3", body_contains="landed")
    assert result.status == "healthy", result.reason
    assert result.details["redirects"] == 3
    assert result.reason == "HTTP 200 after 3 redirects"


def test_max_redirects_bounds_the_chain(servers):
    base = serve_routes(servers, REDIRECTS)
    assert run_check(base + "/r3", max_redirects=3).status == "healthy"
    result = run_check(base + "/r3", max_redirects=2)
    assert (result.status, result.reason) == (
        "unhealthy",
        "too many redirects (more than max_redirects 2)",
    )
    loop = run_check(base + "/loop")
    assert loop.reason == "too many redirects (more than max_redirects 10)"


@pytest.mark.parametrize("keys", [{"max_redirects": 0}, {"follow_redirects": False}])
def test_redirects_not_followed(servers, keys):
    base = serve_routes(servers, REDIRECTS)
    result = run_check(base + "/r3", **keys)
    assert (result.status, result.reason) == ("unhealthy", "HTTP 302, expected 2xx")
    assert result.details["redirects"] == 0


# --- timeout, latency and its phases ----------------------------------------------------------


@pytest.mark.parametrize("keys", [{"body_contains": "y"}, {}])
def test_a_trickling_body_is_cut_by_the_timeout(servers, keys):
    port = servers.serve(hs.trickle(total=1000, every=0.1))
    result = run_check(f"http://127.0.0.1:{port}/", timeout="1s", **keys)
    # the body would take 100 s: the deadline, not the body's end, stopped the check
    assert (result.status, result.reason) == ("unhealthy", "timed out after 1s reading the body")
    assert "ttfb" in result.details["timings_ms"]  # the head had arrived
    assert "transfer" not in result.details["timings_ms"]  # the body never finished


def test_a_slow_tls_handshake_is_in_the_latency(servers):
    server = hs.SlowHandshakeServer(server_tls_context(servers.ca), delay=1.5)
    try:
        result = run_check(f"https://127.0.0.1:{server.port}/", ca_bundle=str(servers.ca_path))
    finally:
        server.close()
    assert result.status == "healthy", result.reason
    timings = result.details["timings_ms"]
    # the server starts its 1.5 s after accepting, which is after the client's connect began
    assert result.latency_ms >= 1500
    # the TLS phase starts when the client sees the connection open, about when the server
    # accepts it: most of the 1.5 s falls in it, whatever the scheduling of either side
    assert timings["tls"] > 1000
    assert set(timings) == {"dns", "connect", "tls", "ttfb", "transfer"}
    head = ("dns", "connect", "tls", "ttfb")  # the latency ends at the head; transfer follows
    assert result.latency_ms >= sum(timings[phase] for phase in head) - 1


def _listen_overflows() -> int:
    lines = Path("/proc/net/netstat").read_text().splitlines()
    names, values = lines[0].split(), lines[1].split()
    return int(values[names.index("ListenOverflows")])


def test_a_slow_accept_is_in_the_latency():
    """A listener whose accept queue is full drops the SYN; the client's first retransmission
    comes 1 s later (TCP's initial retransmission timeout), so connecting takes over 1 s."""
    if not Path("/proc/net/netstat").exists():
        pytest.skip("needs Linux's /proc/net/netstat to see the dropped SYN")
    listener = socket.create_server(("127.0.0.1", 0), backlog=0)
    port = listener.getsockname()[1]
    filler = socket.create_connection(("127.0.0.1", port))  # fills the accept queue
    overflows = _listen_overflows()
    stop = threading.Event()

    def serve() -> None:
        # free the queue only once the check's SYN was dropped, then answer it
        while _listen_overflows() == overflows and not stop.wait(0.01):
            pass
        listener.accept()[0].close()  # the filler
        conn, _ = listener.accept()
        with conn:
            data = b""
            while b"\r\n\r\n" not in data:
                data += conn.recv(4096)
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        result = run_check(f"http://127.0.0.1:{port}/", timeout="5s")
    finally:
        stop.set()
        thread.join(5)
        filler.close()
        listener.close()
    assert result.status == "healthy", result.reason
    assert result.latency_ms >= 1000
    assert result.details["timings_ms"]["connect"] >= 1000


# --- TLS: expiry, private CA, client certificates ----------------------------------------------


@pytest.mark.parametrize(
    ("days", "status", "reason"),
    [
        (90, "healthy", "HTTP 200"),
        (10, "degraded", "TLS certificate expires in 10.0 days"),
        (2, "unhealthy", "TLS certificate expires in 2.0 days"),
        (-1, "unhealthy", "TLS certificate verification failed: certificate has expired"),
    ],
)
def test_tls_expiry(servers, days, status, reason):
    context = server_tls_context(servers.ca, days=days)
    port = servers.serve(hs.tls(context, hs.routes({"/": hs.body(b"ok")})))
    result = run_check(
        f"https://127.0.0.1:{port}/", ca_bundle="private-ca.pem", base_dir=servers.workdir
    )
    assert (result.status, result.reason[: len(reason)]) == (status, reason)
    if days > 0:
        assert result.details["tls_days_left"] == pytest.approx(days, abs=0.1)
        assert result.details["tls_expires_at"].endswith("Z")


def test_tls_expiry_limits_are_configurable(servers):
    context = server_tls_context(servers.ca, days=10)
    port = servers.serve(hs.tls(context, hs.routes({"/": hs.body(b"ok")})))
    url = f"https://127.0.0.1:{port}/"
    ca = str(servers.ca_path)
    quiet = run_check(url, ca_bundle=ca, tls_expiry_warning="7d", tls_expiry_critical="1d")
    assert quiet.status == "healthy", quiet.reason
    loud = run_check(url, ca_bundle=ca, tls_expiry_warning="30d", tls_expiry_critical="20d")
    assert loud.status == "unhealthy"
    assert "within tls_expiry_critical 20d" in loud.reason


def test_a_private_ca_is_not_trusted_without_ca_bundle(servers):
    context = server_tls_context(servers.ca)
    port = servers.serve(hs.tls(context, hs.routes({"/": hs.body(b"ok")})))
    result = run_check(f"https://127.0.0.1:{port}/")
    assert result.status == "unhealthy"
    assert result.reason.startswith("TLS certificate verification failed")


def test_verify_tls_false_skips_verification_and_expiry(servers):
    context = server_tls_context(servers.ca, days=2)
    port = servers.serve(hs.tls(context, hs.routes({"/": hs.body(b"ok")})))
    result = run_check(f"https://127.0.0.1:{port}/", verify_tls=False)
    assert result.status == "healthy", result.reason
    assert "tls_days_left" not in result.details


@pytest.fixture
def client_ca() -> trustme.CA:
    return trustme.CA()


def client_secret(ca: trustme.CA) -> tuple[str, str]:
    """The Secrets Manager JSON for a client certificate issued by ``ca``, and its key."""
    leaf = ca.issue_cert("monitor@vigil.test")
    key = leaf.private_key_pem.bytes().decode()
    cert = "".join(blob.bytes().decode() for blob in leaf.cert_chain_pems)
    return json.dumps({"cert": cert, "key": key}), key


def test_mutual_tls_with_the_client_certificate_from_a_secret(servers, client_ca):
    context = server_tls_context(servers.ca, client_ca=client_ca)
    seen: list[dict[str, str]] = []
    port = servers.serve(hs.tls(context, hs.routes({"/": hs.body(b"ok")}, seen=seen)))
    secret, _ = client_secret(client_ca)
    url = f"https://127.0.0.1:{port}/"
    ca = str(servers.ca_path)
    with_cert = run_check(url, ca_bundle=ca, client_cert_secret="mtls", secrets={"mtls": secret})
    assert with_cert.status == "healthy", with_cert.reason
    assert len(seen) == 1
    without = run_check(url, ca_bundle=ca)
    # TLS 1.3: the server checks the client's certificate after the handshake, then hangs
    # up (an end, a reset or its alert first: whichever the race on the wire delivers)
    assert without.status == "unhealthy"
    assert without.reason.startswith("invalid HTTP response: Server disconnected"), without
    assert len(seen) == 1  # the request never reached the application


@pytest.mark.parametrize(
    ("secret", "message"),
    [
        ("not json", "expected JSON with 'cert' and 'key'"),
        (json.dumps({"cert": "x"}), "expected JSON with 'cert' and 'key'"),
        (
            json.dumps({"cert": "-----BEGIN CERTIFICATE-----\nAAAA\n", "key": "junk"}),
            "not a usable certificate and key",
        ),
    ],
)
def test_an_unusable_client_certificate_is_an_error(servers, secret, message):
    result = run_check("https://127.0.0.1:9/", client_cert_secret="mtls", secrets={"mtls": secret})
    assert result.status == "error"
    assert message in result.reason
    assert "junk" not in result.reason


# --- address families ---------------------------------------------------------------------------


def _has_ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as probe:
            probe.bind(("::1", 0))
    except OSError:
        return False
    return True


@pytest.mark.skipif(not _has_ipv6_loopback(), reason="this machine has no IPv6 loopback (::1)")
def test_an_ipv6_target(servers):
    port = servers.serve(hs.routes({"/": hs.body(b"ok")}), host="::1")
    result = run_check(f"http://[::1]:{port}/", ip_version=6)
    assert result.status == "healthy", result.reason
    assert result.details["target"] == f"http://[::1]:{port}/"
    wrong = run_check(f"http://[::1]:{port}/", ip_version=4)
    assert (wrong.status, wrong.reason) == (
        "unhealthy",
        "::1 is an IPv6 address but ip_version is 4",
    )


def test_ip_version_uses_that_family_only(servers):
    port = servers.serve(hs.routes({"/": hs.body(b"ok")}))  # 127.0.0.1 only
    url = f"http://localhost:{port}/"
    assert run_check(url, ip_version=4).status == "healthy"
    assert run_check(url).status == "healthy"
    # No fallback to IPv4: either localhost has no IPv6 address here, or ::1 refuses.
    only6 = run_check(url, ip_version=6)
    assert only6.status == "unhealthy"
    assert only6.reason.startswith("DNS lookup failed") or only6.reason == "connection refused"


# --- headers from secrets ------------------------------------------------------------------------


def test_header_values_from_secrets_are_sent_and_masked(servers):
    seen: list[dict[str, str]] = []
    token = "s3cr3t-token-value"
    route = (200, [("X-Echo", f"Bearer {token}")], f"hello {token}".encode())
    base = serve_routes(servers, {"/": route}, seen=seen)
    secrets = {"api/token": json.dumps({"token": token}), "api/raw": "raw-value-42"}
    result = run_check(
        base + "/",
        headers={
            "Authorization": {"secret": "api/token", "key": "token"},
            "X-Custom": {"secret": "api/raw"},
            "Accept": "text/plain",
        },
        headers_match={"X-Echo": "^Basic"},
        body_contains="goodbye",
        secrets=secrets,
    )
    assert seen[0]["authorization"] == token
    assert seen[0]["x-custom"] == "raw-value-42"
    assert seen[0]["accept"] == "text/plain"
    assert result.status == "unhealthy"
    assert token not in json.dumps(result.summary())
    assert "***" in result.reason


@pytest.mark.parametrize(
    ("secret", "message"),
    [
        ("plain", "secret 'api/token' is not JSON, so it has no key 'token'"),
        (json.dumps({"other": 1}), "secret 'api/token' has no key 'token' (its keys: other)"),
        (json.dumps({"token": ["x"]}), "key 'token' of secret 'api/token' is not text"),
    ],
)
def test_a_header_secret_without_the_key_is_an_error(servers, secret, message):
    base = serve_routes(servers, {"/": hs.body(b"ok")})
    result = run_check(
        base + "/",
        headers={"Authorization": {"secret": "api/token", "key": "token"}},
        secrets={"api/token": secret},
    )
    assert (result.status, result.reason) == ("error", f"headers.Authorization: {message}")


# --- configuration errors -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("keys", "path", "message"),
    [
        ({"expect_status": "7xx"}, ".expect_status", "expected a status code, a range"),
        ({"expect_status": "299-200"}, ".expect_status", "ends before it starts"),
        ({"expect_status": [200, "abc"]}, ".expect_status", "got 'abc'"),
        ({"expect_status": 99}, ".expect_status", "within 100-599"),
        ({"expect_status": []}, ".expect_status", "at least one"),
        ({"body_contains": ""}, ".body_contains", "at least 1 character"),
        ({"body_not_contains": ""}, ".body_not_contains", "at least 1 character"),
        ({"body_matches": "(["}, ".body_matches", "not a valid regular expression"),
        ({"json": [{"path": "a[", "equals": 1}]}, ".json[0].path", "not a valid JMESPath"),
        ({"json": [{"path": "a"}]}, ".json[0]", "expected exactly one of"),
        ({"json": [{"path": "a", "equals": 1, "exists": True}]}, ".json[0]", "exactly one"),
        ({"json": [{"path": "a", "eqals": 1}]}, ".json[0].eqals", "did you mean `equals`?"),
        ({"json": [{"path": "a", "less_than": "5"}]}, ".json[0].less_than", "expected a number"),
        ({"json": [{"equals": 1}]}, ".json[0].path", "required key is missing"),
        ({"json": {"path": "a"}}, ".json", "tuple"),
        ({"headers_match": {"X-A": "(["}}, ".headers_match", "X-A: not a valid regular"),
        ({"headers_match": ["X-A"]}, ".headers_match", "dictionary"),
        ({"max_redirects": -1}, ".max_redirects", "greater than or equal to 0"),
        ({"max_redirects": "many"}, ".max_redirects", "integer"),
        ({"follow_redirects": False, "max_redirects": 3}, "", "contradicts max_redirects: 3"),
        ({"tls_expiry_warning": "soon"}, ".tls_expiry_warning", "duration"),
        ({"tls_expiry_critical": "20d"}, "", "must not be above tls_expiry_warning"),
        ({"ca_bundle": "absent.pem"}, ".ca_bundle", "no such file"),
        ({"verify_tls": False, "tls_expiry_warning": "7d"}, "", "need verify_tls: true"),
        ({"client_cert_secret": ""}, ".client_cert_secret", "at least 1 character"),
        ({"verify_tls": False, "client_cert_secret": "x"}, "", "need verify_tls: true"),
        ({"headers": {"A": {"secrt": "x"}}}, ".headers.A", "unknown key secrt"),
        ({"headers": {"A": {"key": "k"}}}, ".headers.A", "expected {secret: <name>}"),
        ({"headers": {"A": 5}}, ".headers.A", "expected text, {secret: <name>}"),
        (
            {"body": "x", "headers": {"Transfer-Encoding": "chunked"}},
            ".headers.Transfer-Encoding",
            "Vigil frames the request itself (Content-Length from `body`); remove this header",
        ),
        ({"headers": {"content-length": "5"}}, ".headers.content-length", "frames the request"),
        ({"headers": {"Upgrade": {"secret": "s"}}}, ".headers.Upgrade", "speaks HTTP/1.1"),
        ({"ip_version": 5}, ".ip_version", "expected 4, 6 or any"),
        ({"ip_version": "ipv6"}, ".ip_version", "expected 4, 6 or any"),
        ({"max_body_bytes": 0}, ".max_body_bytes", "greater than 0"),
        ({"method": "HEAD", "json": [{"path": "a", "exists": True}]}, "", "not with method HEAD"),
        ({"max_redirect": 3}, ".max_redirect", "did you mean `max_redirects`?"),
        ({"jsn": []}, ".jsn", "did you mean `json`?"),
    ],
)
def test_bad_http_keys_are_refused_with_their_path(keys, path, message):
    check = {"name": "c", "type": "http", "url": "https://h/", **keys}
    with pytest.raises(ConfigError) as caught:
        parse_config({"groups": {"g": {"checks": [check]}}})
    problems = dict(caught.value.problems)
    assert message in problems.get(f"groups.g.checks[0]{path}", ""), problems


def test_good_http_keys_load():
    check = {
        "name": "c",
        "type": "http",
        "url": "https://h/",
        "expect_status": ["2xx", "301-302", 404],
        "json": [{"path": "a.b", "equals": 1}],
        "ip_version": "6",
        "headers": {"A": "b", "C": {"secret": "s"}, "D": {"secret": "s", "key": "k"}},
        "follow_redirects": False,
    }
    (loaded,) = parse_config({"groups": {"g": {"checks": [check]}}}).group("g").checks
    assert [(s.low, s.high) for s in loaded.expect_status] == [(200, 299), (301, 302), (404, 404)]
    assert loaded.ip_version == 6
    assert loaded.redirect_limit == 0
    assert loaded.json_assertions[0].path == "a.b"


# --- through the handler -------------------------------------------------------------------


def test_http_keys_through_the_handler(
    aws, invoke, servers, client_ca, monkeypatch, capsys, caplog
):
    """Mutual TLS with the certificate and a header token in moto's Secrets Manager, a gzip
    JSON body, a private CA file beside the config, an expiring certificate."""
    import boto3

    token = "handler-token-0123456789"
    secret, key = client_secret(client_ca)
    client = boto3.client("secretsmanager", region_name="us-east-1")
    client.create_secret(Name="vigil/mtls", SecretString=secret)
    client.create_secret(Name="vigil/api", SecretString=json.dumps({"token": token}))
    seen: list[dict[str, str]] = []
    document = json.dumps({"status": "ok", "queue": {"depth": 3}}).encode()
    table = {"/health": hs.body(document, encoding="gzip", content_type="application/json")}
    mtls_context = server_tls_context(servers.ca, client_ca=client_ca)
    mtls = servers.serve(hs.tls(mtls_context, hs.routes(table, seen=seen)))
    soon = servers.serve(hs.tls(server_tls_context(servers.ca, days=10), hs.routes(table)))
    config = servers.workdir / "checks.yaml"
    config.write_text(
        textwrap.dedent(
            f"""
            defaults:
              timeout: 3s
            groups:
              web:
                checks:
                  - name: internal
                    type: http
                    url: https://127.0.0.1:{mtls}/health
                    ca_bundle: private-ca.pem
                    client_cert_secret: vigil/mtls
                    headers:
                      Authorization: {{secret: vigil/api, key: token}}
                    expect_status: 2xx
                    json:
                      - {{path: status, equals: ok}}
                      - {{path: queue.depth, less_than: 10}}
                  - name: expiring
                    type: http
                    url: https://127.0.0.1:{soon}/health
                    ca_bundle: private-ca.pem
                    body_contains: '"ok"'
            """
        )
    )
    monkeypatch.setenv("HEALTHCHECK_CONFIG", str(config))
    results = {r["check"]: r for r in invoke("web", minute(0))["results"]}
    internal, expiring = results["internal"], results["expiring"]
    assert internal["status"] == "healthy", internal
    assert seen[0]["authorization"] == token
    assert set(internal["details"]["timings_ms"]) == {"dns", "connect", "tls", "ttfb", "transfer"}
    assert internal["details"]["tls_days_left"] > 14
    assert expiring["status"] == "degraded", expiring
    assert expiring["details"]["tls_days_left"] == pytest.approx(10, abs=0.1)
    everything = json.dumps(results) + capsys.readouterr().out + caplog.text
    key_body = "".join(line for line in key.splitlines() if not line.startswith("-----"))
    assert token not in everything
    assert key_body[:40] not in everything
