"""The tick: once a minute, every run of the minute dispatched, and the schedule watched.

One EventBridge Scheduler schedule sends ``{"tick": "<scheduled time>"}`` every
minute. For the minute T of the tick:

1. plan: every group's scheduled times in [T, T + 60 s) (``vigil.schedule``);
2. dispatch: every run goes on the run queue (``vigil.dispatch``), ten to a request,
   with ``DelaySeconds`` = its time - now: 0 for a run that is due (the run at T;
   every run when the tick itself is late), the seconds to go for the later runs of
   a sub-minute group. Each is the usual runner event ``{"group",
   "scheduled_time"}``, delivered to the runner by the queue's event source, so the
   fence, the outbox and the policy hold per run, and a repeated tick dispatches
   again harmlessly;
3. watch: every group's newest counted run against its schedule
   (``vigil.run.watch``): a stalled group is alerted once, and once more when it
   runs again. With locations, the home also watches each probe's observations
   (``location-silent/<region>``) and each probe watches the home's runs
   (``home-silent/<region>``) instead of groups it does not count.

What could not be dispatched is reported after the rest was sent and watched:
``DispatchError`` fails the invocation, and Lambda's retry of the tick sends it all
again (the runs that went out are fenced).
"""

from __future__ import annotations

import logging
import math
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import TYPE_CHECKING, Any, NamedTuple

from vigil.alerts.document import AlertDocument
from vigil.dispatch import DispatchError
from vigil.exceptions import StoreConflictError
from vigil.locations import PROBE, Locations
from vigil.run import outbox
from vigil.run.watch import WATCH_GROUP, Subject, group_subjects, silent_subject, watch
from vigil.store.outbox import take_leases
from vigil.times import iso, parse_time

if TYPE_CHECKING:
    from vigil.config import GroupConfig
    from vigil.store.base import StateStore

logger = logging.getLogger(__name__)

MINUTE = timedelta(minutes=1)
WATCH_SAVES = 5


class Dispatch(NamedTuple):
    """One run of the tick's minute: sent at once (``delay_s`` 0) or queued."""

    group: str
    scheduled_time: str
    delay_s: int

    @property
    def event(self) -> dict[str, Any]:
        return {"group": self.group, "scheduled_time": self.scheduled_time}


def plan(groups: Iterable[GroupConfig], tick: str, now: float) -> list[Dispatch]:
    """The runs whose scheduled time falls in the tick's minute, each with its delay from
    ``now`` (epoch seconds; 0 for a run that is due)."""
    minute = parse_time(tick).replace(second=0, microsecond=0)
    found = []
    for group in groups:
        for moment in group.schedule.runs_between(minute, minute + MINUTE):
            delay = max(0, math.ceil(moment.timestamp() - now))
            found.append(Dispatch(group.name, iso(moment), delay))
    return found


@dataclass
class TickSummary:
    tick: str
    due: int = 0  # queued with no delay
    delayed: int = 0  # queued for later in the minute
    # every watched subject silent after this tick: stalled/<group>, and with locations
    # location-silent/<probe> (the home) or home-silent/<home> (a probe)
    stalled: list[str] = field(default_factory=list)
    alerts_raised: list[AlertDocument] = field(default_factory=list)
    alerts_sent: int = 0
    alerts_pending: int = 0
    duplicate: bool = False

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "tick": self.tick,
            "dispatched": {"due": self.due, "delayed": self.delayed},
            "stalled": list(self.stalled),
            "alerted": [
                {
                    "check": a.check,
                    "event": str(a.event),
                    "status": a.status,
                    "alert_id": a.alert_id,
                }
                for a in self.alerts_raised
            ],
            "alerts": {"sent": self.alerts_sent, "pending": self.alerts_pending},
        }
        if self.duplicate:
            out["duplicate"] = True
        return out


@dataclass(frozen=True)
class TickParts:
    """What a tick works with: the runner's groups, store and publisher, the run queue,
    and its clocks."""

    groups: dict[str, GroupConfig]
    store: StateStore
    publisher: outbox.Publisher
    enqueue: Callable[[list[tuple[dict[str, Any], int]]], None]  # (event, delay) each
    now: float
    time_left: Callable[[], float]
    sleep: Callable[[float], None]
    locations: Locations | None = None
    region: str | None = None
    home_store: StateStore | None = None  # a probe's view of the home's table


