"""The tick watches the schedule itself: a group whose runs stopped being counted.

A group is *stalled* at a tick when its newest counted run is older than the three
runs it should have counted before the tick, and at least three minutes old (for a
group never counted: the tick that first saw it in the configuration stands in for
its newest run; a sharded group is as late as its most behind shard). A group that
becomes stalled gets one ``monitor`` alert, ``group: "vigil"``, ``check:
"stalled/<group>"``, ``status: unhealthy``; one ``status: healthy`` follows when
its runs are counted again (or when the group leaves the configuration).

The watch keeps its own state in the store, as a group state of the pseudo-group
``~watch`` (no configured group can be named so): one ``CheckState`` per watched
group (``status`` stalled or not, ``since``, ``last_run`` = when the watch first saw
the group), the fence of the ticks it has judged, and the outbox of its alerts. So
the watch's alerts are published exactly as the runs' are (``vigil.run.outbox``),
and a repeated tick judges nothing twice.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from vigil.alerts.document import AlertDocument, AlertEvent, alert_id
from vigil.results import UNKNOWN, Status
from vigil.schedule import Schedule
from vigil.state import CheckState
from vigil.store import outbox
from vigil.store.base import GroupState
from vigil.times import iso, iso_from_epoch, parse_time

WATCH_GROUP = "~watch"
MONITOR_GROUP = "vigil"
STALLED_RUNS = 3  # runs missed in a row
MIN_SILENCE = timedelta(minutes=3)


def stalled(schedule: Schedule, newest: datetime, tick: datetime) -> bool:
    """Whether a group whose newest counted run is ``newest`` is stalled at ``tick``."""
    expected = schedule.expected_before(tick, STALLED_RUNS)
    oldest_missed = expected[-1] if len(expected) == STALLED_RUNS else tick
    return newest < min(oldest_missed, tick - MIN_SILENCE)


class Subject(NamedTuple):
    """One thing the watch alerts on (``stalled/<group>``, ``location-silent/<region>``,
    ``home-silent/<region>``): is it silent at this tick, and what to say either way."""

    silent: bool
    down: str  # the reason when it goes silent
    up: str  # the reason when it comes back
    details: dict[str, Any]


def newest_or_first_seen(
    state: GroupState, name: str, newest: str | None, moment: datetime
) -> tuple[datetime, datetime]:
    """A subject's newest run (or, never run, when the watch first saw it) and that first
    sighting (kept in its ``CheckState.last_run``)."""
    current = state.checks.get(name)
    first = current.last_run if current is not None and current.last_run else moment.timestamp()
    first_seen = datetime.fromtimestamp(first, moment.tzinfo)
    return (parse_time(newest) if newest else first_seen), first_seen


def group_subjects(
    state: GroupState,
    schedules: dict[str, Schedule],
    newest: dict[str, str | None],
    tick: str,
) -> dict[str, Subject]:
    """``stalled/<group>`` for each configured group, from its newest counted run."""
    moment = parse_time(tick)
    found = {}
    for group, schedule in schedules.items():
        name = f"stalled/{group}"
        newest_run, first_seen = newest_or_first_seen(state, name, newest.get(group), moment)
        since = iso(newest_run) if newest.get(group) else f"never (watched since {iso(first_seen)})"
        found[name] = Subject(
            stalled(schedule, newest_run, moment),
            f"group {group} has counted no run since {since}: {STALLED_RUNS} runs "
            f"({schedule.describe()}) and at least {MIN_SILENCE.seconds // 60} minutes missed",
            f"group {group} is running again: newest counted run {newest.get(group)}",
            {"group": group, "newest_run": newest.get(group), "schedule": schedule.describe()},
        )
    return found


def silent_subject(
    state: GroupState,
    name: str,
    what: str,
    schedules: dict[str, Schedule],
    newest: dict[str, str | None],
    tick: str,
) -> Subject:
    """A location (``what``) is silent when every group's newest run there is stalled (a
    group it never ran counts from when the watch first saw the location)."""
    moment = parse_time(tick)
    _, first_seen = newest_or_first_seen(state, name, None, moment)
    silent = bool(schedules) and all(
        stalled(schedule, parse_time(newest[group]) if newest.get(group) else first_seen, moment)
        for group, schedule in schedules.items()
    )
    latest = max(filter(None, newest.values()), default=None, key=parse_time)
    return Subject(
        silent,
        f"{what} has run no group for {STALLED_RUNS} of its runs: newest run {latest or 'never'}",
        f"{what} runs again: newest run {latest}",
        {"newest_run": latest},
    )


def judge(
    state: GroupState, subjects: dict[str, Subject], tick: str
) -> tuple[dict[str, CheckState], list[AlertDocument]]:
    """Each subject's new state and the alerts its changes make (pure): one when it goes
    silent, one when it comes back (or is no longer watched)."""
    moment = parse_time(tick)
    checks: dict[str, CheckState] = {}
    alerts: list[AlertDocument] = []
    for name, subject in subjects.items():
        current = state.checks.get(name) or CheckState(UNKNOWN, last_run=moment.timestamp())
        status = Status.UNHEALTHY if subject.silent else Status.HEALTHY
        if status == current.status:
            checks[name] = current
            continue
        checks[name] = current._replace(status=status, since=tick)
        if current.status == UNKNOWN and status == Status.HEALTHY:
            continue  # first seen, running: nothing to say
        previous = Status.HEALTHY if current.status == UNKNOWN else current.status
        reason = subject.down if subject.silent else subject.up
        alerts.append(_alert(name, status, previous, tick, reason, subject.details))
    for name, current in state.checks.items():  # no longer watched (left the configuration)
        if name not in subjects and current.status == Status.UNHEALTHY:
            reason = f"{name.partition('/')[2]} is no longer in the configuration"
            alerts.append(_alert(name, Status.HEALTHY, Status.UNHEALTHY, tick, reason, {}))
    return checks, alerts


def watch(
    state: GroupState,
    subjects: dict[str, Subject],
    tick: str,
    *,
    owner: str,
    now: float,
    lease_until: float,
) -> tuple[GroupState, list[AlertDocument]]:
    """The watch's next state (its alerts in the outbox, leased to ``owner``) and the alerts."""
    checks, alerts = judge(state, subjects, tick)
    pending = outbox.take_leases(state.outbox, owner, now, lease_until)
    pending = outbox.append(pending, alerts, owner, lease_until)
    return (
        replace(
            state,
            checks=checks,
            outbox=pending,
            fence=state.fence.add(tick, owner),
            updated_at=iso_from_epoch(now),
            last_run_key=tick,
        ),
        alerts,
    )


def _alert(
    check: str, status: str, previous: str, tick: str, reason: str, details: dict[str, Any]
) -> AlertDocument:
    return AlertDocument(
        event=AlertEvent.MONITOR,
        group=MONITOR_GROUP,
        check=check,
        status=str(status),
        previous_status=str(previous),
        timestamp=tick,
        reason=reason,
        alert_id=alert_id(MONITOR_GROUP, check, f"monitor-{status}", tick),
        details=dict(details),
    )
