"""The figures of the status API: availability, latency percentiles, incidents, trends, history.

Everything is read from the store, never by scanning raw history for a long
window:

- a shard's ``STATE`` gives each check's confirmed status, ``since``, the
  scheduled time of its last run and the rollups of the open hour and day;
- its ``CountHistory`` items give availability counts of the last 24 closed
  hours and 90 closed days, and the transitions incidents are made of;
- the run record of a check's last run gives its last latency and reason;
- the detail of one check also reads the hour and day rollups of its shard for
  the latency sketches (24 h, 30 d) and the newest run records for ``recent``.

Windows are whole periods ending with the current one (the clock's hour or
day): ``24h`` = the current hour and the 23 before it, ``7d``/``30d``/``90d``
= today and the 6/29/89 days before. "The 7 days before" a window are the 7
whole days before the day its first period falls on. Availability = passed
(healthy + degraded) / judged (counted runs less ``error`` runs) in percent,
3 decimals; maintenance runs are not counted (``vigil.rollups.in_maintenance``);
``None`` when nothing was judged. Every time shown is a run's scheduled time.
"""

from __future__ import annotations

import base64
import binascii
import json
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from vigil.config import GroupConfig, VigilConfig
from vigil.results import UNKNOWN, Status
from vigil.rollups import CountHistory, PeriodRollups, Rollup, TransitionMark
from vigil.sharding import shard_of
from vigil.state import CheckState
from vigil.store.base import RunRecord, ShardSnapshot, StateStore
from vigil.times import iso, parse_time

AVAILABILITY_WINDOWS = ("24h", "7d", "30d", "90d")
LATENCY_WINDOWS = ("24h", "7d", "30d")
QUANTILES = {"p50": 0.5, "p95": 0.95, "p99": 0.99}
WINDOW_DAYS = {"7d": 7, "30d": 30, "90d": 90}
HOURS_IN_DAY_WINDOW = 24
BAR_DAYS = 90  # days of the status page's availability bar
INCIDENT_DAYS = 90
INCIDENT_LIMIT = 50
RECENT_RUNS = 60
RECENT_PAGES = 5  # pages of run records searched for a check that does not run every time
HISTORY_PAGE = 1440
HISTORY_RUNS_READ = 1440  # run records read at most for one history page (a day of minutes)
RUNS_PER_QUERY = 200
MAX_CURSOR_CHARS = 512  # ours are about 120; a longer one is refused before it is decoded
# The times a request may name: a year before 1970 or past 9998 is no run's, and near the
# ends of datetime's range a default window (24 h before ``to``) would overflow.
EARLIEST_TIME = datetime(1970, 1, 1, tzinfo=UTC)
LATEST_TIME = datetime(9998, 12, 31, tzinfo=UTC)
WORST_FIRST = (Status.UNHEALTHY, Status.ERROR, Status.DEGRADED, Status.HEALTHY, UNKNOWN)


class StatusQueryError(Exception):
    """A request the status API refuses; ``str()`` is the message for the caller."""

    status_code = 400


class NotFoundError(StatusQueryError):
    """An unknown group or check (the message names what exists)."""

    status_code = 404


class BadRequestError(StatusQueryError):
    """A parameter that cannot be used (the message says which and what was expected)."""

    status_code = 400


# ------------------------------------------------------------------------------ records
@dataclass(frozen=True)
class CheckSummary:
    """One check as ``GET /api/status`` shows it (plus the page's 90-day bar)."""

    group: str
    check: str
    status: str
    since: str | None
    last_run: str | None
    latency_ms: float | None
    reason: str | None
    availability: dict[str, float | None]
    # (day, availability) of the last 90 days, oldest first; only where asked for (the page)
    days: tuple[tuple[str, float | None], ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "check": self.check,
            "status": self.status,
            "since": self.since,
            "last_run": self.last_run,
            "latency_ms": self.latency_ms,
            "reason": self.reason,
            "availability": dict(self.availability),
        }


@dataclass(frozen=True)
class GroupSummary:
    group: str
    status: str
    checks: tuple[CheckSummary, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "group": self.group,
            "status": self.status,
            "checks": [c.to_json() for c in self.checks],
        }


@dataclass(frozen=True)
class StatusOverview:
    """``GET /api/status``: the worst confirmed status, and every group and check."""

    status: str
    updated_at: str | None
    groups: tuple[GroupSummary, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "updated_at": self.updated_at,
            "groups": [g.to_json() for g in self.groups],
        }


