"""How an HTTP check reaches its target when a name has several addresses: the addresses
are raced (Happy Eyeballs, RFC 8305), so one that never answers costs the connection
attempt delay, not the check's timeout - against real loopback servers, with the name's
resolution faked in the event loop."""

from __future__ import annotations

import asyncio
import select
import socket
from collections.abc import Iterator

import pytest

from tests.integration import http_servers as hs
from tests.integration.tcp_servers import Servers
from tests.integration.test_http_check_keys import run_check
from vigil.checks.http.network import CONNECT_DELAY_S, interleaved

V4, V6 = socket.AF_INET, socket.AF_INET6
NAME = "twin.vigil.test"


class Unanswering:
    """A listener on ``host:port`` whose accept queue is full and never accepted: the kernel
    drops every further SYN, as a firewall that drops packets does (a blackholed AAAA)."""

    def __init__(self, host: str, port: int) -> None:
        family = V6 if ":" in host else V4
        self._listener = socket.socket(family, socket.SOCK_STREAM)
        self._listener.bind((host, port))
        self._listener.listen(0)  # one queued connection fills it
        self._filler = socket.socket(family, socket.SOCK_STREAM)
        self._filler.setblocking(False)
        self._filler.connect_ex((host, port))
        _, writable, _ = select.select([], [self._filler], [], 5)
        assert writable and not self._filler.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)

    def close(self) -> None:
        self._filler.close()
        self._listener.close()


@pytest.fixture
def names(monkeypatch) -> dict[str, list[tuple[int, str]]]:
    """Names the event loop resolves to the ``(family, address)`` pairs given here, in that
    order (others are resolved as usual)."""
    table: dict[str, list[tuple[int, str]]] = {}
    real = asyncio.base_events.BaseEventLoop.getaddrinfo

    async def getaddrinfo(self, host, port, *, family=0, type=0, proto=0, flags=0):
        if host not in table:
            return await real(self, host, port, family=family, type=type, proto=proto, flags=flags)
        return [
            (kind, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (address, port))
            for kind, address in table[host]
            if family in (socket.AF_UNSPEC, kind)
        ]

    monkeypatch.setattr(asyncio.base_events.BaseEventLoop, "getaddrinfo", getaddrinfo)
    return table


@pytest.fixture
def twin(servers: Servers) -> Iterator[tuple[int, Unanswering]]:
    """A server on 127.0.0.1:<port> answering 200 ``ok``, and [::1]:<port> never answering."""
    for _ in range(5):
        port = servers.serve(hs.routes({"/": hs.body(b"ok")}))
        try:
            unanswering = Unanswering("::1", port)
        except OSError:  # that port is taken on ::1: another one
            continue
        yield port, unanswering
        unanswering.close()
        return
    pytest.fail("no port free on both 127.0.0.1 and ::1")


def test_an_address_that_never_answers_costs_the_delay_not_the_timeout(names, twin):
    port, _ = twin
    names[NAME] = [(V6, "::1"), (V4, "127.0.0.1")]  # the AAAA first, as resolvers order
    result = run_check(f"http://{NAME}:{port}/", timeout="3s")
    assert (result.status, result.reason) == ("healthy", "HTTP 200"), result.reason
    connect_ms = result.details["timings_ms"]["connect"]
    # the second address was tried after the delay, not after the unanswered one gave up
    assert CONNECT_DELAY_S * 1000 <= connect_ms < 2000, result.details
    assert result.latency_ms >= connect_ms


def test_ip_version_6_waits_for_its_only_family(names, twin):
    """No fallback to IPv4 (``ip_version: 6``): the unanswered address takes the timeout."""
    port, _ = twin
    names[NAME] = [(V6, "::1"), (V4, "127.0.0.1")]
    result = run_check(f"http://{NAME}:{port}/", timeout="0.6s", ip_version=6)
    assert (result.status, result.reason) == ("unhealthy", "timed out after 0.6s connecting")


def test_an_address_that_refuses_lets_the_next_one_start_at_once(names, servers):
    port = servers.serve(hs.routes({"/": hs.body(b"ok")}))
    # 127.0.0.2 on the server's port: nothing listens there, the kernel refuses at once
    names[NAME] = [(V4, "127.0.0.2"), (V4, "127.0.0.1")]
    result = run_check(f"http://{NAME}:{port}/", timeout="3s")
    assert result.status == "healthy", result.reason
    assert result.details["timings_ms"]["connect"] < CONNECT_DELAY_S * 1000, result.details


def test_when_no_address_connects_each_says_why(names, refused, twin):
    port, _ = twin
    names[NAME] = [(V4, "127.0.0.2"), (V4, "127.0.0.3")]
    result = run_check(f"http://{NAME}:{refused}/")
    assert (result.status, result.reason) == ("unhealthy", "connection refused")
    names[NAME] = [(V6, "::1"), (V4, "127.0.0.2")]
    result = run_check(f"http://{NAME}:{port}/", timeout="0.6s")
    assert (result.status, result.reason) == ("unhealthy", "timed out after 0.6s connecting")


@pytest.mark.parametrize(
    ("resolved", "tried"),
    [
        ([(V6, "a"), (V6, "b"), (V4, "c"), (V4, "d")], ["a", "c", "b", "d"]),
        ([(V4, "c"), (V6, "a"), (V6, "b")], ["c", "a", "b"]),
        ([(V6, "a"), (V6, "b")], ["a", "b"]),
        ([(V4, "c")], ["c"]),
    ],
)
def test_the_families_alternate_from_the_resolvers_first(resolved, tried):
    assert [address for _, address in interleaved(resolved)] == tried
