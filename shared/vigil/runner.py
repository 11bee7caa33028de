"""One scheduled run of a check group, from event to alerts.

An event without ``"shard"`` for a group with ``shards`` > 1 only fans out: one
asynchronous invocation per shard (``vigil.fanout``), nothing else. Otherwise
``Runner.run`` does, in order:

1. pick the group's checks that are due (``interval``, with jitter tolerance)
   and belong to this shard;
2. run them concurrently, admitted by the event loop's lag (``vigil.pacing``)
   so that their latencies stay honest, each under a hard timeout, all before
   the run's deadline (the Lambda's remaining time less a safety margin); each
   result carries the loop lag seen while it ran (``lag_ms``);
3. store the run record: the fence against repeated deliveries — if a record
   for this scheduled time exists, stop here (nothing counts twice);
4. emit CloudWatch metrics;
5. fold the results into the state machine, record each transition's alert as
   pending in the outbox with a lease held by this run, roll up completed
   hours/days, and save the state conditionally on the version read (on a
   conflict: re-read and fold again);
6. publish the alerts this run holds the lease on (with retries), then remove
   the delivered ones from the outbox; undelivered ones stay for the next run.

Write requests per run: the run record, the state, the outbox update when
alerts were published, and a batch of rollups when an hour ends — at most 4.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import ssl
import time
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, Protocol

from vigil.alerts.message import alert_document
from vigil.checks import Check, CheckResources, CheckResult, Status, build_check
from vigil.config import CheckConfig, GroupConfig, VigilConfig
from vigil.exceptions import AlertDeliveryError, InvalidEventError, StoreConflictError
from vigil.metrics import emit_run_metrics
from vigil.pacing import DEFAULT_LAG_TARGET, DEFAULT_LIMIT, LoopPacer
from vigil.rollups import PeriodRollups, period_of
from vigil.state import CheckState, Thresholds, Transition, observe
from vigil.store.base import GroupState, PendingAlert, RunRecord, StateStore

logger = logging.getLogger(__name__)

HARD_TIMEOUT_GRACE = 1.0  # seconds a check may overrun its own timeout before it is cut
SAVE_ATTEMPTS = 8
OUTBOX_LIMIT = 300  # pending alerts kept per shard (the state item must stay under 400 KB)
DAY_ROLLUP_DAYS = 400

# Warm-start cache: TLS contexts by (verification, CA file). Loading a CA bundle
# takes ~30 ms of CPU (several times that on a small Lambda); a client context
# keeps no per-connection state, so every run of a container can share it.
_TLS_CONTEXTS: dict[tuple[bool, str | None], ssl.SSLContext] = {}

_LONG_LIVED_FROZEN = False  # once per process: see freeze_long_lived_objects


def freeze_long_lived_objects(environ: Mapping[str, str] = os.environ) -> None:
    """In Lambda, once per container: put what exists now out of the GC's reach.

    Called by the handler after init. A full collection walks every object,
    boto3's included: 50-90 ms here (several times that on a small Lambda) during
    which the event loop stands still and every check in flight reads that much
    too slow (issue 4). Frozen objects (modules, config, clients) are never walked
    again; the garbage of each run still is collected. Outside Lambda
    (``AWS_LAMBDA_FUNCTION_NAME`` unset: tests, the CLI) nothing is frozen, since
    whatever else the process holds at that moment would never be freed.
    """
    global _LONG_LIVED_FROZEN
    if not _LONG_LIVED_FROZEN and environ.get("AWS_LAMBDA_FUNCTION_NAME"):
        _LONG_LIVED_FROZEN = True
        gc.collect()
        gc.freeze()


class FanOut(Protocol):
    """Sends one event per shard to the runner function (``vigil.fanout.LambdaFanOut``)."""

    def invoke(self, events: list[dict[str, Any]]) -> None: ...


@dataclass(frozen=True)
class RunRequest:
    """The runner event: ``{"group": ..., "scheduled_time": ..., "shard": ...}``."""

    group: str
    scheduled_time: str | None = None
    shard: int | None = None

    @classmethod
    def from_event(cls, event: Any) -> RunRequest:
        if not isinstance(event, dict) or not isinstance(event.get("group"), str):
            raise InvalidEventError(
                'expected an event like {"group": "core", "scheduled_time": "<ISO 8601>"}, '
                f"got {str(event)[:200]}"
            )
        scheduled = event.get("scheduled_time")
        if scheduled is not None:
            try:
                scheduled = iso(parse_time(scheduled))
            except (TypeError, ValueError):
                raise InvalidEventError(
                    f"scheduled_time must be an ISO 8601 time, got {scheduled!r}"
                ) from None
        shard = event.get("shard")
        if shard is not None and (
            isinstance(shard, bool) or not isinstance(shard, int) or shard < 0
        ):
            raise InvalidEventError(f"shard must be a whole number from 0, got {shard!r}")
        return cls(group=event["group"], scheduled_time=scheduled, shard=shard)


def parse_time(value: str) -> datetime:
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def iso(moment: datetime) -> str:
    moment = moment.astimezone(UTC)
    if moment.microsecond:
        return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


def shard_of(check_name: str, shards: int) -> int:
    """The shard owning a check: stable across config edits that add other checks."""
    return zlib.crc32(check_name.encode()) % shards if shards > 1 else 0


def is_due(check: CheckConfig, state: CheckState | None, run_time: float) -> bool:
    """True if the check should run at ``run_time`` (epoch seconds).

    A check runs when its ``interval`` has elapsed since its last run, less a
    tolerance of 10% (at least one second) for scheduler jitter, so a 60 s
    check on a 1-minute schedule runs on every invocation.
    """
    if check.interval is None or state is None or state.last_run is None:
        return True
    tolerance = max(1.0, 0.1 * check.interval)
    return run_time - state.last_run >= check.interval - tolerance


def reserve_for(remaining_s: float) -> float:
    """Seconds kept back from the checks for storing and alerting after them."""
    return min(max(3.0, 0.2 * remaining_s), 15.0)


class Runner:
    """Runs groups of one configuration against one store and one publisher."""

    def __init__(
        self,
        config: VigilConfig,
        store: StateStore,
        publisher: Any,
        *,
        history_days: int = 30,
        get_secret: Callable[[str], Any] | None = None,
        clock: Callable[[], float] = time.time,
        max_concurrency: int = DEFAULT_LIMIT,
        lag_target: float = DEFAULT_LAG_TARGET,
        emit_metrics: Callable[..., Any] = emit_run_metrics,
        fan_out: FanOut | None = None,
    ):
        self.config = config
        self.store = store
        self.publisher = publisher
        self.history_days = history_days
        self.get_secret = get_secret
        self.clock = clock
        self.max_concurrency = max_concurrency
        self.lag_target = lag_target
        self.emit_metrics = emit_metrics
        self._fan_out = fan_out

    @property
    def fan_out(self) -> FanOut:
        """Sends shard events (``vigil.fanout.LambdaFanOut`` unless one was given)."""
        if self._fan_out is None:
            from vigil.fanout import LambdaFanOut

            self._fan_out = LambdaFanOut()
        return self._fan_out

    @fan_out.setter
    def fan_out(self, value: FanOut) -> None:
        self._fan_out = value

    def run(self, request: RunRequest, *, remaining_ms: float | None = None) -> dict[str, Any]:
        """Run one group (shard) once and return the summary of DESIGN.md.

        For a group with shards and an event without one, only fan out (``fan_out_run``).
        """
        group = self.config.group(request.group)
        if request.shard is None and group.shards > 1:
            return self.fan_out_run(group, request)
        shard = request.shard or 0
        if not 0 <= shard < group.shards:
            raise InvalidEventError(
                f"group {group.name!r} has {group.shards} shard(s), got {shard}"
            )
        started = time.monotonic()
        remaining_s = 900.0 if remaining_ms is None else remaining_ms / 1000
        end = started + remaining_s - 0.5
        checks_deadline = started + remaining_s - reserve_for(remaining_s)
        now = self.clock()
        run_key = request.scheduled_time or iso(datetime.fromtimestamp(now, UTC))
        run_time = parse_time(run_key).timestamp()
        run_id = f"{group.name}#{shard}@{run_key}"

        state = self.store.load_state(group.name, shard)
        mine = [c for c in group.checks if shard_of(c.name, group.shards) == shard]
        due = [c for c in mine if is_due(c, state.checks.get(c.name), run_time)]
        results, lag_max = asyncio.run(self._run_checks(due, checks_deadline))
        duration_ms = (time.monotonic() - started) * 1000

        record = RunRecord(
            group=group.name,
            shard=shard,
            run_key=run_key,
            started_at=iso(datetime.fromtimestamp(now, UTC)),
            duration_ms=duration_ms,
            results=results,
        )
        summary: dict[str, Any] = {
            "group": group.name,
            "scheduled_time": request.scheduled_time,
            "results": [r.summary() for r in results],
            # The loop lag seen by each check while it ran: a bound on its latency's error.
            "lag_ms": {r.check: r.lag_ms for r in results if r.lag_ms is not None},
            "lag_ms_max": round(lag_max * 1000, 1),
        }
        if group.shards > 1:
            summary["shard"] = shard
        if len(due) < len(mine):
            summary["not_due"] = [c.name for c in mine if c not in due]
        expires = int(run_time + self.history_days * 86400)
        if not self.store.put_run(record, expires):
            logger.warning(
                "run %s was already recorded: repeated delivery, nothing counted", run_id
            )
            stored = self.store.get_run(group.name, shard, run_key)
            if stored is not None:
                summary["results"] = [r.summary() for r in stored.results]
            # The stored run keeps no lags: report none from this one next to its results.
            summary.pop("lag_ms", None)
            summary.pop("lag_ms_max", None)
            summary["duplicate"] = True
            return summary

        lease_until = now + max(1.0, end - time.monotonic())
        state, transitions = self._save(
            group, shard, state, results, run_key, run_time, now, run_id, lease_until
        )
        sent, failed = self._publish(state, run_id, end)
        if sent or failed:
            state = self._settle_outbox(state, run_id, sent, failed)
        self.emit_metrics(
            group, results, run_duration_ms=duration_ms, alerts_pending=len(state.outbox)
        )
        summary["transitions"] = [
            {
                "check": t.check,
                "event": str(t.event),
                "status": t.status,
                "previous_status": t.previous_status,
            }
            for t in transitions
        ]
        summary["alerts"] = {"sent": len(sent), "pending": len(state.outbox)}
        summary["duration_ms"] = round(duration_ms, 1)
        return summary

    def fan_out_run(self, group: GroupConfig, request: RunRequest) -> dict[str, Any]:
        """Invoke this function once per shard of ``group`` and return what was sent.

        Every shard gets the same ``scheduled_time`` (now, if the event had none),
        so each shard's run record fences a repeated delivery of this event.
        """
        scheduled = request.scheduled_time or iso(datetime.fromtimestamp(self.clock(), UTC))
        events = [
            {"group": group.name, "scheduled_time": scheduled, "shard": shard}
            for shard in range(group.shards)
        ]
        self.fan_out.invoke(events)
        logger.info("group %s: fanned out to %d shards at %s", group.name, group.shards, scheduled)
        return {
            "group": group.name,
            "scheduled_time": scheduled,
            "fanned_out": True,
            "shards": group.shards,
            "results": [],
        }

    # checks ------------------------------------------------------------------------------
    async def _run_checks(
        self, configs: list[CheckConfig], deadline: float
    ) -> tuple[list[CheckResult], float]:
        """Every check's result (with ``lag_ms``) and the largest loop lag (seconds) seen."""
        resources = CheckResources(get_secret=self.get_secret, ssl_contexts=_TLS_CONTEXTS)
        pacer = LoopPacer(limit=self.max_concurrency, lag_target=self.lag_target)
        pacing = asyncio.ensure_future(pacer.run())
        windows: dict[int, tuple[float, float]] = {}

        async def run_one(index: int, config: CheckConfig) -> CheckResult:
            async with pacer:
                left = deadline - time.monotonic()
                if left <= 0.05:
                    return _cut(config)
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
                        return _cut(config)
                    return check.timed_out(hard, (time.perf_counter() - started) * 1000)
                finally:
                    windows[index] = (started, time.perf_counter())

        try:
            tasks = [asyncio.ensure_future(run_one(i, c)) for i, c in enumerate(configs)]
            if tasks:
                await asyncio.wait(tasks, timeout=max(0.0, deadline - time.monotonic()) + 0.5)
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
                    results.append(_cut(config))
            return results, pacer.max_lag()
        finally:
            pacing.cancel()
            resources.close()

    # state -------------------------------------------------------------------------------
    def _save(
        self,
        group: GroupConfig,
        shard: int,
        state: GroupState,
        results: list[CheckResult],
        run_key: str,
        run_time: float,
        now: float,
        run_id: str,
        lease_until: float,
    ) -> tuple[GroupState, list[Transition]]:
        for _ in range(SAVE_ATTEMPTS):
            new_state, transitions, completed = fold(
                group, state, results, run_key, run_time, now, run_id, lease_until
            )
            self.store.put_rollups(group.name, shard, [(r, self._expiry(r)) for r in completed])
            try:
                return self.store.save_state(new_state), transitions
            except StoreConflictError:
                logger.info("state of %s changed under run %s; folding again", group.name, run_id)
                state = self.store.load_state(group.name, shard)
        raise StoreConflictError(
            f"could not save the state of {run_id} after {SAVE_ATTEMPTS} tries"
        )

    def _expiry(self, rollup: PeriodRollups) -> int:
        start = parse_time(rollup.period + ("T00" if rollup.kind == "day" else "") + ":00:00Z")
        days = self.history_days if rollup.kind == "hour" else DAY_ROLLUP_DAYS
        return int(start.timestamp() + days * 86400)

    # alerts ------------------------------------------------------------------------------
    def _publish(
        self, state: GroupState, run_id: str, end: float
    ) -> tuple[list[str], dict[str, str]]:
        sent: list[str] = []
        failed: dict[str, str] = {}
        for alert in state.outbox:
            if alert.lease_owner != run_id:
                continue
            if time.monotonic() >= end - 1.0:
                failed[alert.alert_id] = "run deadline reached before publishing"
                continue
            try:
                self.publisher.publish(alert.document, deadline=end - 1.0)
            except AlertDeliveryError as exc:
                logger.error("alert %s stays pending: %s", alert.alert_id, exc)
                failed[alert.alert_id] = str(exc)[:300]
            else:
                sent.append(alert.alert_id)
        return sent, failed

    def _settle_outbox(
        self, state: GroupState, run_id: str, sent: list[str], failed: dict[str, str]
    ) -> GroupState:
        for _ in range(SAVE_ATTEMPTS):
            outbox = []
            for alert in state.outbox:
                if alert.lease_owner != run_id:
                    outbox.append(alert)
                elif alert.alert_id in failed:
                    outbox.append(
                        replace(
                            alert,
                            attempts=alert.attempts + 1,
                            lease_owner=None,
                            lease_until=0.0,
                            last_error=failed[alert.alert_id],
                        )
                    )
                elif alert.alert_id not in sent:
                    outbox.append(alert)
            try:
                return self.store.save_state(replace(state, outbox=outbox))
            except StoreConflictError:
                state = self.store.load_state(state.group, state.shard)
        logger.error("could not settle the outbox of %s; a later run will", run_id)
        return state