@dataclass(frozen=True)
class Incident:
    """A confirmed non-healthy period of one status; ``ended`` is None while it lasts."""

    status: str
    started: str
    ended: str | None
    duration_s: float
    reason: str

    def to_json(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "started": self.started,
            "ended": self.ended,
            "duration_s": self.duration_s,
            "reason": self.reason,
        }


@dataclass(frozen=True)
class RunPoint:
    """One run of one check: its scheduled time, observed status, latency and reason."""

    time: str
    status: str
    latency_ms: float | None
    reason: str


@dataclass(frozen=True)
class HourLatency:
    hour: str
    p50: float | None
    p95: float | None


@dataclass(frozen=True)
class CheckDetail:
    """``GET /api/checks/{group}/{check}``."""

    summary: CheckSummary
    latency: dict[str, dict[str, float | None]]
    trend: dict[str, float | None]
    incidents: tuple[Incident, ...]
    recent: tuple[RunPoint, ...]
    hourly: tuple[HourLatency, ...] = field(default=())  # the page's chart

    def to_json(self) -> dict[str, Any]:
        out = {"group": self.summary.group, **self.summary.to_json()}
        out["latency_ms"] = {w: dict(q) for w, q in self.latency.items()}
        out["trend"] = dict(self.trend)
        out["incidents"] = [i.to_json() for i in self.incidents]
        out["recent"] = [
            {"time": r.time, "status": r.status, "latency_ms": r.latency_ms} for r in self.recent
        ]
        return out


@dataclass(frozen=True)
class HistoryPage:
    """``GET /api/checks/{group}/{check}/history``: oldest first, ``next`` to continue."""

    results: tuple[RunPoint, ...]
    next: str | None

    def to_json(self) -> dict[str, Any]:
        return {
            "results": [
                {"time": r.time, "status": r.status, "latency_ms": r.latency_ms, "reason": r.reason}
                for r in self.results
            ],
            "next": self.next,
        }


# ------------------------------------------------------------------------------ figures
def percent(judged: int, passed: int) -> float | None:
    """Availability in percent with 3 decimals; None when nothing was judged."""
    return None if judged <= 0 else round(100.0 * passed / judged, 3)


def worst(statuses: Iterable[str]) -> str:
    """The worst status: unhealthy > error > degraded > healthy > unknown."""
    present = set(statuses)
    return next((s for s in WORST_FIRST if s in present), UNKNOWN)


def percentiles(rollup: Rollup) -> dict[str, float | None]:
    out: dict[str, float | None] = {}
    for name, q in QUANTILES.items():
        value = rollup.quantile(q)
        out[name] = None if value is None else round(value, 1)
    return out


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


# ------------------------------------------------------------------------------ time
def hour_periods(now: datetime, count: int) -> list[str]:
    """The ``count`` hour periods ending with ``now``'s, oldest first."""
    hour = now.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    return [(hour - timedelta(hours=i)).strftime("%Y-%m-%dT%H") for i in range(count - 1, -1, -1)]


def day_periods(last: date, count: int) -> list[str]:
    """The ``count`` day periods ending with ``last``, oldest first."""
    return [(last - timedelta(days=i)).isoformat() for i in range(count - 1, -1, -1)]


