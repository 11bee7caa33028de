"""What one check found on one run, and the statuses it can have: records every layer reads.

A leaf module (the standard library only): the state machine, the store, the rollups
and the status API read results without importing the checks' machinery (ssl, thread
pools, redaction, pydantic models).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

UNKNOWN = "unknown"  # confirmed status of a check that has not been confirmed yet


class Status(StrEnum):
    HEALTHY = "healthy"
    DEGRADED = "degraded"
    UNHEALTHY = "unhealthy"
    ERROR = "error"


# The statuses of a check that fails: the target (unhealthy) or the check itself (error).
FAILING = frozenset((Status.UNHEALTHY, Status.ERROR))


@dataclass(frozen=True)
class CheckResult:
    """The outcome of one check on one run; ``status`` is what this run observed.

    ``observed`` is False when the run's deadline cut the check short: such a
    result is reported but does not count toward thresholds. ``maintenance`` is
    True for a run inside a maintenance window: it counts toward thresholds but
    is alerted on by nobody and left out of availability.
    """

    check: str
    status: Status
    reason: str
    latency_ms: float | None = None
    details: dict[str, Any] = field(default_factory=dict)
    observed: bool = True
    lag_ms: float | None = None
    maintenance: bool = False  # run inside a maintenance window: stored, not alerted

    def summary(self) -> dict[str, Any]:
        """The JSON-serialisable form returned by the handler."""
        out: dict[str, Any] = {
            "check": self.check,
            "status": str(self.status),
            "latency_ms": None if self.latency_ms is None else round(self.latency_ms, 1),
            "reason": self.reason,
        }
        if self.details:
            out["details"] = self.details
        if not self.observed:
            out["counted"] = False
        if self.maintenance:
            out["maintenance"] = True
        return out
