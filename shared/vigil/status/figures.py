"""The figures of the status API, from counts, rollups and transitions: pure functions.

Availability = passed (healthy + degraded) / judged (counted runs less
``error`` runs) in percent, 3 decimals; maintenance runs are not counted
(``vigil.rollups.in_maintenance``); ``None`` when nothing was judged. Latency
percentiles come from the rollups' sketches, 1 decimal. "The 7 days before" a
window are the 7 whole days before the day its first period falls on.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta

from vigil.results import UNKNOWN, Status
from vigil.rollups import Rollup, TransitionMark
from vigil.status.periods import CheckRollups, day_periods, sum_counts
from vigil.status.records import HourLatency, Incident
from vigil.times import parse_time

QUANTILES = {"p50": 0.5, "p95": 0.95, "p99": 0.99}
WORST_FIRST = (Status.UNHEALTHY, Status.ERROR, Status.DEGRADED, Status.HEALTHY, UNKNOWN)


def percent(judged: int, passed: int) -> float | None:
    """Availability in percent with 3 decimals; None when nothing was judged."""
    return None if judged <= 0 else round(100.0 * passed / judged, 3)


def worst(statuses: Iterable[str]) -> str:
    """The worst status: unhealthy > error > degraded > healthy > unknown."""
    present = set(statuses)
    return next((s for s in WORST_FIRST if s in present), UNKNOWN)


def latency(value: float | None) -> float | None:
    """A latency as the API shows it: 1 decimal, None without data."""
    return None if value is None else round(value, 1)


def percentiles(rollup: Rollup) -> dict[str, float | None]:
    """``{"p50", "p95", "p99"}`` of the rollup's sketch."""
    return {name: latency(rollup.quantile(q)) for name, q in QUANTILES.items()}


def latency_windows(
    hours: CheckRollups, days: CheckRollups, hour_window: list[str], today: date
) -> dict[str, dict[str, float | None]]:
    """Percentiles over the 24 hours of ``hour_window`` and the 7 and 30 days to ``today``."""
    return {
        "24h": percentiles(hours.merged(hour_window)),
        "7d": percentiles(days.merged(day_periods(today, 7))),
        "30d": percentiles(days.merged(day_periods(today, 30))),
    }


def hourly_latency(hours: CheckRollups, hour_window: list[str]) -> tuple[HourLatency, ...]:
    """p50 and p95 of each hour of ``hour_window`` (the page's chart)."""
    points = []
    for hour in hour_window:
        rollup = hours.merged([hour])
        points.append(
            HourLatency(hour, latency(rollup.quantile(0.5)), latency(rollup.quantile(0.95)))
        )
    return tuple(points)


def trend(
    hours: CheckRollups,
    days: CheckRollups,
    day_counts: dict[str, tuple[int, int]],
    hour_window: list[str],
    today: date,
    availability_7d: float | None,
) -> dict[str, float | None]:
    """``latency_p95_change``: 24 h p95 / p95 of the 7 days before the 24 h window's first
    day; ``availability_change``: 7 d availability minus the 7 days before, in points."""
    day_before_24h = date.fromisoformat(hour_window[0][:10]) - timedelta(days=1)
    p95_before = days.merged(day_periods(day_before_24h, 7)).quantile(0.95)
    p95_24h = hours.merged(hour_window).quantile(0.95)
    week_before = day_periods(today - timedelta(days=7), 7)
    availability_before = percent(*sum_counts(day_counts, week_before))
    return {
        "latency_p95_change": (
            round(p95_24h / p95_before, 3) if p95_24h is not None and p95_before else None
        ),
        "availability_change": (
            round(availability_7d - availability_before, 3)
            if availability_7d is not None and availability_before is not None
            else None
        ),
    }


def incidents_from(
    marks: Iterable[TransitionMark], now: datetime, *, since: datetime
) -> list[Incident]:
    """Incidents (newest first) from a check's confirmed transitions.

    A transition to a non-healthy status starts an incident (a change from one
    non-healthy status to another ends one and starts the next); a transition
    to ``healthy`` ends it. An incident still open lasts until ``now``. Only
    incidents that overlap ``[since, now]`` are returned.
    """
    incidents: list[Incident] = []
    current: TransitionMark | None = None

    def close(ended: str | None) -> None:
        assert current is not None
        end = parse_time(ended) if ended else now
        if end >= since:
            duration = max(0.0, (end - parse_time(current.at)).total_seconds())
            incidents.append(
                Incident(current.status, current.at, ended, round(duration, 1), current.reason)
            )

    for mark in sorted(marks, key=lambda m: m.at):
        if mark.status == Status.HEALTHY:
            if current is not None:
                close(mark.at)
                current = None
        elif current is None or current.status != mark.status:
            if current is not None:
                close(mark.at)
            current = mark
    if current is not None:
        close(None)
    incidents.reverse()
    return incidents