# ------------------------------------------------------------------------------ queries
class StatusQueries:
    """Answers the status API from a config (what exists) and a store (what happened).

    ``clock`` gives "now" (epoch seconds) for the windows; read-only.
    """

    def __init__(
        self,
        config: VigilConfig,
        store: StateStore,
        *,
        clock: Callable[[], float] = time.time,
    ):
        self.config = config
        self.store = store
        self.clock = clock

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.clock(), UTC)

    # overview ------------------------------------------------------------------------
    def overview(self, *, with_days: bool = False) -> StatusOverview:
        """Every group and check: confirmed status, last run, availability windows.

        ``with_days`` also fills each check's ``days`` (the page's 90-day bar).
        """
        groups = list(self.config.groups.values())
        snapshots = self.store.shard_snapshots(
            [(g.name, s) for g in groups for s in range(g.shards)]
        )
        now = self.now()
        summaries = []
        for group in groups:
            shards = {s: snapshots[(group.name, s)] for s in range(group.shards)}
            checks = tuple(self._summaries(group, shards, now, with_days=with_days).values())
            summaries.append(GroupSummary(group.name, worst(c.status for c in checks), checks))
        updated = [s.state.last_run_key for s in snapshots.values() if s.state.last_run_key]
        return StatusOverview(
            status=worst(g.status for g in summaries),
            updated_at=max(updated) if updated else None,
            groups=tuple(summaries),
        )

    def latency_p95_24h(self, group_name: str) -> dict[str, float | None]:
        """Each check's 24 h latency p95 in one group (what ``vigil status`` shows)."""
        group = self._group(group_name)
        now = self.now()
        hours = hour_periods(now, HOURS_IN_DAY_WINDOW)
        snapshots = self.store.shard_snapshots([(group.name, s) for s in range(group.shards)])
        merged: dict[str, Rollup] = {}
        for (_, shard), snapshot in snapshots.items():
            periods = self.store.get_rollups(group.name, shard, "hour", hours[0])
            if snapshot.state.hour is not None:
                periods.append(snapshot.state.hour)
            for period in periods:
                if period.period in hours:
                    for name, rollup in period.checks.items():
                        merged[name] = merged.get(name, Rollup()).merge(rollup)
        return {
            c.name: merged[c.name].quantile(0.95) if c.name in merged else None
            for c in group.checks
        }

    # one check -----------------------------------------------------------------------
    def check_detail(self, group_name: str, check_name: str) -> CheckDetail:
        """One check: summary, latency percentiles, trends, incidents and recent runs.

        Raises ``NotFoundError`` for an unknown group or check.
        """
        group = self._group(group_name)
        self._check(group, check_name)
        now = self.now()
        snapshots = self.store.shard_snapshots([(group.name, s) for s in range(group.shards)])
        shards = {s: snapshots[(group.name, s)] for s in range(group.shards)}
        summary = self._summaries(group, shards, now, only=check_name, with_days=True)[check_name]
        shard = self._shard_of(shards, check_name)
        snapshot = shards[shard]

        today = now.date()
        hours = hour_periods(now, HOURS_IN_DAY_WINDOW)
        first_day = today - timedelta(days=WINDOW_DAYS["30d"] - 1)
        hour_rollups = self._with_open(
            self.store.check_rollups(group.name, shard, "hour", hours[0], check_name),
            snapshot.state.hour,
        )
        day_rollups = self._with_open(
            self.store.check_rollups(group.name, shard, "day", first_day.isoformat(), check_name),
            snapshot.state.day,
        )

        def merged(rollups: dict[str, PeriodRollups], periods: Iterable[str]) -> Rollup:
            total = Rollup()
            for period in periods:
                if period in rollups and check_name in rollups[period].checks:
                    total = total.merge(rollups[period].checks[check_name])
            return total

        latency = {
            "24h": percentiles(merged(hour_rollups, hours)),
            "7d": percentiles(merged(day_rollups, day_periods(today, 7))),
            "30d": percentiles(merged(day_rollups, day_periods(today, 30))),
        }
        day_before_24h = date.fromisoformat(hours[0][:10]) - timedelta(days=1)
        p95_before = merged(day_rollups, day_periods(day_before_24h, 7)).quantile(0.95)
        p95_24h = merged(hour_rollups, hours).quantile(0.95)
        week_before = day_periods(today - timedelta(days=7), 7)
        counts = self._day_counts(snapshot, check_name)
        availability_before = percent(*_sum_counts(counts, week_before))
        availability_7d = summary.availability["7d"]
        trend = {
            "latency_p95_change": (
                round(p95_24h / p95_before, 3) if p95_24h is not None and p95_before else None
            ),
            "availability_change": (
                round(availability_7d - availability_before, 3)
                if availability_7d is not None and availability_before is not None
                else None
            ),
        }
        marks = list(snapshot.days.transitions.get(check_name, [])) if snapshot.days else []
        for rollups in (snapshot.state.hour, snapshot.state.day):
            if rollups is not None:
                marks += rollups.transitions.get(check_name, [])
        unique = {(m.at, m.status): m for m in marks}
        incidents = incidents_from(unique.values(), now, since=now - timedelta(days=INCIDENT_DAYS))[
            :INCIDENT_LIMIT
        ]
        hourly = tuple(
            HourLatency(
                hour,
                *(
                    None if v is None else round(v, 1)
                    for v in (
                        merged(hour_rollups, [hour]).quantile(0.5),
                        merged(hour_rollups, [hour]).quantile(0.95),
                    )
                ),
            )
            for hour in hours
        )
        return CheckDetail(
            summary=summary,
            latency=latency,
            trend=trend,
            incidents=tuple(incidents),
            recent=tuple(self._recent(group.name, shard, check_name)),
            hourly=hourly,
        )

    def history(
        self,
        group_name: str,
        check_name: str,
        *,
        start: str | None = None,
        end: str | None = None,
        cursor: str | None = None,
    ) -> HistoryPage:
        """A check's results with scheduled time in ``[start, end]``, oldest first.

        ``end`` defaults to now, ``start`` to 24 h before ``end``. A page holds at
        most 1440 results; ``next`` (or None) is sent back as ``cursor`` with the
        same ``start``/``end``. Raises ``NotFoundError``/``BadRequestError``.
        """
        group = self._group(group_name)
        self._check(group, check_name)
        end_time = self._param_time("to", end) if end else self.now()
        start_time = self._param_time("from", start) if start else end_time - timedelta(hours=24)
        if start_time > end_time:
            raise BadRequestError(
                f"'from' ({iso(start_time)}) must not be after 'to' ({iso(end_time)})"
            )
        start_key, end_key = iso(start_time), iso(end_time)
        after = _read_cursor(cursor, start_key, end_key) if cursor else None
        snapshots = self.store.shard_snapshots([(group.name, s) for s in range(group.shards)])
        shard = self._shard_of(
            {s: snapshots[(group.name, s)] for s in range(group.shards)}, check_name
        )
        results: list[RunPoint] = []
        read = 0
        next_key: str | None = after
        while True:
            records, next_key = self.store.runs_between(
                group.name,
                shard,
                start_key,
                end_key,
                newest_first=False,
                limit=RUNS_PER_QUERY,
                after=next_key,
                check=check_name,
            )
            for record in records:
                read += 1
                point = _point(record, check_name)
                if point is not None:
                    results.append(point)
                if len(results) == HISTORY_PAGE or read == HISTORY_RUNS_READ:
                    last = record.run_key
                    more = last != records[-1].run_key or next_key is not None
                    return HistoryPage(
                        tuple(results), _make_cursor(last, start_key, end_key) if more else None
                    )
            if next_key is None:
                return HistoryPage(tuple(results), None)

    # helpers -------------------------------------------------------------------------
    def _group(self, name: str) -> GroupConfig:
        group = self.config.groups.get(name)
        if group is None:
            known = ", ".join(sorted(self.config.groups)) or "none"
            raise NotFoundError(f"unknown group {name!r}; groups: {known}")
        return group

    @staticmethod
    def _check(group: GroupConfig, name: str) -> None:
        names = [c.name for c in group.checks]
        if name not in names:
            raise NotFoundError(
                f"unknown check {name!r} in group {group.name!r}; checks: {', '.join(names)}"
            )

    @staticmethod
    def _param_time(name: str, value: str) -> datetime:
        try:
            moment = parse_time(value)
        except ValueError:
            raise BadRequestError(
                f"{name!r} must be an ISO 8601 time like 2026-11-28T10:00:00Z, got {value[:60]!r}"
            ) from None
        if not EARLIEST_TIME <= moment <= LATEST_TIME:
            raise BadRequestError(
                f"{name!r} must be between {iso(EARLIEST_TIME)} and {iso(LATEST_TIME)}, "
                f"got {value[:60]!r}"
            )
        return moment

    @staticmethod
    def _shard_of(shards: dict[int, ShardSnapshot], check: str) -> int:
        """The shard that runs the check now (a shard it ran in before K changed may
        still hold its old state until that shard runs again)."""
        return shard_of(check, len(shards))

    @staticmethod
    def _with_open(
        closed: list[PeriodRollups], open_rollups: PeriodRollups | None
    ) -> dict[str, PeriodRollups]:
        by_period = {r.period: r for r in closed}
        if open_rollups is not None:
            by_period.setdefault(open_rollups.period, open_rollups)
        return by_period

    @staticmethod
    def _day_counts(snapshot: ShardSnapshot, check: str) -> dict[str, tuple[int, int]]:
        return _counts(snapshot.days, snapshot.state.day, check)

    def _summaries(
        self,
        group: GroupConfig,
        shards: dict[int, ShardSnapshot],
        now: datetime,
        *,
        only: str | None = None,
        with_days: bool = False,
    ) -> dict[str, CheckSummary]:
        hours = hour_periods(now, HOURS_IN_DAY_WINDOW)
        bar = day_periods(now.date(), BAR_DAYS)
        owners: dict[str, int] = {}
        for check in group.checks:  # the shard that runs it now, if its state knows it
            shard = shard_of(check.name, len(shards))
            if check.name in shards[shard].state.checks:
                owners[check.name] = shard
        names = [c.name for c in group.checks if only is None or c.name == only]
        # The results of each check's last run: one batch read per shard.
        last_keys: dict[int, dict[str, str]] = {}
        for name in names:
            if name in owners:
                state = shards[owners[name]].state.checks[name]
                if state.last_run is not None:
                    key = iso(datetime.fromtimestamp(state.last_run, UTC))
                    last_keys.setdefault(owners[name], {})[name] = key
        runs: dict[int, dict[str, RunRecord]] = {
            shard: self.store.runs_at(group.name, shard, list(keys.values()))
            for shard, keys in last_keys.items()
        }
        out = {}
        for name in names:
            shard = owners.get(name)
            snapshot = shards[shard] if shard is not None else None
            state = snapshot.state.checks[name] if snapshot else CheckState()
            last_run = last_keys.get(shard, {}).get(name) if shard is not None else None
            point = None
            if last_run is not None:
                record = runs[shard].get(last_run)
                point = _point(record, name) if record else None
            hour_counts = _counts(snapshot.hours, snapshot.state.hour, name) if snapshot else {}
            day_counts = _counts(snapshot.days, snapshot.state.day, name) if snapshot else {}
            availability = {"24h": percent(*_sum_counts(hour_counts, hours))}
            for window, days in WINDOW_DAYS.items():
                availability[window] = percent(*_sum_counts(day_counts, bar[-days:]))
            out[name] = CheckSummary(
                group=group.name,
                check=name,
                status=state.status,
                since=state.since,
                last_run=last_run,
                latency_ms=point.latency_ms if point else None,
                reason=point.reason if point else None,
                availability=availability,
                days=(
                    tuple((day, percent(*day_counts.get(day, (0, 0)))) for day in bar)
                    if with_days
                    else ()
                ),
            )
        return out

    def _recent(self, group: str, shard: int, check: str) -> list[RunPoint]:
        points: list[RunPoint] = []
        after: str | None = None
        for _ in range(RECENT_PAGES):
            records, after = self.store.runs_between(
                group,
                shard,
                "0",
                "9",
                newest_first=True,
                limit=RECENT_RUNS,
                after=after,
                check=check,
            )
            for record in records:
                point = _point(record, check)
                if point is not None:
                    points.append(point)
            if len(points) >= RECENT_RUNS or after is None:
                break
        return points[:RECENT_RUNS]


