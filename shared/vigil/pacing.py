"""Admitting checks to the event loop by its lag, and the lag each check saw.

A check's latency is measured on the event loop: its end is taken when the loop
gets round to the task awaiting the response, so while the loop is busy every
measurement is late by as long as it was busy (the lag). Starting every check at
once makes the loop busiest exactly when the responses come back: 500 checks of
a 200 ms service then read 270 ms (issue 4). ``LoopPacer`` admits one check per
loop iteration, only while the last iteration took less than ``lag_target`` and
fewer than ``limit`` checks are in flight. The loop then keeps up with the
responses, and the checks still start as fast as the CPU allows: no fixed
concurrency to tune, and a slower CPU (a Lambda function with less memory) slows
admission instead of falsifying latencies.

The pacer samples the lag all along - the length of each loop iteration while
admitting, the lateness of a short timer otherwise - so that each check can
report the largest lag seen while it ran (``lag_during``): a bound on how late
its latency was read.
"""

from __future__ import annotations

import asyncio
import time
from bisect import bisect_left, bisect_right
from collections import deque
from types import TracebackType

DEFAULT_LIMIT = 768  # checks in flight at most: file descriptors, memory (Lambda allows 1024 fds)
DEFAULT_LAG_TARGET = 0.005  # seconds: admit only while loop iterations are shorter than this
TICK = 0.005  # seconds between lag samples when nothing waits for admission


def _wake(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


class LoopPacer:
    """Admission control for coroutines on one event loop (``async with pacer:``).

    ``run`` must be running (as a task) for anything to be admitted; cancel it
    when done. Waiters are admitted in the order they arrived.
    """

    def __init__(
        self,
        limit: int = DEFAULT_LIMIT,
        lag_target: float = DEFAULT_LAG_TARGET,
        tick: float = TICK,
    ):
        self.limit = max(1, limit)
        self.lag_target = lag_target
        self.tick = tick
        self.in_flight = 0
        self.peak_in_flight = 0
        self._waiters: deque[asyncio.Future[None]] = deque()
        self._wake: asyncio.Future[None] | None = None
        self._poked_at: float | None = None
        self.samples = LagSamples()

    async def __aenter__(self) -> None:
        await self.acquire()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()

    async def acquire(self) -> None:
        """Wait until admitted. Cancelling the waiter gives its place up."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(future)
        self._poke()
        try:
            await future
        except asyncio.CancelledError:
            if future.done() and not future.cancelled():
                self.release()  # admitted, but cancelled before it could run
            raise

    def release(self) -> None:
        self.in_flight -= 1
        self._poke()

    async def run(self) -> None:
        """Admit waiters and sample the loop's lag until cancelled."""
        loop = asyncio.get_running_loop()
        lag = 0.0
        while True:
            if self._waiters and self.in_flight < self.limit:
                if lag <= self.lag_target:
                    self._admit_one()
                before = time.perf_counter()
                await asyncio.sleep(0)  # one loop iteration: everything else that was ready
                after = time.perf_counter()
                self._sample(before, after)
                lag = after - before
            else:  # nothing to admit or no room: sample a timer until a waiter or a slot comes
                wake: asyncio.Future[None] = loop.create_future()
                self._wake, self._poked_at = wake, None
                due = time.perf_counter() + self.tick
                timer = loop.call_at(loop.time() + self.tick, _wake, wake)
                try:
                    await wake
                finally:
                    timer.cancel()
                    self._wake = None
                after = time.perf_counter()
                # Ready to run since the timer was due, or since a poke came, if earlier.
                ready = min(due, after, self._poked_at or due)
                self._sample(ready, after)
                lag = after - ready

    def lag_during(self, start: float, end: float) -> float:
        """The largest lag (seconds) sampled over ``[start, end]`` (``time.perf_counter``)."""
        return self.samples.worst_during(start, end)

    def max_lag(self) -> float:
        """The largest lag (seconds) sampled so far."""
        return self.samples.worst()

    def _admit_one(self) -> None:
        while self._waiters:
            future = self._waiters.popleft()
            if not future.done():  # a cancelled waiter is skipped
                future.set_result(None)
                self.in_flight += 1
                self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
                return

    def _poke(self) -> None:
        wake = self._wake
        if wake is not None and not wake.done():
            self._poked_at = time.perf_counter()
            wake.set_result(None)

    def _sample(self, ready: float, ran: float) -> None:
        self.samples.add(ready, ran)


class LagSamples:
    """Lag samples - a callback became ready at ``ready`` and ran at ``ran`` - in time order.

    ``worst_during`` answers each check's window at once from a sparse table of
    range maxima, built once for the samples taken so far: scanning each
    window's samples would cost checks x samples, seconds of CPU for a few
    thousand checks.
    """

    def __init__(self) -> None:
        self._ready: list[float] = []  # both ascend
        self._ran: list[float] = []
        self._table: list[list[float]] = []  # row k: the worst lag of 2**k samples from i on

    def __len__(self) -> int:
        return len(self._ran)

    def add(self, ready: float, ran: float) -> None:
        self._ready.append(ready)
        self._ran.append(ran)

    def worst(self) -> float:
        """The largest lag sampled, 0 if none."""
        return max((r - q for q, r in zip(self._ready, self._ran, strict=True)), default=0.0)

    def worst_during(self, start: float, end: float) -> float:
        """The largest lag of the samples that ran at or after ``start`` and were ready by
        ``end``; 0 if none."""
        low = bisect_left(self._ran, start)
        high = bisect_right(self._ready, end, low)
        if low >= high:
            return 0.0
        table = self._range_maxima()
        level = (high - low).bit_length() - 1
        row = table[level]
        return max(row[low], row[high - (1 << level)])

    def _range_maxima(self) -> list[list[float]]:
        if not self._table or len(self._table[0]) != len(self._ran):
            row = [ran - ready for ready, ran in zip(self._ready, self._ran, strict=True)]
            table, width, count = [row], 1, len(row)
            while 2 * width <= count:
                row = [max(row[i], row[i + width]) for i in range(len(row) - width)]
                table.append(row)
                width *= 2
            self._table = table
        return self._table
