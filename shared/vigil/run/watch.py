"""The tick watches the schedule itself: a group whose runs stopped being counted.

A group is *stalled* at a tick when its newest counted run is older than the three runs
it should have counted before the tick, and at least three minutes old (for a group
never counted: the tick that first saw it in the configuration stands in for its newest
run; a sharded group is as late as its most behind shard). A group that becomes stalled
gets one ``monitor`` alert, ``group: "vigil"``, ``check: "stalled/<group>"``, ``status:
unhealthy``; one ``status: healthy`` follows when its runs are counted again (or when
the group leaves the configuration).

The watch keeps its own state in the store, as a group state of the pseudo-group
``~watch`` (no configured group can be named so): one ``CheckState`` per watched group
or location (``status`` stalled or not, ``since``, ``last_run`` = when the watch first
saw it; of a location, ``first_run`` = its newest run as last read), the fence of the
ticks it has judged, and the outbox of its alerts. So the watch's alerts are published
exactly as the runs' are (``vigil.run.outbox``), and a repeated tick judges nothing
twice.
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
    ``home-silent/<region>``): is it silent at this tick, and what to say either way.
    ``newest_seen``: a location's newest run (epoch seconds) as read at this tick,
    remembered in its state (``CheckState.first_run``) for a tick that cannot read it."""

    silent: bool
    down: str  # the reason when it goes silent
    up: str  # the reason when it comes back
    details: dict[str, Any]
    newest_seen: float | None = None


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
    newest: dict[str, str | None] | None,
    tick: str,
    *,
    every_group: bool,
) -> Subject:
    """A location (``what``) gone silent, from each group's newest run there (a group it
    never ran counts from when the watch first saw the location).

    ``every_group`` (a probe, watched by the home, which has no watch of its own
    groups): silent as soon as one group is stalled there, and the reason names them.
    Otherwise (the home, watched by a probe; the home watches its own groups): silent
    when its newest run of any group is stalled for its most frequent group, so a
    stalled group of a live home is told once, by the home's own ``stalled/<group>``.
    ``newest`` None: the location's table could not be read (its region may be down);
    its newest run is then the one this watch saw last.
    """
    moment = parse_time(tick)
    _, first_seen = newest_or_first_seen(state, name, None, moment)
    if newest is None:
        assert not every_group, "a probe's runs are read from the home's own table"
        remembered = state.checks[name].first_run if name in state.checks else None
        runs = {"": datetime.fromtimestamp(remembered, moment.tzinfo)} if remembered else {}
        latest = iso(runs[""]) if remembered else None
    else:
        runs = {g: parse_time(newest[g]) if newest.get(g) else first_seen for g in newest}
        latest = max(filter(None, newest.values()), default=None, key=parse_time)
    if every_group:
        behind = [
            group
            for group, schedule in schedules.items()
            if stalled(schedule, runs.get(group, first_seen), moment)
        ]
        down = (
            f"{what} has stopped running {', '.join(behind)}: {STALLED_RUNS} runs missed "
            f"(newest run of any group there: {latest or 'never'})"
        )
    else:
        newest_any = max(runs.values(), default=first_seen)
        behind = [g for g, sched in schedules.items() if stalled(sched, newest_any, moment)]
        down = (
            f"{what} has run no group for {STALLED_RUNS} of its runs: "
            f"newest run {latest or 'never'}"
        )
    return Subject(
        bool(behind),
        down,
        f"{what} runs again: newest run {latest}",
        {"newest_run": latest, "stalled_groups": behind},
        parse_time(latest).timestamp() if latest else None,
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
        if subject.newest_seen is not None:
            current = current._replace(first_run=subject.newest_seen)
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
