"""A target's body cannot stall its neighbours: a group of healthy HTTP checks and one
whose body is hostile, run together through the runner's concurrent execution
(``run_checks``: the pacer, the hard timeouts) against real loopback servers."""

from __future__ import annotations

import asyncio
import time

import pytest

from tests.integration import http_servers as hs
from tests.integration.tcp_servers import Servers
from vigil.config import parse_config
from vigil.run.execution import run_checks

NEIGHBOURS = 5
SERVICE_S = 0.3  # the neighbours' service answers after this: in flight while the hostile
# check judges its body, which arrives at once


def slow_ok(delay: float) -> hs.Handler:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await hs.read_head(reader)
        await asyncio.sleep(delay)
        writer.write(hs.head_bytes(200, [("Content-Length", "2")]) + b"ok")
        await writer.drain()

    return handle


def run_group(servers: Servers, hostile: tuple[int, list[tuple[str, str]], bytes], **keys):
    """The results of the 5 neighbours and the hostile check, and the seconds it all took."""
    neighbour = servers.serve(slow_ok(SERVICE_S))
    target = servers.serve(hs.routes({"/": hostile}))
    checks = [
        {"name": f"n{i}", "type": "http", "url": f"http://127.0.0.1:{neighbour}/"}
        for i in range(NEIGHBOURS)
    ]
    checks.append({"name": "hostile", "type": "http", "url": f"http://127.0.0.1:{target}/", **keys})
    config = parse_config({"defaults": {"timeout": "1s"}, "groups": {"g": {"checks": checks}}})
    started = time.monotonic()
    results, _ = asyncio.run(run_checks(list(config.group("g").checks), started + 30))
    by_name = {result.check: result for result in results}
    return (
        [by_name[f"n{i}"] for i in range(NEIGHBOURS)],
        by_name["hostile"],
        time.monotonic() - started,
    )


# 200 KB that Python's punycode decoder takes seconds over (it is quadratic): decoded on the
# event loop, it stood every other check still for that long
PUNYCODE = b"x-" + b"ba" * 100_000


@pytest.mark.parametrize(
    ("hostile", "keys", "reason"),
    [
        (
            (200, [("Content-Type", "text/plain; charset=punycode")], PUNYCODE),
            {"body_contains": "x-baba"},
            "HTTP 200",  # read as UTF-8, where it is plain text
        ),
        (
            # `a.*x` backtracks over the rest of the line from every `a`: quadratic, seconds
            # over 100 KB (hours over 1 MiB)
            (200, [("Content-Type", "text/plain")], b"a" * 100_000),
            {"body_matches": "a.*x"},
            "timed out after 1s checking the response",
        ),
    ],
    ids=["punycode-charset", "backtracking-body-regex"],
)
def test_a_hostile_body_does_not_stall_its_neighbours(servers, hostile, keys, reason):
    neighbours, result, took = run_group(servers, hostile, **keys)
    assert [(n.status, n.reason) for n in neighbours] == [("healthy", "HTTP 200")] * NEIGHBOURS
    assert all(n.latency_ms >= SERVICE_S * 1000 for n in neighbours)
    assert (result.status, result.reason) == (
        "unhealthy" if "timed" in reason else "healthy",
        reason,
    )
    assert took < 1 + 1  # the hostile check's timeout and the runner's grace
