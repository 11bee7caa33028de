"""The HTTP check's exchange on h11 against httpcore's HTTP/1.1 connection (issue 18).

Both sides use Vigil's network layer (``network.open_connection``: resolve, connect,
timed on a ``PhaseClock``) and differ only above it:

* ``h11``: ``exchange.Exchange``, as a check runs it (h11 events on the stream);
* ``httpcore``: ``httpcore.AsyncHTTP11Connection`` driven directly on the same
  stream (an ``AsyncNetworkStream`` over Vigil's ``Connection``), its trace events
  stamping the request sent and the response head on the same clock.

Each exchange is ``GET /slow?ms=0`` against the benchmark's target
(``tests.bench.target``, its own process): connect, request, head, body, close.
Measured in this process, the two alternating round by round so that both see
the same machine: N exchanges one after another (the time of one exchange, and its
CPU) and N at once (the whole batch's time, and CPU per exchange). CPU is the
process's (``time.process_time``): the event loop's thread does all the work.

    .venv/bin/python -m tests.bench.httpcore_compare [--sequential 300] [--concurrent 300]

prints a table, then one JSON line (times in ms):
``h11_exchange_ms_p50``, ``httpcore_exchange_ms_p50`` (sequential), their
``..._cpu_ms`` per sequential exchange, ``..._concurrent_wall_ms`` and
``..._concurrent_cpu_ms`` per exchange, and ``httpcore_over_h11_cpu`` (the ratio of
CPU per exchange, concurrent); the same for ``httpcore_untraced``, httpcore without
the trace extension (no phases stamped: not usable by a check, shown to tell the
trace's cost from httpcore's own). Figures vary by about 10% on a shared VM.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import ssl
import statistics
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpcore

from tests.bench.target import TargetProcess
from vigil.checks.http.exchange import USER_AGENT, Exchange, target
from vigil.checks.http.network import Connection, PhaseClock, open_connection

ROUNDS = 5
HEADERS = {"Accept-Encoding": "gzip, deflate"}  # as a check sends


async def h11_exchange(url: str, context: ssl.SSLContext) -> int:
    """One check's exchange as Vigil makes it; the body's length."""
    clock = PhaseClock()
    read = 0

    def feed(chunk: bytes | bytearray) -> bool:
        nonlocal read
        read += len(chunk)
        return False

    async with Exchange("GET", url, HEADERS, None, context=context, clock=clock) as response:
        await response.read_body(feed)
    assert clock.head is not None and response.status_code == 200
    return read


class _Stream(httpcore.AsyncNetworkStream):
    """httpcore's view of Vigil's connection (plain TCP: no TLS in this comparison)."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return await self._connection.read()

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        await self._connection.write(buffer)

    async def aclose(self) -> None:
        self._connection.close()

    def get_extra_info(self, info: str) -> Any:
        return None


async def httpcore_exchange(url: str, context: ssl.SSLContext, *, traced: bool = True) -> int:
    """The same exchange with httpcore's HTTP/1.1 connection on Vigil's stream; untraced,
    the phases after the connect are not stamped (what httpcore costs without them)."""
    clock = PhaseClock()
    wire = target(url)

    async def trace(name: str, info: dict[str, Any]) -> None:
        if name == "http11.send_request_body.complete":
            clock.request_sent()
        elif name == "http11.receive_response_headers.complete":
            clock.head_arrived()

    connection = await open_connection(clock, wire.scheme, wire.host, wire.port)
    clock.sending()
    http = httpcore.AsyncHTTP11Connection(
        httpcore.Origin(wire.scheme.encode(), wire.host.encode(), wire.port), _Stream(connection)
    )
    headers = [
        (b"Host", wire.host_header),
        (b"Accept", b"*/*"),
        (b"User-Agent", USER_AGENT.encode()),
        *((name.encode(), value.encode()) for name, value in HEADERS.items()),
    ]
    request = httpcore.Request(
        b"GET",
        httpcore.URL(scheme=wire.scheme.encode(), host=wire.host.encode(), port=wire.port,
                     target=wire.path),
        headers=headers,
        extensions={"trace": trace} if traced else {},
    )  # fmt: skip
    read = 0
    try:
        response = await http.handle_async_request(request)
        try:
            async for chunk in response.stream:
                read += len(chunk)
        finally:
            await response.aclose()
    finally:
        await http.aclose()
    assert (clock.head is not None or not traced) and response.status == 200
    return read


