"""The typed records the status API answers with, and their JSON.

Immutable value records as ``NamedTuple``s: the status function imports them on every
cold start, and a named tuple's class is made several times faster than a frozen
dataclass's (which compiles each of its generated methods: about 0.7 ms a class here).
"""

from __future__ import annotations

from typing import Any, NamedTuple

from vigil.store.base import RunRecord


class HeartbeatInfo(NamedTuple):
    """A heartbeat check's pings as of now: the last ping, when one is expected by (the
    last success, or the first run, plus its period or cron), the last run's duration."""

    last_ping: str | None
    last_success: str | None
    expected_by: str | None
    last_duration_ms: int | None

    def to_json(self) -> dict[str, Any]:
        return {
            "last_ping": self.last_ping,
            "last_success": self.last_success,
            "expected_by": self.expected_by,
            "last_duration_ms": self.last_duration_ms,
        }


class LocationView(NamedTuple):
    """One location's own result of a check's last run (with locations): its status,
    latency and reason; ``status`` None where it did not report in time."""

    region: str
    status: str | None
    latency_ms: float | None
    reason: str | None

    @classmethod
    def all_of(cls, details: dict[str, Any]) -> tuple[LocationView, ...]:
        """Each location of a combined result's ``details["locations"]``, home first."""
        views = []
        for region, seen in (details.get("locations") or {}).items():
            seen = seen if isinstance(seen, dict) else {}
            views.append(
                cls(region, seen.get("status"), seen.get("latency_ms"), seen.get("reason"))
            )
        return tuple(views)

    def to_json(self) -> dict[str, Any]:
        return {
            "region": self.region,
            "status": self.status,
            "latency_ms": self.latency_ms,
            "reason": self.reason,
        }


class CheckSummary(NamedTuple):
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
    heartbeat: HeartbeatInfo | None = None  # for a heartbeat check
    locations: tuple[LocationView, ...] = ()  # the last run's, with locations

    def to_json(self) -> dict[str, Any]:
        out = {
            "check": self.check,
            "status": self.status,
            "since": self.since,
            "last_run": self.last_run,
            "latency_ms": self.latency_ms,
            "reason": self.reason,
            "availability": dict(self.availability),
        }
        if self.heartbeat is not None:
            out["heartbeat"] = self.heartbeat.to_json()
        if self.locations:
            out["locations"] = [view.to_json() for view in self.locations]
        return out


class GroupSummary(NamedTuple):
    group: str
    status: str
    checks: tuple[CheckSummary, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "group": self.group,
            "status": self.status,
            "checks": [c.to_json() for c in self.checks],
        }


class StatusOverview(NamedTuple):
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


class Incident(NamedTuple):
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


class RunPoint(NamedTuple):
    """One run of one check: its scheduled time, observed status, latency and reason."""

    time: str
    status: str
    latency_ms: float | None
    reason: str
    locations: tuple[LocationView, ...] = ()

    @classmethod
    def of(cls, record: RunRecord, check: str) -> RunPoint | None:
        """``check``'s result in the run record, or None if it did not run then."""
        for result in record.results:
            if result.check == check:
                latency = None if result.latency_ms is None else round(result.latency_ms, 1)
                views = LocationView.all_of(result.details)
                return cls(record.run_key, str(result.status), latency, result.reason, views)
        return None


class HourLatency(NamedTuple):
    hour: str
    p50: float | None
    p95: float | None


class CheckDetail(NamedTuple):
    """``GET /api/checks/{group}/{check}``."""

    summary: CheckSummary
    latency: dict[str, dict[str, float | None]]
    trend: dict[str, float | None]
    incidents: tuple[Incident, ...]
    recent: tuple[RunPoint, ...]
    hourly: tuple[HourLatency, ...] = ()  # the page's chart

    def to_json(self) -> dict[str, Any]:
        out = {"group": self.summary.group, **self.summary.to_json()}
        out["latency_ms"] = {w: dict(q) for w, q in self.latency.items()}
        out["trend"] = dict(self.trend)
        out["incidents"] = [i.to_json() for i in self.incidents]
        out["recent"] = [
            {"time": r.time, "status": r.status, "latency_ms": r.latency_ms} for r in self.recent
        ]
        return out


class HistoryPage(NamedTuple):
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
