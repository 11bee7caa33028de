"""What the handler returns: ``RunSummary.to_dict()``, JSON-serialisable.

``{"group", "scheduled_time", "results": [{"check", "status", "latency_ms",
"reason", ...}], ...}`` where ``status`` is the status observed on this run.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

from vigil.alerts.document import AlertDocument
from vigil.results import CheckResult
from vigil.state import Transition


class RunSummary(NamedTuple):
    """One run, as the handler reports it (a named tuple: made on every cold start's
    import, its class costs a fraction of a frozen dataclass's)."""

    group: str
    scheduled_time: str | None
    results: Sequence[CheckResult] = ()
    shard: int | None = None  # set for a group with shards
    not_due: Sequence[str] = ()
    transitions: Sequence[Transition] = ()
    alerts_raised: Sequence[AlertDocument] = ()  # by this run's policy
    alerts_sent: int = 0
    alerts_pending: int = 0
    duration_ms: float | None = None
    lag_ms_max: float | None = None
    location: dict[str, Any] | None = None  # with locations: this stack's role and region
    duplicate: bool = False  # a repeated delivery: nothing counted
    stale: bool = False  # more than a day behind the newest counted run: nothing counted
    history_saved: bool = True
    fanned_out_shards: int | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "group": self.group,
            "scheduled_time": self.scheduled_time,
            "results": [r.summary() for r in self.results],
        }
        if self.fanned_out_shards is not None:
            out.update(fanned_out=True, shards=self.fanned_out_shards)
            return out
        if self.shard is not None:
            out["shard"] = self.shard
        if self.location is not None:
            out["location"] = dict(self.location)
        if self.not_due:
            out["not_due"] = list(self.not_due)
        if self.duplicate or self.stale:
            out["duplicate" if self.duplicate else "stale"] = True
        else:
            # The loop lag seen by each check while it ran: a bound on its latency's error.
            out["lag_ms"] = {r.check: r.lag_ms for r in self.results if r.lag_ms is not None}
            out["lag_ms_max"] = self.lag_ms_max
            out["transitions"] = [
                {
                    "check": t.check,
                    "event": str(t.event),
                    "status": t.status,
                    "previous_status": t.previous_status,
                }
                for t in self.transitions
            ]
            # the alerts this run's policy raised (published now, or pending)
            out["alerted"] = [
                {
                    "check": a.check,
                    "event": str(a.event),
                    "severity": a.severity,
                    "status": a.status,
                    "alert_id": a.alert_id,
                }
                for a in self.alerts_raised
            ]
        out["alerts"] = {"sent": self.alerts_sent, "pending": self.alerts_pending}
        if not self.history_saved:
            out["history_saved"] = False
        if self.duration_ms is not None:
            out["duration_ms"] = round(self.duration_ms, 1)
        return out
