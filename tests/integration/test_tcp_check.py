"""TCP checks against real listening sockets: connect, send/expect dialogues, TLS."""

from __future__ import annotations

import socket
import textwrap

import pytest

from tests.integration.conftest import minute
from tests.integration.tcp_servers import banner, hang_up, junk, ping, silent
from tests.support.checks import run_once
from vigil.config import ConfigError, parse_config


def run_tcp(port: int, timeout: str = "1s", base_dir=None, host="127.0.0.1", **keys):
    check = {"type": "tcp", "host": host, "port": port, "timeout": timeout, **keys}
    return run_once(check, base_dir=base_dir)


def test_tcp_open_then_closed_then_open(tcp_target):
    assert run_tcp(tcp_target.port).status == "healthy"
    tcp_target.close()
    closed = run_tcp(tcp_target.port)
    assert (closed.status, closed.reason) == ("unhealthy", "connection refused")
    tcp_target.reopen()
    assert run_tcp(tcp_target.port).status == "healthy"


def test_tcp_connect_timeout_when_the_backlog_is_full():
    """A listener that never accepts, with its backlog full, drops new SYNs: a real timeout."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    fillers = []
    try:
        for _ in range(4):
            filler = socket.socket()
            filler.setblocking(False)
            filler.connect_ex(("127.0.0.1", port))
            fillers.append(filler)
        result = run_tcp(port, timeout="300ms")
    finally:
        for filler in fillers:
            filler.close()
        listener.close()
    assert (result.status, result.reason) == ("unhealthy", "no connection within 0.3s")


# --- send / expect ------------------------------------------------------------------------


def test_expect_a_banner(servers):
    result = run_tcp(servers.serve(banner), expect=r"^\+OK")
    assert (result.status, result.reason) == ("healthy", r"connected, received /^\+OK/")
    assert set(result.details["timings_ms"]) == {"connect", "response"}
    assert result.latency_ms >= result.details["timings_ms"]["connect"]


def test_send_then_expect_a_reply(servers):
    port = servers.serve(ping)
    result = run_tcp(port, send="PING\r\n", expect=r"\+PONG")
    assert (result.status, result.reason) == (
        "healthy",
        r"connected, sent 6 bytes, received /\+PONG/",
    )
    wrong = run_tcp(port, send="HELLO\r\n", expect=r"\+PONG")
    assert wrong.status == "unhealthy"
    assert wrong.reason == (
        r"expected /\+PONG/: the peer closed the connection (got 14 bytes: '-ERR unknown??')"
    )


def test_expect_from_a_silent_peer_times_out(servers):
    result = run_tcp(servers.serve(silent), timeout="300ms", expect="hello")
    assert (result.status, result.reason) == (
        "unhealthy",
        "expected /hello/: not received within 0.3s (got nothing)",
    )


def test_expect_from_a_peer_that_hangs_up(servers):
    result = run_tcp(servers.serve(hang_up), expect="hello")
    assert (result.status, result.reason) == (
        "unhealthy",
        "expected /hello/: the peer closed the connection (got nothing)",
    )


def test_a_junk_reply_is_quoted_as_a_short_printable_excerpt(servers):
    result = run_tcp(servers.serve(junk), expect="hello")
    assert result.status == "unhealthy"
    assert result.reason.startswith(
        "expected /hello/: the peer closed the connection (got 750 bytes: '??garbage?[31m?"
    )
    assert result.reason.isprintable() and result.reason.isascii() and len(result.reason) < 160


def test_send_alone_is_healthy_once_written(servers):
    result = run_tcp(servers.serve(silent), send="hello\n")
    assert (result.status, result.reason) == ("healthy", "connected, sent 6 bytes")


# --- TLS ----------------------------------------------------------------------------------


def tls(servers, days, **keys):
    port = servers.serve(banner, tls_days=days)
    keys.setdefault("ca_bundle", "private-ca.pem")  # relative: read from the config's folder
    return run_tcp(port, base_dir=servers.workdir, tls=True, **keys)


def test_tls_with_a_private_ca_and_a_distant_expiry_is_healthy(servers):
    result = tls(servers, 30, expect=r"^\+OK")
    assert (result.status, result.reason) == ("healthy", r"connected with TLS, received /^\+OK/")
    assert 29.9 <= result.details["tls_days_left"] <= 30
    assert result.details["tls_expires_at"].endswith("Z")
    assert set(result.details["timings_ms"]) == {"connect", "tls", "response"}


def test_tls_expiring_within_the_warning_is_degraded(servers):
    result = tls(servers, 10)
    assert result.status == "degraded"
    assert result.reason.startswith("TLS certificate expires in 10.0 days (")
    assert result.reason.endswith("), within tls_expiry_warning 14d")


def test_tls_expiring_within_the_critical_is_unhealthy(servers):
    result = tls(servers, 2)
    assert result.status == "unhealthy"
    assert result.reason.endswith("within tls_expiry_critical 3d")
    assert tls(servers, 2, tls_expiry_critical="1d").status == "degraded"
    assert tls(servers, 2, tls_expiry_critical="1d", tls_expiry_warning="1d").status == "healthy"


def test_an_expired_certificate_fails_verification(servers):
    result = tls(servers, -1)
    assert (result.status, result.reason) == (
        "unhealthy",
        "TLS certificate verification failed: certificate has expired",
    )


def test_without_the_private_ca_the_certificate_is_not_trusted(servers):
    port = servers.serve(banner, tls_days=30)
    result = run_tcp(port, tls=True)
    assert result.status == "unhealthy"
    assert result.reason == (
        "TLS certificate verification failed: unable to get local issuer certificate"
    )


def test_server_name_is_what_the_certificate_is_checked_against(servers):
    assert tls(servers, 30, server_name="vigil.test").status == "healthy"
    wrong = tls(servers, 30, server_name="other.test")
    assert wrong.status == "unhealthy"
    assert wrong.reason.startswith("TLS certificate verification failed: Hostname mismatch")


def test_send_and_expect_over_tls(servers):
    port = servers.serve(ping, tls_days=30)
    result = run_tcp(
        port, base_dir=servers.workdir, tls=True, ca_bundle="private-ca.pem", send="PING\r\n",
        expect=r"\+PONG",
    )  # fmt: skip
    assert (result.status, result.reason) == (
        "healthy",
        r"connected with TLS, sent 6 bytes, received /\+PONG/",
    )


def test_tls_to_a_plain_server_fails_the_handshake(servers):
    port = servers.serve(banner)
    result = run_tcp(port, tls=True)
    assert result.status == "unhealthy"
    assert result.reason.startswith(("TLS handshake failed", "connection lost during the TLS"))


def _ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as probe:
            probe.bind(("::1", 0))
        return True
    except OSError:
        return False


@pytest.mark.skipif(not _ipv6_loopback(), reason="no IPv6 loopback on this machine")
def test_an_ipv6_peer_with_tls(servers):
    port = servers.serve(ping, tls_days=30, host="::1")
    result = run_tcp(
        port, host="::1", base_dir=servers.workdir, tls=True, ca_bundle="private-ca.pem",
        send="PING\r\n", expect=r"\+PONG",
    )  # fmt: skip
    assert result.status == "healthy", result.reason
    assert result.details["target"] == f"tls://[::1]:{port}"


# --- configuration ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("keys", "path", "message"),
    [
        ({"server_name": "x"}, "", "server_name need tls: true"),
        ({"tls_expiry_warning": "20d"}, "", "tls_expiry_warning need tls: true"),
        ({"expect": "(["}, ".expect", "not a valid regular expression"),
        ({"send": ""}, ".send", "at least 1 character"),
        ({"tls": True, "ca_bundle": "absent.pem"}, ".ca_bundle", "no such file"),
        ({"tls": True, "tls_expiry_critical": "20d"}, "", "must not be above tls_expiry_warning"),
        ({"tls": True, "sever_name": "x"}, ".sever_name", "did you mean `server_name`?"),
    ],
)
def test_bad_tcp_keys_are_refused_with_their_path(keys, path, message):
    check = {"name": "c", "type": "tcp", "host": "h", "port": 1, **keys}
    with pytest.raises(ConfigError) as caught:
        parse_config({"groups": {"g": {"checks": [check]}}})
    problems = dict(caught.value.problems)
    assert message in problems[f"groups.g.checks[0]{path}"], problems


# --- through the handler ------------------------------------------------------------------


def test_tcp_checks_through_the_handler(aws, invoke, servers, monkeypatch):
    redis, smtps = servers.serve(ping), servers.serve(banner, tls_days=10)
    config = servers.workdir / "checks.yaml"
    config.write_text(
        textwrap.dedent(
            f"""
            groups:
              ports:
                checks:
                  - {{name: redis, type: tcp, host: 127.0.0.1, port: {redis},
                      send: "PING\\r\\n", expect: '\\+PONG'}}
                  - {{name: smtps, type: tcp, host: 127.0.0.1, port: {smtps}, tls: true,
                      ca_bundle: private-ca.pem, server_name: vigil.test, expect: '^\\+OK'}}
            """
        )
    )
    monkeypatch.setenv("HEALTHCHECK_CONFIG", str(config))
    results = {r["check"]: r for r in invoke("ports", minute(0))["results"]}
    assert results["redis"]["status"] == "healthy", results["redis"]
    assert results["smtps"]["status"] == "degraded", results["smtps"]
    assert results["smtps"]["details"]["tls_days_left"] == pytest.approx(10, abs=0.1)
    assert results["smtps"]["details"]["target"] == f"tls://127.0.0.1:{smtps}"
