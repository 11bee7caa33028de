"""One scheduled run of a check group (or of one shard of it), from event to alerts.

An event without ``"shard"`` for a group with ``shards`` > 1 only fans out: one
asynchronous invocation per shard (``vigil.fanout``), nothing else. Otherwise
``Runner.run``:

1. reads the group state; if its fence already holds this scheduled time (a
   repeated delivery) or the run is a day behind the newest one, nothing is
   counted: it only publishes alerts whose lease has lapsed, and returns;
2. runs the due checks of this shard concurrently, all before the checks'
   deadline (``vigil.run.execution``);
3. counts the run: folds the results into the state (``vigil.run.fold``) and
   saves it conditionally on the version read, with the rollups of any period
   the run closed written first. After a failed or unanswered save it re-reads
   the state, whose fence tells whether the save took effect, whether another
   delivery counted the run, or whether to fold again;
4. emits the run's CloudWatch metrics (before any delivery, so a slow SNS
   cannot lose them);
5. writes the run record (history), a plain put safe to repeat;
6. publishes the alerts leased to this invocation and settles the outbox
   (``vigil.run.outbox``).

With ``locations`` in the configuration (``vigil.locations``), a probe's run only runs
its due checks and writes what it saw to the home's table (``_GroupRun.observe``:
nothing counted, no alert); the home's run, between steps 2 and 3, waits up to
``quorum_wait`` for the probes' observations of the same scheduled time and combines
them with its own by each check's quorum (``_GroupRun.combine``): steps 3-6 then see
the combined results.

Every AWS call of steps 1-6 ends before the run's deadline, retries included
(``vigil.run.deadline``). Write requests per run: the rollups when a period
ends, the state, the run record, and the outbox settle when alerts were
published — at most 4.
"""

from __future__ import annotations

import asyncio
import gc
import json
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

from vigil.budget import checks_budget, reserve_for, work_budget
from vigil.checks.base import HeartbeatView
from vigil.config import CheckConfig, GroupConfig, VigilConfig
from vigil.exceptions import (
    InvalidEventError,
    RunDeadlineError,
    StoreConflictError,
    VigilError,
)
from vigil.locations import HOME_ONLY_TYPES, PROBE, Locations, combine, mark_location
from vigil.metrics import emit_run_metrics
from vigil.pacing import DEFAULT_LAG_TARGET, DEFAULT_LIMIT
from vigil.policy.check_run import ParentView
from vigil.results import UNKNOWN, CheckResult
from vigil.retry import STORE_SAVE
from vigil.rollups import PeriodRollups
from vigil.run import outbox
from vigil.run.deadline import RunDeadline
from vigil.run.event import QueueBatch, RunRequest, TickRequest
from vigil.run.execution import is_due, run_checks
from vigil.run.fold import FoldOutcome, fold, in_shard, parents
from vigil.run.summary import RunSummary
from vigil.sharding import shard_of
from vigil.store.base import GroupState, RunRecord, StateStore
from vigil.store.outbox import take_leases
from vigil.times import iso_from_epoch, parse_time

if TYPE_CHECKING:
    from vigil.run.tick import TickSummary
    from vigil.store.pings import PingStore

logger = logging.getLogger(__name__)

SAVE_ATTEMPTS = STORE_SAVE.attempts
POLL_S = 0.5  # how often the home reads the probes' observations while it waits
COMBINE_RESERVE_S = 1.0  # what the waiting always leaves for counting the run
DAY_ROLLUP_DAYS = 400
DEFAULT_REMAINING_S = 900.0  # outside Lambda, with no context: Lambda's longest timeout


class FanOut(Protocol):
    """Sends each event to the runner function, asynchronously (``vigil.fanout.LambdaFanOut``)."""

    def invoke(self, events: list[dict[str, Any]]) -> None: ...


class LocationRole(NamedTuple):
    """This stack's place among several: its ``region`` and ``role`` in ``locations``,
    and (a probe's) the home's table, where its observations go."""

    locations: Locations
    region: str
    role: str
    home_store: StateStore | None = None

    def describe(self) -> dict[str, Any]:
        return {"role": self.role, "region": self.region, "home": self.locations.home}


class RunQueue(Protocol):
    """Sends each (event, delay in seconds) to the run queue (``vigil.dispatch.RunQueue``)."""

    def enqueue(self, runs: list[tuple[dict[str, Any], int]]) -> None: ...