async def httpcore_untraced_exchange(url: str, context: ssl.SSLContext) -> int:
    return await httpcore_exchange(url, context, traced=False)


Exchanger = Callable[[str, ssl.SSLContext], Awaitable[int]]
SIDES: dict[str, Exchanger] = {
    "h11": h11_exchange,
    "httpcore": httpcore_exchange,
    "httpcore_untraced": httpcore_untraced_exchange,
}


async def sequential(exchange: Exchanger, urls: list[str], context) -> tuple[list[float], float]:
    """Each exchange's ms, one after another, and the CPU seconds of them all."""
    took = []
    cpu = time.process_time()
    for url in urls:
        began = time.perf_counter()
        assert await exchange(url, context) == 2
        took.append((time.perf_counter() - began) * 1000)
    return took, time.process_time() - cpu


async def concurrent(exchange: Exchanger, urls: list[str], context) -> tuple[float, float]:
    """The ms for all the exchanges at once, and their CPU seconds."""
    cpu = time.process_time()
    began = time.perf_counter()
    read = await asyncio.gather(*(exchange(url, context) for url in urls))
    wall_ms = (time.perf_counter() - began) * 1000
    assert read == [2] * len(urls)
    return wall_ms, time.process_time() - cpu


def measure(base_url: str, n_sequential: int, n_concurrent: int) -> dict[str, float]:
    context = ssl.create_default_context()
    samples: dict[str, dict[str, list[float]]] = {
        side: {"one": [], "cpu": [], "wall": [], "cpu_at_once": []} for side in SIDES
    }

    async def run() -> None:
        for exchange in SIDES.values():  # warm: imports, caches, the target's accept
            await sequential(exchange, [f"{base_url}/slow?ms=0&id=warm"] * 20, context)
        for index in range(ROUNDS):
            order = list(SIDES)[index % len(SIDES) :] + list(SIDES)[: index % len(SIDES)]
            for side in order:
                exchange = SIDES[side]
                url = f"{base_url}/slow?ms=0&id={side}"
                gc.collect()
                took, cpu_s = await sequential(exchange, [url] * n_sequential, context)
                samples[side]["one"] += took
                samples[side]["cpu"].append(cpu_s * 1000 / n_sequential)
                gc.collect()
                wall_ms, cpu_s = await concurrent(exchange, [url] * n_concurrent, context)
                samples[side]["wall"].append(wall_ms)
                samples[side]["cpu_at_once"].append(cpu_s * 1000 / n_concurrent)

    asyncio.run(run())
    figures: dict[str, float] = {}
    for side, found in samples.items():
        figures[f"{side}_exchange_ms_p50"] = round(statistics.median(found["one"]), 3)
        figures[f"{side}_exchange_ms_p95"] = round(statistics.quantiles(found["one"], n=20)[18], 3)
        figures[f"{side}_exchange_cpu_ms"] = round(statistics.median(found["cpu"]), 3)
        figures[f"{side}_concurrent_wall_ms"] = round(statistics.median(found["wall"]), 1)
        figures[f"{side}_concurrent_cpu_ms"] = round(statistics.median(found["cpu_at_once"]), 3)
    for side in ("httpcore", "httpcore_untraced"):
        figures[f"{side}_over_h11_cpu"] = round(
            figures[f"{side}_concurrent_cpu_ms"] / figures["h11_concurrent_cpu_ms"], 2
        )
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sequential", type=int, default=300, help="exchanges one by one")
    parser.add_argument("--concurrent", type=int, default=300, help="exchanges at once")
    args = parser.parse_args()
    with TargetProcess() as target_process:
        figures = measure(target_process.base_url, args.sequential, args.concurrent)
    n_seq, n_con = args.sequential, args.concurrent
    print(f"{'':18} {'one exchange p50/p95 ms':>24} {'CPU ms':>7} "
          f"{f'{n_con} at once ms':>15} {'CPU ms each':>12}")  # fmt: skip
    for side in SIDES:
        print(
            f"{side:18} {figures[f'{side}_exchange_ms_p50']:>11.3f} /"
            f"{figures[f'{side}_exchange_ms_p95']:>10.3f} "
            f"{figures[f'{side}_exchange_cpu_ms']:>7.3f} "
            f"{figures[f'{side}_concurrent_wall_ms']:>15.1f} "
            f"{figures[f'{side}_concurrent_cpu_ms']:>12.3f}"
        )
    print(f"({ROUNDS} rounds of {n_seq} sequential and {n_con} concurrent)")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
