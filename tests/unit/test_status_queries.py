"""Pure parts of the status queries: availability, worst status, incidents, windows."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from vigil.rollups import PeriodRollups, Rollup, TransitionMark
from vigil.status.figures import incidents_from, percent, worst
from vigil.status.periods import CheckRollups, day_periods, hour_periods

NOW = datetime(2026, 11, 28, 12, 30, tzinfo=UTC)
LONG_AGO = datetime(2026, 1, 1, tzinfo=UTC)


def mark(at: str, status: str, previous: str = "healthy", reason: str = "") -> TransitionMark:
    return TransitionMark(f"2026-11-28T{at}:00Z", status, previous, reason)


def test_percent():
    assert percent(0, 0) is None
    assert percent(3, 2) == 66.667
    assert percent(1440, 1440) == 100.0


@pytest.mark.parametrize(
    ("statuses", "expected"),
    [
        ([], "unknown"),
        (["unknown", "unknown"], "unknown"),
        (["healthy", "unknown"], "healthy"),
        (["healthy", "degraded"], "degraded"),
        (["degraded", "error"], "error"),
        (["error", "unhealthy", "healthy"], "unhealthy"),
    ],
)
def test_worst(statuses, expected):
    assert worst(statuses) == expected


def test_incidents_start_at_confirmation_and_end_at_recovery():
    marks = [
        mark("01:00", "unhealthy", "unknown", "refused"),  # from unknown: an incident
        mark("02:00", "healthy", "unhealthy"),
        mark("03:00", "degraded", "healthy", "slow"),
        mark("04:00", "unhealthy", "degraded", "500"),  # another status: the next incident
        mark("05:00", "healthy", "unhealthy"),
        mark("11:00", "error", "healthy", "secret missing"),  # still open
    ]
    incidents = incidents_from(reversed(marks), NOW, since=LONG_AGO)
    assert [(i.status, i.started[11:16], i.ended and i.ended[11:16]) for i in incidents] == [
        ("error", "11:00", None),
        ("unhealthy", "04:00", "05:00"),
        ("degraded", "03:00", "04:00"),
        ("unhealthy", "01:00", "02:00"),
    ]
    assert incidents[0].duration_s == 90 * 60  # open: until now
    assert incidents[1].duration_s == 3600 and incidents[1].reason == "500"


def test_incidents_outside_the_window_are_left_out():
    marks = [mark("01:00", "unhealthy"), mark("02:00", "healthy"), mark("03:00", "degraded")]
    since = datetime(2026, 11, 28, 2, 30, tzinfo=UTC)
    assert [i.status for i in incidents_from(marks, NOW, since=since)] == ["degraded"]


def test_windows_are_whole_periods_ending_now():
    hours = hour_periods(NOW, 24)
    assert hours[0] == "2026-11-27T13" and hours[-1] == "2026-11-28T12" and len(hours) == 24
    days = day_periods(date(2026, 3, 1), 3)
    assert days == ["2026-02-27", "2026-02-28", "2026-03-01"]


def test_a_checks_rollups_are_the_closed_periods_and_the_open_one():
    def period(name: str, **checks: int) -> PeriodRollups:
        return PeriodRollups("hour", name, {c: Rollup(runs=n) for c, n in checks.items()})

    closed = [period("2026-11-28T10", api=60, db=60), period("2026-11-28T11", db=60)]
    rollups = CheckRollups.of("api", closed, period("2026-11-28T12", api=30))
    assert {p: r.runs for p, r in rollups.by_period.items()} == {
        "2026-11-28T10": 60,
        "2026-11-28T12": 30,
    }
    assert rollups.merged(["2026-11-28T10", "2026-11-28T11", "2026-11-28T12"]).runs == 90
    assert rollups.merged(["2026-11-27T10"]).runs == 0
    # A closed period stored under the open one's name is the later word on it.
    again = CheckRollups.of(
        "api", [period("2026-11-28T12", api=60)], period("2026-11-28T12", api=1)
    )
    assert again.by_period["2026-11-28T12"].runs == 60