class Runner:
    """Runs groups of one configuration against one store and one publisher."""

    def __init__(
        self,
        config: VigilConfig,
        store: StateStore,
        publisher: outbox.Publisher,
        *,
        history_days: int = 30,
        get_secret: Callable[[str], Any] | None = None,
        clock: Callable[[], float] = time.time,
        deadline: RunDeadline | None = None,
        max_concurrency: int = DEFAULT_LIMIT,
        lag_target: float = DEFAULT_LAG_TARGET,
        emit_metrics: Callable[..., Any] = emit_run_metrics,
        fan_out: FanOut | None = None,
        run_queue: RunQueue | None = None,
        pings: PingStore | None = None,
        location: LocationRole | None = None,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
    ):
        self.config = config
        self.store = store
        self.publisher = publisher
        self.history_days = history_days
        self.get_secret = get_secret
        self.clock = clock  # wall-clock time: "now" for a run without a scheduled time
        self.monotonic = monotonic  # the run's deadlines and durations
        self.deadline = deadline or RunDeadline(clock=monotonic)
        self.max_concurrency = max_concurrency
        self.lag_target = lag_target
        self.emit_metrics = emit_metrics
        self._fan_out = fan_out
        self._run_queue = run_queue
        self.pings = pings  # heartbeat checks' pings (vigil.store.pings.PingStore)
        self.location = location  # deployed in several regions: this one's role
        self.sleep = sleep

    def run(self, request: RunRequest, *, remaining_ms: float | None = None) -> RunSummary:
        """Run one group (shard) once; see the module docstring for the steps."""
        group = self.config.group(request.group)
        if request.shard is None and group.shards > 1:
            return self.fan_out_run(group, request)
        shard = request.shard or 0
        if not 0 <= shard < group.shards:
            raise InvalidEventError(
                f"group {group.name!r} has {group.shards} shard(s), got shard {shard}"
            )
        started = self.monotonic()
        remaining_s = DEFAULT_REMAINING_S if remaining_ms is None else remaining_ms / 1000
        self.deadline.start(started + work_budget(remaining_s), reserve_for(remaining_s))
        # No automatic collection during the run (the checks' part is also why: see
        # run_checks): a run makes objects faster than the collector's threshold, and its
        # collections walked them again and again while most were about to be freed by
        # reference counting - 2,000 checks, 15-40 ms a run here. What a run leaves in
        # cycles is collected after it.
        collecting = gc.isenabled()
        gc.disable()
        try:
            return _GroupRun(self, group, shard, request, started, remaining_s).run()
        finally:
            self.deadline.clear()
            if collecting:
                gc.enable()

    @property
    def fan_out(self) -> FanOut:
        """Asynchronous invocations of this function (the shards of a run)."""
        if self._fan_out is None:
            from vigil.fanout import LambdaFanOut

            self._fan_out = LambdaFanOut()
        return self._fan_out

    @fan_out.setter
    def fan_out(self, value: FanOut) -> None:
        self._fan_out = value

    @property
    def run_queue(self) -> RunQueue:
        """The run queue: every run a tick dispatches (``vigil.dispatch``)."""
        if self._run_queue is None:
            from vigil.dispatch import RunQueue

            self._run_queue = RunQueue()
        return self._run_queue

    @run_queue.setter
    def run_queue(self, value: RunQueue) -> None:
        self._run_queue = value

    def emit_tick_metrics(self) -> None:
        """``Ticks`` = 1 per tick (dimension ``service``): its alarm says when ticks stop."""
        from vigil.metrics import emit_tick

        emit_tick()

    def tick(self, request: TickRequest, *, remaining_ms: float | None = None) -> TickSummary:
        """Dispatch the runs of the tick's minute and watch every group (``vigil.run.tick``)."""
        from vigil.run.tick import TickParts, run_tick

        started = self.monotonic()
        remaining_s = DEFAULT_REMAINING_S if remaining_ms is None else remaining_ms / 1000
        ends_at = started + work_budget(remaining_s)
        self.deadline.start(ends_at, reserve_for(remaining_s))
        parts = TickParts(
            groups=self.config.groups,
            store=self.store,
            publisher=self.publisher,
            enqueue=lambda runs: self.run_queue.enqueue(runs),
            now=self.clock(),
            time_left=lambda: ends_at - self.monotonic(),
            sleep=self.sleep,
            locations=self.location.locations if self.location else None,
            region=self.location.region if self.location else None,
            home_store=self.location.home_store if self.location else None,
        )
        try:
            summary = run_tick(request.tick, parts)
        finally:
            self.deadline.clear()
            self.emit_tick_metrics()
        return summary

    def run_batch(
        self,
        batch: QueueBatch,
        context: Any,
        *,
        now: Callable[[], float] = time.time,
        retention_days: float | None = None,
    ) -> dict[str, Any]:
        """Run each record of a run-queue batch; ``{"batchItemFailures": [...]}`` names the
        runs that failed (SQS delivers them again; the others are done). A record that is
        not a valid run event is logged and dropped: delivering it again cannot help."""
        from aws_lambda_powertools.utilities.batch import (
            BatchProcessor,
            EventType,
            process_partial_response,
        )

        def run_record(record: Any) -> dict[str, Any]:
            try:
                request = RunRequest.from_event(
                    json.loads(record.body), now=now(), retention_days=retention_days
                )
            except (ValueError, InvalidEventError) as exc:
                logger.error("run queue message %s dropped: %s", record.message_id, exc)
                return {"dropped": str(exc)[:300]}
            remaining = context.get_remaining_time_in_millis() if context is not None else None
            return self.run(request, remaining_ms=remaining).to_dict()

        return process_partial_response(
            event=batch.event,
            record_handler=run_record,
            processor=BatchProcessor(event_type=EventType.SQS),
            context=context,
        )

    def fan_out_run(self, group: GroupConfig, request: RunRequest) -> RunSummary:
        """Invoke this function once per shard of ``group`` and say what was sent.

        Every shard gets the same ``scheduled_time`` (now, if the event had none),
        so each shard's fence recognises a repeated delivery of this event.
        """
        scheduled = request.scheduled_time or iso_from_epoch(self.clock())
        events = [
            {"group": group.name, "scheduled_time": scheduled, "shard": shard}
            for shard in range(group.shards)
        ]
        self.fan_out.invoke(events)
        logger.info("group %s: fanned out to %d shards at %s", group.name, group.shards, scheduled)
        return RunSummary(group.name, scheduled, fanned_out_shards=group.shards)

    def rollup_expiry(self, rollup: PeriodRollups) -> int:
        start = parse_time(rollup.period + ("T00" if rollup.kind == "day" else "") + ":00:00Z")
        days = self.history_days if rollup.kind == "hour" else DAY_ROLLUP_DAYS
        return int(start.timestamp() + days * 86400)


