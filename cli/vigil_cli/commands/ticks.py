"""How a played tick looks on screen (``vigil run`` and the demo).

A tick (``vigil_cli.local.event_sources``) lands in steps: the tick itself, then
each time the run queue delivers: the runs due at once, then each later run at its
time (with the shard runs each fans out to). Each step is shown as it lands: the
tick as one line (what it dispatched, what it found stalled), the runs as one table
per scheduled time, saying how they came and when.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta

from vigil.config import GroupConfig
from vigil.times import parse_time
from vigil_cli.local.event_sources import INVOKE, QUEUE, Delivery
from vigil_cli.screen import Screen
from vigil_cli.screen.views import GroupRun, clock, show_runs

HOW = {INVOKE: "asynchronous Invoke", QUEUE: "run queue"}


def wall_clock(epoch: float) -> str:
    """``17:13:23.4`` (UTC) of a wall-clock time."""
    return datetime.fromtimestamp(epoch, UTC).strftime("%H:%M:%S.%f")[:10]


def minute_plan(groups: Iterable[GroupConfig], minute: datetime) -> str:
    """Which groups run in ``minute`` and how often: ``core 1 run, fast 6 runs; not this
    minute: databases (every 5m)``."""
    running, idle = [], []
    for group in groups:
        count = len(group.schedule.runs_between(minute, minute + timedelta(minutes=1)))
        if count:
            running.append(f"{group.name} {count} run{'s' * (count != 1)}")
        else:
            idle.append(f"{group.name} ({group.schedule.describe()})")
    text = ", ".join(running) or "no group"
    return text + (f"; not this minute: {', '.join(idle)}" if idle else "")


def tick_line(tick: Delivery, *, show_wall_clock: bool = True) -> str:
    """What a tick did: ``tick 17:13:00Z (sent 17:13:23.4, 23 s into its minute): 4 runs
    due and 3 delayed on the run queue; nothing stalled``. A tick sent into its minute
    queues the runs already past as due."""
    summary = tick.invocation.summary or {}
    sent = ""
    if show_wall_clock:
        into = tick.runner_now - parse_time(tick.scheduled_time or "").timestamp()
        late = f", {into:.0f} s into its minute" if into >= 1 else ""
        sent = f" (sent {wall_clock(tick.delivered_at)}{late})"
    dispatched = summary.get("dispatched") or {}
    due, delayed = dispatched.get("due", 0), dispatched.get("delayed", 0)
    line = (
        f"tick {clock(tick.scheduled_time)}{sent}: {due} run{'s' * (due != 1)} due and "
        f"{delayed} delayed on the run queue; "
    )
    stalled = summary.get("stalled") or []
    line += f"stalled: {', '.join(stalled)}" if stalled else "nothing stalled"
    if summary.get("duplicate"):
        line += " (a repeated tick: its runs were sent again, its watch judged nothing twice)"
    return line


def show_tick(screen: Screen, tick: Delivery, *, show_wall_clock: bool = True) -> None:
    if tick.invocation.error is not None:
        error = tick.invocation.error
        screen.problem(f"  the tick failed: {type(error).__name__}: {error}")
        return
    screen.line(f"  {tick_line(tick, show_wall_clock=show_wall_clock)}", "dim")


def landing_runs(landing: list[Delivery], groups: Mapping[str, GroupConfig]) -> list[GroupRun]:
    """The landing's runs of configured groups, as the views show them."""
    return [
        GroupRun(groups[d.group], d.shard, d.invocation, d.state)
        for d in landing
        if d.group in groups
    ]


def show_landing(
    screen: Screen,
    landing: list[Delivery],
    groups: Mapping[str, GroupConfig],
    *,
    show_wall_clock: bool = True,
) -> list[GroupRun]:
    """One table per scheduled time of the landing's runs, saying how they came (and when,
    by the wall clock, and how long after their time); returns the runs shown."""
    shown: list[GroupRun] = []
    by_time: dict[tuple[str, str], list[Delivery]] = {}
    for delivery in landing:
        by_time.setdefault((delivery.scheduled_time or "", delivery.source), []).append(delivery)
    for (scheduled, source), deliveries in by_time.items():
        runs = landing_runs(deliveries, groups)
        names = ", ".join(dict.fromkeys(d.group or "?" for d in deliveries))
        how = HOW.get(source, source)
        if source == QUEUE and show_wall_clock:
            first = deliveries[0]
            late = first.runner_now - parse_time(scheduled).timestamp()
            how += f", delivered {wall_clock(first.delivered_at)} ({late:+.1f} s)"
        show_runs(screen, f"{clock(scheduled)} · {names} · {how}", runs)
        shown += runs
    return shown


def missing_line(missing: list[tuple[str, str]]) -> str:
    runs = ", ".join(f"{group} {clock(when)}" for group, when in missing)
    return f"  not delivered by the run queue in time: {runs}"
