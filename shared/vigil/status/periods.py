"""Windows as lists of hour and day periods, and one check's counts and rollups over them.

Windows are whole periods ending with the current one (the clock's hour or
day): ``24h`` = the current hour and the 23 before it, ``7d``/``30d``/``90d``
= today and the 6/29/89 days before. A period is named as the rollups name it:
``yyyy-mm-ddThh`` for an hour, ``yyyy-mm-dd`` for a day.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from vigil.rollups import CountHistory, PeriodRollups, Rollup

AVAILABILITY_WINDOWS = ("24h", "7d", "30d", "90d")
LATENCY_WINDOWS = ("24h", "7d", "30d")
WINDOW_DAYS = {"7d": 7, "30d": 30, "90d": 90}
HOURS_IN_DAY_WINDOW = 24
BAR_DAYS = 90  # days of the status page's availability bar


def hour_periods(now: datetime, count: int) -> list[str]:
    """The ``count`` hour periods ending with ``now``'s, oldest first."""
    hour = now.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    return [(hour - timedelta(hours=i)).strftime("%Y-%m-%dT%H") for i in range(count - 1, -1, -1)]


def day_periods(last: date, count: int) -> list[str]:
    """The ``count`` day periods ending with ``last``, oldest first."""
    return [(last - timedelta(days=i)).isoformat() for i in range(count - 1, -1, -1)]


def counts_of(
    history: CountHistory | None, open_rollups: PeriodRollups | None, check: str
) -> dict[str, tuple[int, int]]:
    """``period -> (judged, passed)`` of one check: closed periods and the open one."""
    counts = dict(history.of_check(check)) if history is not None else {}
    if open_rollups is not None and check in open_rollups.checks:
        rollup = open_rollups.checks[check]
        counts.setdefault(open_rollups.period, (rollup.judged, rollup.passed))
    return counts


def sum_counts(counts: dict[str, tuple[int, int]], periods: Iterable[str]) -> tuple[int, int]:
    """``(judged, passed)`` summed over ``periods`` (a period without counts adds nothing)."""
    judged = passed = 0
    for period in periods:
        j, p = counts.get(period, (0, 0))
        judged += j
        passed += p
    return judged, passed


@dataclass(frozen=True)
class CheckRollups:
    """One check's rollups of one kind (hour or day), by period."""

    by_period: dict[str, Rollup]

    @classmethod
    def of(
        cls, check: str, closed: Iterable[PeriodRollups], open_rollups: PeriodRollups | None
    ) -> CheckRollups:
        """``check``'s rollups in the closed periods and the open one (a closed period
        stored under the open one's name wins: it is the later word on that period)."""
        periods = {r.period: r for r in closed}
        if open_rollups is not None:
            periods.setdefault(open_rollups.period, open_rollups)
        return cls({p: r.checks[check] for p, r in periods.items() if check in r.checks})

    def merged(self, periods: Iterable[str]) -> Rollup:
        """The check's rollups of ``periods`` merged (an empty ``Rollup`` if none has one)."""
        total = Rollup()
        for period in periods:
            if period in self.by_period:
                total = total.merge(self.by_period[period])
        return total


def next_period(kind: str, period: str) -> str:
    """The hour or day period after ``period``; ``ValueError`` if it is not one."""
    if kind == "hour":
        hour = datetime.strptime(period, "%Y-%m-%dT%H") + timedelta(hours=1)
        return hour.strftime("%Y-%m-%dT%H")
    if kind == "day":
        return (date.fromisoformat(period) + timedelta(days=1)).isoformat()
    raise ValueError(f"period kind must be 'hour' or 'day', got {kind!r}")
