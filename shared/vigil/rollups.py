"""Per-check rollups: counts, latency sum/max and a log-bucket latency sketch.

A rollup covers one period (an hour ``2026-11-28T10`` or a day ``2026-11-28``).
The sketch keeps counts in buckets whose bounds grow by ``GAMMA``, so any
quantile it reports is within about 5% of the true value, whatever the range,
in a few dozen integers per check.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from vigil.checks.base import CheckResult, Status

GAMMA = 1.1
_LOG_GAMMA = math.log(GAMMA)


def bucket_of(latency_ms: float) -> int:
    return max(0, math.ceil(math.log(max(latency_ms, 1.0)) / _LOG_GAMMA))


def bucket_value(bucket: int) -> float:
    """A representative latency for the bucket (the geometric middle of its bounds)."""
    if bucket == 0:
        return 1.0
    return 2 * GAMMA**bucket / (GAMMA + 1)


@dataclass
class Rollup:
    """Counters for one check over one period."""

    runs: int = 0
    healthy: int = 0
    degraded: int = 0
    failures: int = 0  # unhealthy observations
    errors: int = 0
    latency_sum: float = 0.0
    latency_max: float = 0.0
    latency_count: int = 0
    sketch: dict[int, int] = field(default_factory=dict)

    def add(self, result: CheckResult) -> None:
        self.runs += 1
        if result.status == Status.HEALTHY:
            self.healthy += 1
        elif result.status == Status.DEGRADED:
            self.degraded += 1
        elif result.status == Status.UNHEALTHY:
            self.failures += 1
        else:
            self.errors += 1
        if result.latency_ms is not None and result.status in (Status.HEALTHY, Status.DEGRADED):
            self.latency_sum += result.latency_ms
            self.latency_max = max(self.latency_max, result.latency_ms)
            self.latency_count += 1
            bucket = bucket_of(result.latency_ms)
            self.sketch[bucket] = self.sketch.get(bucket, 0) + 1

    def merge(self, other: Rollup) -> Rollup:
        sketch = dict(self.sketch)
        for bucket, count in other.sketch.items():
            sketch[bucket] = sketch.get(bucket, 0) + count
        return Rollup(
            runs=self.runs + other.runs,
            healthy=self.healthy + other.healthy,
            degraded=self.degraded + other.degraded,
            failures=self.failures + other.failures,
            errors=self.errors + other.errors,
            latency_sum=self.latency_sum + other.latency_sum,
            latency_max=max(self.latency_max, other.latency_max),
            latency_count=self.latency_count + other.latency_count,
            sketch=sketch,
        )

    @property
    def availability(self) -> float | None:
        """Share of runs where the target passed (healthy or degraded).

        Runs with status ``error`` are left out: the check could not tell.
        """
        judged = self.runs - self.errors
        return None if judged == 0 else (self.healthy + self.degraded) / judged

    def quantile(self, q: float) -> float | None:
        if self.latency_count == 0:
            return None
        rank = q * (self.latency_count - 1)
        seen = 0
        for bucket in sorted(self.sketch):
            seen += self.sketch[bucket]
            if seen > rank:
                return min(bucket_value(bucket), self.latency_max)
        return self.latency_max

    def to_dict(self) -> dict[str, Any]:
        return {
            "n": self.runs,
            "h": self.healthy,
            "d": self.degraded,
            "f": self.failures,
            "e": self.errors,
            "ls": round(self.latency_sum, 1),
            "lm": round(self.latency_max, 1),
            "lc": self.latency_count,
            "k": {str(b): c for b, c in sorted(self.sketch.items())},
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Rollup:
        return cls(
            runs=data.get("n", 0),
            healthy=data.get("h", 0),
            degraded=data.get("d", 0),
            failures=data.get("f", 0),
            errors=data.get("e", 0),
            latency_sum=data.get("ls", 0.0),
            latency_max=data.get("lm", 0.0),
            latency_count=data.get("lc", 0),
            sketch={int(b): c for b, c in data.get("k", {}).items()},
        )


@dataclass
class PeriodRollups:
    """The rollups of every check of a group (or shard) for one period."""

    kind: str  # "hour" or "day"
    period: str
    checks: dict[str, Rollup] = field(default_factory=dict)

    def add(self, result: CheckResult) -> None:
        self.checks.setdefault(result.check, Rollup()).add(result)

    def to_dict(self) -> dict[str, Any]:
        return {"p": self.period, "c": {name: r.to_dict() for name, r in self.checks.items()}}

    @classmethod
    def from_dict(cls, kind: str, data: dict[str, Any]) -> PeriodRollups:
        checks = {name: Rollup.from_dict(r) for name, r in data.get("c", {}).items()}
        return cls(kind=kind, period=data.get("p", ""), checks=checks)


def period_of(kind: str, iso_time: str) -> str:
    """``2026-11-28T10:01:00Z`` -> ``2026-11-28T10`` (hour) or ``2026-11-28`` (day)."""
    return iso_time[:13] if kind == "hour" else iso_time[:10]