def _cut(config: CheckConfig) -> CheckResult:
    return CheckResult(
        config.name,
        Status.ERROR,
        "not finished before the run's deadline (not counted)",
        observed=False,
    )


def fold(
    group: GroupConfig,
    state: GroupState,
    results: list[CheckResult],
    run_key: str,
    run_time: float,
    now: float,
    run_id: str,
    lease_until: float,
) -> tuple[GroupState, list[Transition], list[PeriodRollups]]:
    """The state after a run: pure, so a conflicting save can simply fold again.

    Returns the new state (checks, rollups, outbox with leases), the transitions
    to alert on, and the rollups of periods that this run closed.
    """
    configs = {c.name: c for c in group.checks}
    checks = {name: s for name, s in state.checks.items() if name in configs}
    transitions: list[Transition] = []
    for result in results:
        if not result.observed or result.check not in configs:
            continue
        config = configs[result.check]
        thresholds = Thresholds(config.failure_threshold, config.success_threshold)
        current = checks.get(result.check, CheckState())
        new, transition = observe(
            current,
            result.status,
            thresholds,
            check=result.check,
            at=run_key,
            reason=result.reason,
            details={
                **result.details,
                **(
                    {"latency_ms": round(result.latency_ms, 1)}
                    if result.latency_ms is not None
                    else {}
                ),
            },
        )
        checks[result.check] = replace(new, last_run=run_time)
        if transition is not None:
            transitions.append(transition)

    completed: list[PeriodRollups] = []
    rollups = {}
    for kind, current_rollup in (("hour", state.hour), ("day", state.day)):
        period = period_of(kind, run_key)
        # A late run of an earlier period is counted in the open one.
        if current_rollup is not None and current_rollup.period < period:
            completed.append(current_rollup)
            current_rollup = None
        if current_rollup is None:
            current_rollup = PeriodRollups(kind=kind, period=period)
        else:
            current_rollup = PeriodRollups.from_dict(kind, current_rollup.to_dict())
        for result in results:
            if result.observed:
                current_rollup.add(result)
        for transition in transitions:
            current_rollup.record_transition(transition)
        rollups[kind] = current_rollup

    outbox = []
    for alert in state.outbox:
        if alert.lease_until < now:  # free, or its holder's run is over: take it
            alert = replace(alert, lease_owner=run_id, lease_until=lease_until)
        outbox.append(alert)
    for transition in transitions:
        alert_id = f"{group.name}/{transition.check}/{transition.event}@{run_key}"
        outbox.append(
            PendingAlert(
                alert_id=alert_id,
                document=alert_document(group.name, transition, alert_id),
                created_at=run_key,
                lease_owner=run_id,
                lease_until=lease_until,
            )
        )
    if len(outbox) > OUTBOX_LIMIT:
        dropped = outbox[: len(outbox) - OUTBOX_LIMIT]
        logger.error("outbox full: dropping %d oldest undelivered alerts", len(dropped))
        outbox = outbox[-OUTBOX_LIMIT:]

    new_state = replace(
        state,
        checks=checks,
        hour=rollups["hour"],
        day=rollups["day"],
        outbox=outbox,
        updated_at=iso(datetime.fromtimestamp(now, UTC)),
        last_run_key=run_key,
    )
    return new_state, transitions, completed