class _GroupRun:
    """The steps of one run; holds what they share (a ``Runner`` is shared by runs)."""

    def __init__(
        self,
        runner: Runner,
        group: GroupConfig,
        shard: int,
        request: RunRequest,
        started: float,
        remaining_s: float,
    ):
        self.runner, self.store = runner, runner.store
        self.group, self.shard = group, shard
        self.started = started
        self.ends_at = started + work_budget(remaining_s)
        self.checks_deadline = started + checks_budget(remaining_s)
        self.now = runner.clock()
        self.run_key = request.scheduled_time or iso_from_epoch(self.now)
        self.scheduled_time = request.scheduled_time
        self.owner = uuid.uuid4().hex  # this invocation, as the fence and the leases know it
        self.lease_until = self.now + max(1.0, self.ends_at - started)
        self.run_id = f"{group.name}#{shard}@{self.run_key}"

    def time_left(self) -> float:
        return self.ends_at - self.runner.monotonic()

    def run(self) -> RunSummary:
        location = self.runner.location
        if location is not None and location.role == PROBE:
            return self.observe(location)

        # 1. the state, and its fence
        state = self.store.load_state(self.group.name, self.shard)
        if state.fence.holds(self.run_key) or state.fence.is_stale(self.run_key):
            return self.not_counted(state, duplicate=state.fence.holds(self.run_key))

        # 2. the due checks of this shard
        mine = [c for c in self.group.checks if shard_of(c.name, self.group.shards) == self.shard]
        run_time = parse_time(self.run_key).timestamp()
        aligned = location is not None
        due = [c for c in mine if is_due(c, state.checks.get(c.name), run_time, aligned=aligned)]
        due_names = {c.name for c in due}  # by name: comparing models is quadratic in checks
        results, lag_max = asyncio.run(
            run_checks(
                due,
                self.checks_deadline,
                get_secret=self.runner.get_secret,
                max_concurrency=self.runner.max_concurrency,
                lag_target=self.runner.lag_target,
                monotonic=self.runner.monotonic,
                heartbeats=self.heartbeat_views(due, state, run_time),
            )
        )
        if location is not None:  # the home: one observation per check from every location
            results = self.combine(location, results)
        duration_ms = (self.runner.monotonic() - self.started) * 1000

        # 3. count the run
        earlier_pending = len(state.outbox)
        outcome, state = self.count(state, results)
        if outcome is None:  # another delivery of this run counted it meanwhile
            return self.not_counted(state, duplicate=True)
        results = outcome.results  # marked where a maintenance window covers them

        # 4. metrics, before anything can be slow
        self.runner.emit_metrics(
            self.group, results, run_duration_ms=duration_ms, alerts_pending=earlier_pending
        )

        # 5. history
        record = RunRecord(
            self.group.name,
            self.shard,
            self.run_key,
            iso_from_epoch(self.now),
            duration_ms,
            results,
        )
        history_saved = self.save_history(record)

        # 6. alerts
        state, delivery = self.deliver(state)
        return RunSummary(
            group=self.group.name,
            scheduled_time=self.scheduled_time,
            results=results,
            shard=self.shard if self.group.shards > 1 else None,
            not_due=[c.name for c in mine if c.name not in due_names],
            transitions=outcome.transitions,
            alerts_raised=outcome.alerts,
            alerts_sent=len(delivery.sent),
            alerts_pending=delivery.pending,
            duration_ms=duration_ms,
            lag_ms_max=round(lag_max * 1000, 1),
            location=location.describe() if location is not None else None,
            history_saved=history_saved,
        )

    def count(
        self, state: GroupState, results: list[CheckResult]
    ) -> tuple[FoldOutcome | None, GroupState]:
        """Fold and save until the state holds this run; the outcome is None (with the state
        as read) if another delivery counted it."""
        external = self.external_parents()
        for attempt in range(SAVE_ATTEMPTS):
            outcome = fold(
                self.group,
                state,
                results,
                run_key=self.run_key,
                owner=self.owner,
                now=self.now,
                lease_until=self.lease_until,
                windows=self.runner.config.maintenance,
                external=external,
            )
            more_time = True  # a conflict: re-read and fold again at once
            try:
                if outcome.closed:
                    self.store.put_rollups(
                        self.group.name,
                        self.shard,
                        [(r, self.runner.rollup_expiry(r)) for r in outcome.closed],
                    )
                return outcome, self.store.save_state(outcome.state)
            except RunDeadlineError:
                raise
            except StoreConflictError:
                logger.info("state of run %s changed meanwhile; re-reading", self.run_id)
            except Exception as exc:  # throttled past retries, no answer: did it take effect?
                logger.warning(
                    "saving the state of run %s failed (%s: %s); re-reading",
                    self.run_id,
                    type(exc).__name__,
                    str(exc)[:200],
                )
                more_time = self.pause(attempt + 1)
            state = self.store.load_state(self.group.name, self.shard)
            folded_by = state.fence.owner(self.run_key)
            if folded_by == self.owner:
                logger.info("run %s: the save took effect (its answer was lost)", self.run_id)
                return outcome, state
            if state.fence.holds(self.run_key):
                logger.warning("run %s was counted by another delivery", self.run_id)
                return None, state
            if not more_time:
                break  # no time (or no retry) left to save it again
        raise StoreConflictError(
            f"could not save the state of {self.run_id} after {attempt + 1} tries"
        )

    def observe(self, location: LocationRole) -> RunSummary:
        """A probe's run: the due checks (heartbeats are the home's to judge), their results
        written to the home's table for it to combine. Nothing is counted or alerted here."""
        mine = [c for c in self.group.checks if shard_of(c.name, self.group.shards) == self.shard]
        run_time = parse_time(self.run_key).timestamp()
        due = [
            c
            for c in mine
            if c.type not in HOME_ONLY_TYPES and is_due(c, None, run_time, aligned=True)
        ]
        results, lag_max = asyncio.run(
            run_checks(
                due,
                self.checks_deadline,
                get_secret=self.runner.get_secret,
                max_concurrency=self.runner.max_concurrency,
                lag_target=self.runner.lag_target,
                monotonic=self.runner.monotonic,
            )
        )
        marked = [mark_location(r, location.region) for r in results]
        expires = int(run_time + self.runner.history_days * 86400)
        try:
            location.home_store.put_observations(
                self.group.name, self.shard, self.run_key, location.region, marked, expires
            )
        except Exception:  # the home's region may be down: a later write would change nothing
            logger.exception(
                "observations of %s#%s@%s not written to the home's table (%s)",
                self.group.name,
                self.shard,
                self.run_key,
                location.locations.home,
            )
        return RunSummary(
            group=self.group.name,
            scheduled_time=self.scheduled_time,
            results=results,
            shard=self.shard if self.group.shards > 1 else None,
            duration_ms=(self.runner.monotonic() - self.started) * 1000,
            lag_ms_max=round(lag_max * 1000, 1),
            location=location.describe(),
        )

    def combine(self, location: LocationRole, results: list[CheckResult]) -> list[CheckResult]:
        """The home's results combined with the probes' of the same run: what arrived
        within ``quorum_wait`` of the start of this run (read again every half second
        until every probe reported), judged by each check's quorum. A heartbeat's result
        stays the home's own: no probe observes it (a run of only such results, or of
        none, waits for nothing)."""
        locations = location.locations
        home_only = {c.name for c in self.group.checks if c.type in HOME_ONLY_TYPES}
        if all(not r.observed or r.check in home_only for r in results):
            return results
        wait_until = min(
            self.started + locations.quorum_wait,
            self.ends_at - self.runner.deadline.needed_s - COMBINE_RESERVE_S,
        )
        found: dict[str, list[CheckResult]] = {}
        while True:
            missing = [region for region in locations.probes if region not in found]
            try:
                found.update(
                    self.store.observations(self.group.name, self.shard, self.run_key, missing)
                )
            except Exception:  # judged by those that arrived (at worst the home alone)
                logger.exception("the probes' observations of %s could not be read", self.run_key)
                break
            left = wait_until - self.runner.monotonic()
            if set(locations.probes) <= set(found) or left <= 0:
                break
            self.runner.sleep(min(POLL_S, left))
        by_region = {
            region: {r.check: r for r in found.get(region, ())} for region in locations.probes
        }
        quorums = {c.name: c.quorum for c in self.group.checks}
        combined = []
        for result in results:
            # cut short by the deadline (not counted), or a heartbeat: the home's own
            if not result.observed or result.check in home_only:
                combined.append(result)
                continue
            observed = {
                locations.home: result,
                **{region: by_region[region].get(result.check) for region in locations.probes},
            }
            together = combine(result.check, observed, quorums.get(result.check))
            # the home's own details (target, status code, timings...) with who saw what
            own = {k: v for k, v in result.details.items() if k != "location"}
            details = {**own, **together.details}
            combined.append(replace(together, lag_ms=result.lag_ms, details=details))
        return combined

    def heartbeat_views(
        self, due: list[CheckConfig], state: GroupState, run_time: float
    ) -> dict[str, HeartbeatView]:
        """The pings of the due heartbeat checks up to this run's scheduled time (one read
        for all of them; a check pinged after that time is replayed up to it)."""
        names = [c.name for c in due if c.type == "heartbeat"]
        if not names:
            return {}
        if self.runner.pings is None:
            raise VigilError("heartbeat checks need the pings store (Runner(pings=...))")
        at = datetime.fromtimestamp(run_time, UTC)
        at_ms = int(run_time * 1000)
        pings = self.runner.pings
        try:
            summaries = pings.summaries(self.group.name, names)
        except Exception:  # each heartbeat check is then an error; the others run on
            logger.exception("the pings of %s could not be read", self.group.name)
            return {}
        views = {}
        for name, summary in summaries.items():
            if summary.last_ping_ms is not None and summary.last_ping_ms > at_ms:
                try:
                    summary = pings.replay(self.group.name, name, at_ms)
                except Exception:
                    logger.exception("the pings of %s/%s could not be read", self.group.name, name)
                    continue
            current = state.checks.get(name)
            first = current.first_run if current is not None and current.first_run else run_time
            views[name] = HeartbeatView(summary, at, datetime.fromtimestamp(first, UTC))
        return views

    def external_parents(self) -> dict[str, ParentView]:
        """The ``depends_on`` parents outside this group shard, from their last saved state.

        ``current`` says whether that state holds a run at or after this one.
        """
        wanted: dict[tuple[str, int], list[str]] = {}
        for check in self.group.checks:
            for parent in parents(self.group.name, check):
                parent_group = self.runner.config.groups.get(parent.group)
                if parent_group is None or in_shard(parent, self.group, self.shard):
                    continue
                shard = shard_of(parent.check, parent_group.shards)
                wanted.setdefault((parent.group, shard), []).append(parent.check)
        views: dict[str, ParentView] = {}
        run_time = parse_time(self.run_key)
        for (group_name, shard), names in wanted.items():
            state = self.store.load_state(group_name, shard)
            current = state.last_run_key is not None and parse_time(state.last_run_key) >= run_time
            for name in names:
                status = state.checks[name].status if name in state.checks else UNKNOWN
                views[f"{group_name}/{name}"] = ParentView(status, current)
        return views

    def save_history(self, record: RunRecord) -> bool:
        """Write the run record; retried while time allows. False if it could not be written."""
        expires = int(parse_time(self.run_key).timestamp() + self.runner.history_days * 86400)
        for attempt in range(SAVE_ATTEMPTS):
            try:
                self.store.put_run(record, expires)
                return True
            except RunDeadlineError as exc:
                logger.error("run %s counted, history not written: %s", self.run_id, exc)
                return False
            except Exception as exc:
                logger.warning(
                    "writing the history of run %s failed (%s); retrying",
                    self.run_id,
                    type(exc).__name__,
                )
                if not self.pause(attempt + 1):
                    break
        logger.error("run %s counted, but its history record could not be written", self.run_id)
        return False

    def not_counted(self, state: GroupState, duplicate: bool) -> RunSummary:
        """A repeated delivery or a stale run: report, and publish alerts whose lease lapsed."""
        if duplicate:
            logger.warning("run %s was already counted: repeated delivery", self.run_id)
            stored = self.store.get_run(self.group.name, self.shard, self.run_key)
            results = stored.results if stored else []
        else:
            logger.warning(
                "run %s is more than a day behind the newest counted run: not counted",
                self.run_id,
            )
            results = []
        sent, pending = self.deliver_lapsed(state)
        return RunSummary(
            group=self.group.name,
            scheduled_time=self.scheduled_time,
            results=results,
            shard=self.shard if self.group.shards > 1 else None,
            duplicate=duplicate,
            stale=not duplicate,
            alerts_sent=sent,
            alerts_pending=pending,
        )

    def deliver_lapsed(self, state: GroupState) -> tuple[int, int]:
        """Lease and publish pending alerts whose holder's lease lapsed (it may have died)."""
        if not any(alert.lease_until < self.now for alert in state.outbox):
            return 0, len(state.outbox)
        leased = take_leases(state.outbox, self.owner, self.now, self.lease_until)
        try:
            state = self.store.save_state(replace(state, outbox=leased))
        except Exception as exc:  # a run in progress holds the state: it delivers them
            logger.info("pending alerts left to the run in progress (%s)", type(exc).__name__)
            return 0, len(state.outbox)
        state, delivery = self.deliver(state)
        return len(delivery.sent), delivery.pending

    def deliver(self, state: GroupState) -> tuple[GroupState, outbox.Delivery]:
        """Publish the alerts leased to this invocation and settle the outbox."""
        return outbox.deliver(
            state,
            self.owner,
            self.store,
            self.runner.publisher,
            time_left=self.time_left,
            # a save attempt and a margin: the settle always has its time
            settle_s=self.runner.deadline.needed_s + 0.25,
            sleep=self.runner.sleep,
        )

    def pause(self, retry: int) -> bool:
        """Back off before retrying a store call; False when the retries are used up or no
        time is left for the wait and one more call."""
        return STORE_SAVE.pause(
            retry, self.time_left, reserve_s=self.runner.deadline.needed_s, sleep=self.runner.sleep
        )
