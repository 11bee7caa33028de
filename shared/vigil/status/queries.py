"""The status API's queries: what to read from the store for each answer.

Everything is read from the store, never by scanning raw history for a long
window:

- a shard's ``STATE`` gives each check's confirmed status, ``since``, the
  scheduled time of its last run and the rollups of the open hour and day;
- its ``CountHistory`` items give availability counts of the last 24 closed
  hours and 90 closed days, and the transitions incidents are made of;
- the run record of a check's last run gives its last latency and reason;
- the detail of one check also reads the hour and day rollups of its shard for
  the latency sketches (24 h, 30 d) and the newest run records for ``recent``.

The windows are in ``vigil.status.periods``, the figures in
``vigil.status.figures``, the records answered in ``vigil.status.records``.
Every time shown is a run's scheduled time.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from vigil.config import GroupConfig, VigilConfig
from vigil.rollups import Rollup, TransitionMark
from vigil.sharding import shard_of
from vigil.state import CheckState
from vigil.status.closed_rollups import ClosedRollupCache
from vigil.status.cursor import make_cursor, read_cursor
from vigil.status.exceptions import BadRequestError, NotFoundError
from vigil.status.figures import (
    hourly_latency,
    incidents_from,
    latency_windows,
    percent,
    trend,
    worst,
)
from vigil.status.periods import (
    BAR_DAYS,
    HOURS_IN_DAY_WINDOW,
    WINDOW_DAYS,
    CheckRollups,
    counts_of,
    day_periods,
    hour_periods,
    sum_counts,
)
from vigil.status.records import (
    CheckDetail,
    CheckSummary,
    GroupSummary,
    HeartbeatInfo,
    HistoryPage,
    Incident,
    RunPoint,
    StatusOverview,
)
from vigil.store.base import RunRecord, ShardSnapshot, StateStore
from vigil.times import iso, parse_time

if TYPE_CHECKING:
    from vigil.store.pings import PingStore

INCIDENT_DAYS = 90
INCIDENT_LIMIT = 50
RECENT_RUNS = 60
RECENT_PAGES = 5  # pages of run records searched for a check that does not run every time
HISTORY_PAGE = 1440
HISTORY_RUNS_READ = 1440  # run records read at most for one history page (a day of minutes)
RUNS_PER_QUERY = 200
# The times a request may name: a year before 1970 or past 9998 is no run's, and near the
# ends of datetime's range a default window (24 h before ``to``) would overflow.
EARLIEST_TIME = datetime(1970, 1, 1, tzinfo=UTC)
LATEST_TIME = datetime(9998, 12, 31, tzinfo=UTC)


def _moment(ms: int | None) -> datetime | None:
    return None if ms is None else datetime.fromtimestamp(ms / 1000, UTC)


class StatusQueries:
    """Answers the status API from a config (what exists) and a store (what happened).

    ``clock`` gives "now" (epoch seconds) for the windows; read-only. An instance
    keeps the closed rollups of the checks whose detail it answered
    (``ClosedRollupCache``): keep one per container to read them once.
    """

    def __init__(
        self,
        config: VigilConfig,
        store: StateStore,
        *,
        clock: Callable[[], float] = time.time,
        pings: PingStore | None = None,
    ):
        """``pings``: heartbeat checks' pings (their last ping, expected by, duration)."""
        self.config = config
        self.store = store
        self.clock = clock
        self.pings = pings
        self.closed_rollups = ClosedRollupCache(store)

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
        hours = hour_periods(self.now(), HOURS_IN_DAY_WINDOW)
        merged: dict[str, Rollup] = {}
        for shard, snapshot in self._snapshots(group).items():
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
        shards = self._snapshots(group)
        summary = self._summaries(group, shards, now, only=check_name, with_days=True)[check_name]
        shard = self._shard_of(shards, check_name)
        snapshot = shards[shard]
        hour_window = hour_periods(now, HOURS_IN_DAY_WINDOW)
        hours, days = self._check_rollups(group.name, shard, snapshot, check_name, now)
        day_counts = counts_of(snapshot.days, snapshot.state.day, check_name)
        return CheckDetail(
            summary=summary,
            latency=latency_windows(hours, days, hour_window, now.date()),
            trend=trend(
                hours, days, day_counts, hour_window, now.date(), summary.availability["7d"]
            ),
            incidents=self._incidents(snapshot, check_name, now),
            recent=tuple(self._recent(group.name, shard, check_name)),
            hourly=hourly_latency(hours, hour_window),
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
        after = read_cursor(cursor, start_key, end_key) if cursor else None
        shard = self._shard_of(self._snapshots(group), check_name)
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
                point = RunPoint.of(record, check_name)
                if point is not None:
                    results.append(point)
                if len(results) == HISTORY_PAGE or read == HISTORY_RUNS_READ:
                    last = record.run_key
                    more = last != records[-1].run_key or next_key is not None
                    return HistoryPage(
                        tuple(results), make_cursor(last, start_key, end_key) if more else None
                    )
            if next_key is None:
                return HistoryPage(tuple(results), None)

    # what exists -------------------------------------------------------------------------
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

    # reads -------------------------------------------------------------------------------
    def _snapshots(self, group: GroupConfig) -> dict[int, ShardSnapshot]:
        """Each shard's snapshot of one group, by shard."""
        snapshots = self.store.shard_snapshots([(group.name, s) for s in range(group.shards)])
        return {s: snapshots[(group.name, s)] for s in range(group.shards)}

    @staticmethod
    def _shard_of(shards: dict[int, ShardSnapshot], check: str) -> int:
        """The shard that runs the check now (a shard it ran in before K changed may
        still hold its old state until that shard runs again)."""
        return shard_of(check, len(shards))

    def _check_rollups(
        self, group: str, shard: int, snapshot: ShardSnapshot, check: str, now: datetime
    ) -> tuple[CheckRollups, CheckRollups]:
        """The check's hour rollups of the 24 h window and day rollups of the 30 d window
        (the closed ones read from the store only once per container)."""
        first_hour = hour_periods(now, HOURS_IN_DAY_WINDOW)[0]
        first_day = day_periods(now.date(), WINDOW_DAYS["30d"])[0]
        state = snapshot.state
        read = self.closed_rollups.check_rollups
        hours = read(group, shard, "hour", first_hour, check, state.hour)
        days = read(group, shard, "day", first_day, check, state.day)
        return CheckRollups.of(check, hours, state.hour), CheckRollups.of(check, days, state.day)

    @staticmethod
    def _incidents(snapshot: ShardSnapshot, check: str, now: datetime) -> tuple[Incident, ...]:
        """The check's incidents of the last 90 days, newest first, at most 50: from the
        transitions of the closed days and of the open hour and day."""
        marks: list[TransitionMark] = []
        if snapshot.days is not None:
            marks += snapshot.days.transitions.get(check, [])
        for rollups in (snapshot.state.hour, snapshot.state.day):
            if rollups is not None:
                marks += rollups.transitions.get(check, [])
        unique = {(m.at, m.status): m for m in marks}
        since = now - timedelta(days=INCIDENT_DAYS)
        return tuple(incidents_from(unique.values(), now, since=since)[:INCIDENT_LIMIT])

    def _recent(self, group: str, shard: int, check: str) -> list[RunPoint]:
        """The check's last ``RECENT_RUNS`` results, newest first."""
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
                point = RunPoint.of(record, check)
                if point is not None:
                    points.append(point)
            if len(points) >= RECENT_RUNS or after is None:
                break
        return points[:RECENT_RUNS]

    # summaries -----------------------------------------------------------------------------
    def _summaries(
        self,
        group: GroupConfig,
        shards: dict[int, ShardSnapshot],
        now: datetime,
        *,
        only: str | None = None,
        with_days: bool = False,
    ) -> dict[str, CheckSummary]:
        """The summary of each check of the group (or only of ``only``)."""
        owners = self._owners(group, shards)
        names = [c.name for c in group.checks if only is None or c.name == only]
        last_runs = self._last_runs(group.name, shards, owners, names)
        heartbeats = self._heartbeats(group, shards, owners, names, now)
        hours = hour_periods(now, HOURS_IN_DAY_WINDOW)
        bar = day_periods(now.date(), BAR_DAYS)
        out = {}
        for name in names:
            snapshot = shards[owners[name]] if name in owners else None
            state = snapshot.state.checks[name] if snapshot else CheckState()
            last_run, point = last_runs.get(name, (None, None))
            hour_counts = counts_of(snapshot.hours, snapshot.state.hour, name) if snapshot else {}
            day_counts = counts_of(snapshot.days, snapshot.state.day, name) if snapshot else {}
            availability = {"24h": percent(*sum_counts(hour_counts, hours))}
            for window, days in WINDOW_DAYS.items():
                availability[window] = percent(*sum_counts(day_counts, bar[-days:]))
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
                heartbeat=heartbeats.get(name),
                locations=point.locations if point else (),
            )
        return out

    def _heartbeats(
        self,
        group: GroupConfig,
        shards: dict[int, ShardSnapshot],
        owners: dict[str, int],
        names: list[str],
        now: datetime,
    ) -> dict[str, HeartbeatInfo]:
        """The heartbeat checks among ``names`` as their pings stand now (one read)."""
        configs = {c.name: c for c in group.checks if c.name in names and c.type == "heartbeat"}
        if not configs or self.pings is None:
            return {}
        found = {}
        for name, summary in self.pings.summaries(group.name, list(configs)).items():
            state = shards[owners[name]].state.checks[name] if name in owners else None
            first = state.first_run if state is not None and state.first_run else None
            success = _moment(summary.success_ms)
            start = success or (datetime.fromtimestamp(first, UTC) if first else None)
            expected = configs[name].expected_after(start) if start else None
            found[name] = HeartbeatInfo(
                last_ping=iso(_moment(summary.last_ping_ms)) if summary.last_ping_ms else None,
                last_success=iso(success) if success else None,
                expected_by=iso(expected) if expected else None,
                last_duration_ms=summary.duration_ms,
            )
        return found

    @staticmethod
    def _owners(group: GroupConfig, shards: dict[int, ShardSnapshot]) -> dict[str, int]:
        """The shard of each check whose state the shard that runs it now knows."""
        owners: dict[str, int] = {}
        for check in group.checks:
            shard = shard_of(check.name, len(shards))
            if check.name in shards[shard].state.checks:
                owners[check.name] = shard
        return owners

    def _last_runs(
        self,
        group: str,
        shards: dict[int, ShardSnapshot],
        owners: dict[str, int],
        names: list[str],
    ) -> dict[str, tuple[str, RunPoint | None]]:
        """The run key and result of each named check's last run (one batch read per
        shard); a check that never ran is left out."""
        last_keys: dict[int, dict[str, str]] = {}
        for name in names:
            if name in owners:
                state = shards[owners[name]].state.checks[name]
                if state.last_run is not None:
                    key = iso(datetime.fromtimestamp(state.last_run, UTC))
                    last_keys.setdefault(owners[name], {})[name] = key
        out: dict[str, tuple[str, RunPoint | None]] = {}
        for shard, keys in last_keys.items():
            records: dict[str, RunRecord] = self.store.runs_at(group, shard, list(keys.values()))
            for name, key in keys.items():
                record = records.get(key)
                out[name] = (key, RunPoint.of(record, name) if record else None)
        return out
