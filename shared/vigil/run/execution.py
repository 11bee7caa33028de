"""Running a run's checks: which are due, concurrently, each bounded, all before a deadline.

Checks are admitted by the event loop's lag (``vigil.pacing``) so their
latencies stay honest; each runs under a hard timeout (its ``timeout`` plus a
grace); none runs past the checks' deadline. A check the deadline cut short is
reported with ``observed=False``: it does not count toward thresholds unless
it is cut on several consecutive runs (``vigil.run.fold``).
"""

from __future__ import annotations

import asyncio
import gc
import ssl
import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

from vigil.budget import HARD_TIMEOUT_GRACE
from vigil.checks import Check, CheckResources, CheckResult, Status, build_check
from vigil.checks.base import HeartbeatView
from vigil.config import CheckConfig
from vigil.pacing import DEFAULT_LAG_TARGET, DEFAULT_LIMIT, LoopPacer
from vigil.state import CheckState

CUT_REASON = "not finished before the run's deadline (not counted)"

# Warm-start cache: TLS contexts by (verification, CA file). Loading a CA bundle
# takes ~30 ms of CPU (several times that on a small Lambda); a client context
# keeps no per-connection state, so every run of a container can share it.
TLS_CONTEXTS: dict[tuple[bool, str | None], ssl.SSLContext] = {}


def is_due(
    check: CheckConfig, state: CheckState | None, run_time: float, *, aligned: bool = False
) -> bool:
    """True if the check should run at ``run_time`` (epoch seconds of the scheduled time).

    A check runs when its ``interval`` has elapsed since its last run, less a
    tolerance of 10% (at least one second) for scheduler jitter, so a 60 s
    check on a 1-minute schedule runs on every invocation. ``aligned`` (every
    location of a stack deployed in several, which must run the same checks at the
    same times, with no state at a probe): on the runs whose scheduled time is a
    multiple of its interval since the epoch.
    """
    if check.interval is None:
        return True
    if aligned:
        tolerance = min(1.0, 0.1 * check.interval)
        offset = run_time % check.interval
        return offset < tolerance or check.interval - offset < tolerance
    if state is None or state.last_run is None:
        return True
    tolerance = max(1.0, 0.1 * check.interval)
    return run_time - state.last_run >= check.interval - tolerance


def cut_result(config: CheckConfig) -> CheckResult:
    """The result of a check the run's deadline cut short (not counted)."""
    return CheckResult(config.name, Status.ERROR, CUT_REASON, observed=False)


async def run_checks(
    configs: list[CheckConfig],
    deadline: float,
    *,
    get_secret: Callable[[str], Any] | None = None,
    max_concurrency: int = DEFAULT_LIMIT,
    lag_target: float = DEFAULT_LAG_TARGET,
    monotonic: Callable[[], float] = time.monotonic,
    heartbeats: Mapping[str, HeartbeatView] | None = None,
) -> tuple[list[CheckResult], float]:
    """Every check's result (in ``configs`` order, with ``lag_ms``) and the largest loop lag.

    ``deadline`` is a ``monotonic()`` value; no check runs past it. The garbage
    collector's automatic runs wait until the checks are done: a full collection walks
    every object the process holds (200-300 ms for a large heap) and stands the event
    loop still meanwhile, which every check in flight would read as latency. What the
    checks leave in cycles is collected afterwards, outside any measurement.
    """
    resources = CheckResources(
        get_secret=get_secret, ssl_contexts=TLS_CONTEXTS, heartbeats=heartbeats
    )
    pacer = LoopPacer(limit=max_concurrency, lag_target=lag_target)
    pacing = asyncio.ensure_future(pacer.run())
    windows: dict[int, tuple[float, float]] = {}

    async def run_one(index: int, config: CheckConfig) -> CheckResult:
        async with pacer:
            left = deadline - monotonic()
            if left <= 0.05:
                return cut_result(config)
            try:
                check: Check = build_check(config, resources)
            except Exception as exc:  # an import or setup bug affects this check only
                return CheckResult(config.name, Status.ERROR, f"cannot build check: {exc}")
            hard = config.timeout + HARD_TIMEOUT_GRACE
            capped = left < hard
            started = time.perf_counter()
            try:
                return await asyncio.wait_for(check.run(), timeout=min(hard, left))
            except TimeoutError:
                if capped:
                    return cut_result(config)
                return check.timed_out(hard, (time.perf_counter() - started) * 1000)
            finally:
                windows[index] = (started, time.perf_counter())

    collecting = gc.isenabled()
    gc.disable()
    try:
        tasks = [asyncio.ensure_future(run_one(i, c)) for i, c in enumerate(configs)]
        if tasks:
            await asyncio.wait(tasks, timeout=max(0.0, deadline - monotonic()) + 0.5)
        results = []
        for index, (config, task) in enumerate(zip(configs, tasks, strict=True)):
            if task.done() and not task.cancelled() and task.exception() is None:
                result = task.result()
                if index in windows and result.observed:
                    lag = pacer.lag_during(*windows[index])
                    result = replace(result, lag_ms=round(lag * 1000, 1))
                results.append(result)
            else:
                task.cancel()
                results.append(cut_result(config))
        return results, pacer.max_lag()
    finally:
        pacing.cancel()
        resources.close()
        if collecting:
            gc.enable()
