"""DNS checks against a real DNS server on loopback (UDP, TCP fallback, IPv6)."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from tests.integration.conftest import minute
from tests.integration.dns_server import DnsServer
from tests.support.checks import run_once
from vigil.config import ConfigError, parse_config


@pytest.fixture
def dns_server() -> Iterator[DnsServer]:
    server = DnsServer()
    yield server
    server.close()


def run_dns(server: DnsServer | None, query: str, timeout: str = "2s", **keys):
    check = {"type": "dns", "query": query, "timeout": timeout, **keys}
    if server is not None:
        check.setdefault("resolver", server.address)
    return run_once(check)


@pytest.mark.parametrize(
    ("query", "keys", "reason"),
    [
        ("www.vigil.test", {}, "www.vigil.test A: 192.0.2.10, 192.0.2.11"),
        ("www.vigil.test", {"expect": ["192.0.2.11", "192.0.2.10"]}, None),
        ("WWW.Vigil.Test.", {"expect": "192.0.2.10"}, None),
        ("alias.vigil.test", {"expect": "192.0.2.10"}, None),  # CNAME followed
        ("www.vigil.test", {"record_type": "AAAA", "expect": "2001:db8:0:0::10"}, None),
        ("alias.vigil.test", {"record_type": "cname", "expect": "WWW.vigil.test."}, None),
        (
            "vigil.test",
            {"record_type": "MX", "expect": "10 mail.vigil.test", "expect_matches": "^20 backup"},
            "vigil.test MX: 10 mail.vigil.test, 20 backup.vigil.test",
        ),
        ("vigil.test", {"record_type": "TXT", "expect": "hello world"}, None),
        ("vigil.test", {"record_type": "TXT", "expect_matches": "^v=spf1 "}, None),
        ("vigil.test", {"record_type": "NS", "expect": "ns1.vigil.test"}, None),
        (
            "vigil.test",
            {
                "record_type": "SOA",
                "expect": "ns1.vigil.test. hostmaster.vigil.test. 2026112801 7200 3600 1209600 300",
            },
            None,
        ),
        ("nope.vigil.test", {"expect_rcode": "NXDOMAIN"}, "nope.vigil.test A: NXDOMAIN"),
    ],
)
def test_healthy_answers(dns_server, query, keys, reason):
    result = run_dns(dns_server, query, **keys)
    assert result.status == "healthy", result.reason
    if reason is not None:
        assert result.reason == reason
    assert result.details["resolver"] == dns_server.address
    assert result.latency_ms > 0


@pytest.mark.parametrize(
    ("query", "keys", "reason"),
    [
        (
            "www.vigil.test",
            {"expect": ["192.0.2.10", "192.0.2.99"]},
            "www.vigil.test A: missing 192.0.2.99 (got 192.0.2.10, 192.0.2.11)",
        ),
        ("nope.vigil.test", {}, "nope.vigil.test A: NXDOMAIN, expected NOERROR"),
        ("servfail.vigil.test", {}, "servfail.vigil.test A: SERVFAIL, expected NOERROR"),
        ("refused.vigil.test", {}, "refused.vigil.test A: REFUSED, expected NOERROR"),
        (
            "www.vigil.test",
            {"expect_rcode": "NXDOMAIN"},
            "www.vigil.test A: NOERROR, expected NXDOMAIN",
        ),
        (
            "www.vigil.test",
            {"record_type": "MX"},
            "www.vigil.test MX: no MX records (NOERROR, empty)",
        ),
        (
            "vigil.test",
            {"record_type": "TXT", "expect_matches": "^google-site"},
            "vigil.test TXT: no answer matches /^google-site/ (got hello world, v=spf1 -all)",
        ),
    ],
)
def test_unhealthy_answers(dns_server, query, keys, reason):
    result = run_dns(dns_server, query, **keys)
    assert (result.status, result.reason) == ("unhealthy", reason)
    assert "rcode" in result.details


def test_an_unanswered_query_times_out(dns_server):
    result = run_dns(dns_server, "silent.vigil.test", timeout="300ms")
    assert result.status == "unhealthy"
    assert result.reason == f"no answer within 0.3s ({dns_server.address}: no answer)"


def test_a_truncated_udp_answer_is_retried_over_tcp(dns_server):
    result = run_dns(dns_server, "big.vigil.test", record_type="TXT", expect_matches="-9$")
    assert result.status == "healthy", result.reason
    assert len(result.details["answers"]) == 10
    assert dns_server.queries == {"udp": 1, "tcp": 1}


def test_answers_are_shown_as_short_printable_excerpts(dns_server):
    result = run_dns(dns_server, "weird.vigil.test", record_type="TXT", expect_matches="^x")
    assert result.status == "unhealthy"
    [answer] = result.details["answers"]
    assert answer.startswith("?[31mred?yyy") and answer.endswith("...") and len(answer) == 80
    assert result.reason.isprintable() and "\x1b" not in result.reason


def test_the_system_resolvers_are_the_default(dns_server, monkeypatch):
    from vigil.checks.dns import check

    monkeypatch.setattr(check, "system_nameservers", lambda: [("127.0.0.1", dns_server.port)])
    result = run_dns(None, "www.vigil.test", expect="192.0.2.10")
    assert result.status == "healthy" and result.details["resolver"] == dns_server.address
    assert result.details["target"] == "dns://system/www.vigil.test?type=A"


def test_system_nameservers_reads_resolv_conf():
    from vigil.checks.dns.check import system_nameservers

    servers = system_nameservers()
    assert isinstance(servers, list)
    assert all(isinstance(address, str) and port == 53 for address, port in servers)


def _ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as probe:
            probe.bind(("::1", 0))
        return True
    except OSError:
        return False


@pytest.mark.skipif(not _ipv6_loopback(), reason="no IPv6 loopback on this machine")
def test_a_resolver_on_ipv6_loopback():
    server = DnsServer("::1")
    try:
        result = run_dns(server, "www.vigil.test", record_type="AAAA", expect="2001:db8::10")
    finally:
        server.close()
    assert result.status == "healthy", result.reason
    assert result.details["resolver"] == f"[::1]:{server.port}"


@pytest.mark.parametrize(
    ("keys", "path", "message"),
    [
        ({"query": "bad name!"}, ".query", "not a domain name"),
        ({"record_type": "SRV"}, ".record_type", "Input should be"),
        ({"resolver": "dns.google"}, ".resolver", "expected an IP address"),
        ({"resolver": "1.1.1.1:99999"}, ".resolver", "out of range"),
        ({"expect": "not-an-ip"}, "", "expect: 'not-an-ip' does not appear to be an IPv4"),
        ({"record_type": "AAAA", "expect": "192.0.2.1"}, "", "is not an IPv6 address"),
        ({"record_type": "MX", "expect": "mail.example.com"}, "", "<preference> <host>"),
        ({"expect_matches": "(["}, ".expect_matches", "not a valid regular expression"),
        ({"expect_rcode": "OOPS"}, ".expect_rcode", "Input should be"),
        ({"querry": "x"}, ".querry", "did you mean `query`?"),
    ],
)
def test_bad_dns_keys_are_refused_with_their_path(keys, path, message):
    check = {"name": "c", "type": "dns", "query": "example.com", **keys}
    with pytest.raises(ConfigError) as caught:
        parse_config({"groups": {"g": {"checks": [check]}}})
    problems = dict(caught.value.problems)
    assert message in problems.get(f"groups.g.checks[0]{path}", ""), problems


def test_dns_checks_through_the_handler(aws, invoke, write_config, dns_server):
    write_config(
        f"""
        groups:
          names:
            checks:
              - {{name: www, type: dns, query: www.vigil.test, resolver: "{dns_server.address}",
                  expect: [192.0.2.10]}}
              - {{name: gone, type: dns, query: gone.vigil.test, resolver: "{dns_server.address}",
                  failure_threshold: 1}}
        """
    )
    results = {r["check"]: r for r in invoke("names", minute(0))["results"]}
    assert results["www"]["status"] == "healthy"
    assert results["www"]["details"]["answers"] == ["192.0.2.10", "192.0.2.11"]
    assert (results["gone"]["status"], results["gone"]["reason"]) == (
        "unhealthy",
        "gone.vigil.test A: NXDOMAIN, expected NOERROR",
    )
    [alert] = aws.drain_alerts()
    assert (alert.document["check"], alert.document["event"]) == ("gone", "failure")
