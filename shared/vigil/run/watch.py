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


def judge(
    state: GroupState,
    schedules: dict[str, Schedule],
    newest: dict[str, str | None],
    tick: str,
) -> tuple[dict[str, CheckState], list[AlertDocument]]:
    """Each watched group's new state and the alerts its changes make (pure).

    ``newest``: each configured group's newest counted run key (None: never counted).
    """
    moment = parse_time(tick)
    checks: dict[str, CheckState] = {}
    alerts: list[AlertDocument] = []
    for group, schedule in schedules.items():
        current = state.checks.get(group) or CheckState(UNKNOWN, last_run=moment.timestamp())
        first_seen = datetime.fromtimestamp(current.last_run or moment.timestamp(), moment.tzinfo)
        newest_run = parse_time(newest[group]) if newest.get(group) else first_seen
        status = Status.UNHEALTHY if stalled(schedule, newest_run, moment) else Status.HEALTHY
        if status == current.status:
            checks[group] = current
            continue
        checks[group] = current._replace(status=status, since=tick)
        if current.status == UNKNOWN and status == Status.HEALTHY:
            continue  # first seen, running: nothing to say
        previous = Status.HEALTHY if current.status == UNKNOWN else current.status
        if status == Status.UNHEALTHY:
            since = (
                iso(newest_run) if newest.get(group) else f"never (watched since {iso(first_seen)})"
            )
            reason = (
                f"group {group} has counted no run since {since}: {STALLED_RUNS} runs "
                f"({schedule.describe()}) and at least {MIN_SILENCE.seconds // 60} minutes missed"
            )
        else:
            reason = f"group {group} is running again: newest counted run {newest.get(group)}"
        alerts.append(_alert(group, status, previous, tick, reason, newest.get(group), schedule))
    for group, current in state.checks.items():  # groups no longer configured
        if group not in schedules and current.status == Status.UNHEALTHY:
            reason = f"group {group} is no longer in the configuration"
            alerts.append(_alert(group, Status.HEALTHY, Status.UNHEALTHY, tick, reason, None, None))
    return checks, alerts


def watch(
    state: GroupState,
    schedules: dict[str, Schedule],
    newest: dict[str, str | None],
    tick: str,
    *,
    owner: str,
    now: float,
    lease_until: float,
) -> tuple[GroupState, list[AlertDocument]]:
    """The watch's next state (its alerts in the outbox, leased to ``owner``) and the alerts."""
    checks, alerts = judge(state, schedules, newest, tick)
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
    group: str,
    status: str,
    previous: str,
    tick: str,
    reason: str,
    newest: str | None,
    schedule: Schedule | None,
) -> AlertDocument:
    check = f"stalled/{group}"
    details = {"group": group, "newest_run": newest}
    if schedule is not None:
        details["schedule"] = schedule.describe()
    return AlertDocument(
        event=AlertEvent.MONITOR,
        group=MONITOR_GROUP,
        check=check,
        status=str(status),
        previous_status=str(previous),
        timestamp=tick,
        reason=reason,
        alert_id=alert_id(MONITOR_GROUP, check, f"monitor-{status}", tick),
        details=details,
    )
