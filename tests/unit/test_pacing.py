"""LoopPacer: admission in arrival order, within the limit, and the lag each window saw."""

from __future__ import annotations

import asyncio
import time

from hypothesis import given
from hypothesis import strategies as st

from vigil.pacing import LagSamples, LoopPacer


def run_with_pacer(pacer: LoopPacer, main):
    async def wrapper():
        driver = asyncio.ensure_future(pacer.run())
        try:
            return await main()
        finally:
            driver.cancel()

    return asyncio.run(wrapper())


def test_admits_everyone_in_order_and_never_more_than_the_limit():
    pacer = LoopPacer(limit=3)
    order: list[int] = []
    in_flight = {"now": 0, "most": 0}

    async def work(i: int) -> None:
        async with pacer:
            order.append(i)
            in_flight["now"] += 1
            in_flight["most"] = max(in_flight["most"], in_flight["now"])
            await asyncio.sleep(0.001)
            in_flight["now"] -= 1

    async def main():
        await asyncio.gather(*(work(i) for i in range(20)))

    run_with_pacer(pacer, main)
    assert order == list(range(20))
    assert in_flight["most"] <= 3 and pacer.peak_in_flight <= 3
    assert pacer.in_flight == 0


def test_a_cancelled_waiter_gives_its_place_up():
    pacer = LoopPacer(limit=1)

    async def hold(release: asyncio.Event) -> None:
        async with pacer:
            await release.wait()

    async def main():
        release = asyncio.Event()
        holder = asyncio.ensure_future(hold(release))
        await asyncio.sleep(0.01)
        waiter = asyncio.ensure_future(hold(asyncio.Event()))
        await asyncio.sleep(0.01)
        waiter.cancel()
        release.set()
        await holder
        await asyncio.gather(waiter, return_exceptions=True)
        after = asyncio.ensure_future(hold(release))
        await asyncio.wait_for(after, timeout=5)

    run_with_pacer(pacer, main)
    assert pacer.in_flight == 0


def test_a_blocked_loop_shows_in_the_lag_of_the_windows_around_it():
    pacer = LoopPacer(limit=10)
    windows: dict[str, tuple[float, float]] = {}

    async def waiting() -> None:
        async with pacer:
            start = time.perf_counter()
            await asyncio.sleep(0.2)
            windows["spanning"] = (start, time.perf_counter())

    blocked = asyncio.Event()

    async def blocking() -> None:
        async with pacer:
            await asyncio.sleep(0.05)
            time.sleep(0.1)  # a CPU-bound stretch: nothing else on the loop can run
        blocked.set()

    async def after() -> None:
        await blocked.wait()
        async with pacer:
            start = time.perf_counter()
            await asyncio.sleep(0.05)
            windows["after"] = (start, time.perf_counter())

    async def main():
        await asyncio.gather(waiting(), blocking(), after())

    run_with_pacer(pacer, main)
    # The loop could not run for the 0.1 s of time.sleep: whatever the machine's speed,
    # the lag sampled across it is at least that (less one 5 ms tick of sampling).
    assert pacer.lag_during(*windows["spanning"]) >= 0.095
    assert pacer.max_lag() >= 0.095
    # A window that started after the block saw none of it.
    assert pacer.lag_during(*windows["after"]) < pacer.lag_during(*windows["spanning"])


@given(
    steps=st.lists(st.tuples(st.floats(0, 0.01), st.floats(0, 0.05)), min_size=0, max_size=200),
    window=st.tuples(st.floats(0, 3), st.floats(0, 3)),
)
def test_the_worst_lag_of_a_window_is_what_a_scan_of_its_samples_finds(steps, window):
    samples, scanned = LagSamples(), []
    clock = 0.0
    for gap, lag in steps:  # each callback ready after the previous ran, late by its lag
        ready = clock + gap
        clock = ready + lag
        samples.add(ready, clock)
        scanned.append((ready, clock))
    start, end = min(window), max(window)
    expected = max(
        (ran - ready for ready, ran in scanned if ran >= start and ready <= end), default=0.0
    )
    assert samples.worst_during(start, end) == expected
    assert samples.worst() == max((ran - ready for ready, ran in scanned), default=0.0)
