"""TCP checks against a real listening socket."""

from __future__ import annotations

import asyncio
import socket

from vigil.checks import CheckResources, build_check
from vigil.config import parse_config


def run_tcp(port: int, timeout: str = "1s"):
    config = parse_config(
        {
            "groups": {
                "g": {
                    "checks": [
                        {
                            "name": "c",
                            "type": "tcp",
                            "host": "127.0.0.1",
                            "port": port,
                            "timeout": timeout,
                        }
                    ]
                }
            }
        }
    )
    resources = CheckResources()
    try:
        return asyncio.run(build_check(config.group("g").checks[0], resources).run())
    finally:
        resources.close()


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