def _counts(
    history: CountHistory | None, open_rollups: PeriodRollups | None, check: str
) -> dict[str, tuple[int, int]]:
    """``period -> (judged, passed)`` of one check: closed periods and the open one."""
    counts = dict(history.of_check(check)) if history is not None else {}
    if open_rollups is not None and check in open_rollups.checks:
        rollup = open_rollups.checks[check]
        counts.setdefault(open_rollups.period, (rollup.judged, rollup.passed))
    return counts


def _sum_counts(counts: dict[str, tuple[int, int]], periods: Iterable[str]) -> tuple[int, int]:
    judged = passed = 0
    for period in periods:
        j, p = counts.get(period, (0, 0))
        judged += j
        passed += p
    return judged, passed


def _point(record: RunRecord, check: str) -> RunPoint | None:
    for result in record.results:
        if result.check == check:
            latency = None if result.latency_ms is None else round(result.latency_ms, 1)
            return RunPoint(record.run_key, str(result.status), latency, result.reason)
    return None


def _make_cursor(after: str, start: str, end: str) -> str:
    raw = json.dumps({"a": after, "f": start, "t": end}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _read_cursor(cursor: str, start: str, end: str) -> str:
    """The run key a page ends on, from a cursor this API returned for ``start``..``end``.

    Anything else is a ``BadRequestError``: a cursor too long to be ours, not our
    encoding, or naming a run key that is not a time inside the range (which DynamoDB
    would refuse as a start key, or read outside the range the caller asked for).
    """
    unknown = BadRequestError(
        "'cursor' is not one this API returned; send back the 'next' of the previous page"
    )
    if len(cursor) > MAX_CURSOR_CHARS:
        raise unknown
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()))
        after, cursor_start, cursor_end = data["a"], data["f"], data["t"]
        if not all(isinstance(v, str) for v in (after, cursor_start, cursor_end)):
            raise ValueError
        after_time = parse_time(after)
    except (ValueError, KeyError, TypeError, binascii.Error, OverflowError):
        raise unknown from None
    if (cursor_start, cursor_end) != (start, end):
        raise BadRequestError(
            "'cursor' belongs to another range: send the same 'from' and 'to' as the page "
            f"that returned it ({cursor_start} to {cursor_end})"
        )
    if iso(after_time) != after or not start <= after <= end:
        raise unknown
    return after