def run_tick(tick: str, parts: TickParts) -> TickSummary:
    """The tick's three steps; ``time_left()`` bounds the watch's saves and publishes."""
    runs = plan(parts.groups.values(), tick, parts.now)
    problem = None
    try:
        parts.enqueue([(d.event, d.delay_s) for d in runs])
    except Exception as exc:  # the watch still runs: it may be what tells of it
        logger.error("tick %s: dispatch failed: %s", tick, exc)
        problem = str(exc)[:500]
    due = sum(1 for d in runs if d.delay_s == 0)
    summary = TickSummary(tick, due=due, delayed=len(runs) - due)
    _watch(parts, tick, summary)
    logger.info(
        "tick %s: %d runs due, %d delayed, stalled: %s",
        tick,
        summary.due,
        summary.delayed,
        ", ".join(summary.stalled) or "none",
    )
    if problem:
        raise DispatchError(f"tick {tick}: {problem}")
    return summary


def _watch(parts: TickParts, tick: str, summary: TickSummary) -> None:
    store, now = parts.store, parts.now
    owner = uuid.uuid4().hex
    lease_until = now + max(1.0, parts.time_left())
    state = store.load_state(WATCH_GROUP, 0)
    for _ in range(WATCH_SAVES):
        if state.fence.holds(tick):  # a repeated tick: publish only what was left behind
            summary.duplicate = True
            if not any(alert.lease_until < now for alert in state.outbox):
                summary.alerts_pending = len(state.outbox)
                return
            leased = take_leases(state.outbox, owner, now, lease_until)
            try:
                state = store.save_state(replace(state, outbox=leased))
            except Exception as exc:  # a tick in progress holds the state: it delivers them
                logger.info("watch alerts left to the tick in progress (%s)", type(exc).__name__)
                return
            break
        subjects = _subjects(parts, state, tick)
        folded, alerts = watch(state, subjects, tick, owner=owner, now=now, lease_until=lease_until)
        try:
            state = store.save_state(folded)
        except StoreConflictError:
            state = store.load_state(WATCH_GROUP, 0)  # another tick judged meanwhile
            continue
        summary.alerts_raised = alerts
        break
    summary.stalled = sorted(name for name, s in state.checks.items() if s.status == "unhealthy")
    state, delivery = outbox.deliver(
        state, owner, store, parts.publisher, time_left=parts.time_left, sleep=parts.sleep
    )
    summary.alerts_sent, summary.alerts_pending = len(delivery.sent), delivery.pending


def _subjects(parts: TickParts, state: Any, tick: str) -> dict[str, Subject]:
    """What this stack watches: its groups (alone, or as the home) and each probe's
    observations (the home), or the home's runs (a probe)."""
    schedules = {name: group.schedule for name, group in parts.groups.items()}
    locations = parts.locations
    if locations is not None and locations.role(parts.region or "") == PROBE:
        assert parts.home_store is not None
        name = f"home-silent/{locations.home}"
        try:
            newest = _newest_runs(parts.home_store, parts.groups.values())
        except Exception:  # the home's region may be down: judged from what was last read
            logger.exception("the home's table could not be read (%s)", locations.home)
            newest = None
        what = f"the home ({locations.home})"
        return {name: silent_subject(state, name, what, schedules, newest, tick, every_group=False)}
    subjects = group_subjects(
        state, schedules, _newest_runs(parts.store, parts.groups.values()), tick
    )
    if locations is not None:
        seen = parts.store.locations_seen(
            list(locations.probes),
            [(g.name, shard) for g in parts.groups.values() for shard in range(g.shards)],
        )
        for probe in locations.probes:
            newest = {
                g.name: _behind([seen.get((probe, g.name, shard)) for shard in range(g.shards)])
                for g in parts.groups.values()
            }
            name = f"location-silent/{probe}"
            subjects[name] = silent_subject(
                state, name, f"probe {probe}", schedules, newest, tick, every_group=True
            )
    return subjects


def _behind(keys: list[str | None]) -> str | None:
    """The most behind of several run keys (None if one is missing)."""
    return None if None in keys or not keys else min(keys, key=parse_time)


def _newest_runs(store: Any, groups: Iterable[GroupConfig]) -> dict[str, str | None]:
    """Each group's newest counted run: its most behind shard's (None: one never ran)."""
    groups = list(groups)
    shards = [(group.name, shard) for group in groups for shard in range(group.shards)]
    found = store.newest_runs(shards)
    newest: dict[str, str | None] = {}
    for group in groups:
        newest[group.name] = _behind(
            [found.get((group.name, shard)) for shard in range(group.shards)]
        )
    return newest
