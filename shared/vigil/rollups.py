"""Per-check rollups: counts, latency sum/max, a latency sketch (DDSketch), transitions.

A rollup covers one period (an hour ``2026-11-28T10`` or a day ``2026-11-28``).
The latency sketch is DDSketch (Masson, Rim and Lee, "DDSketch: a fast and
fully-mergeable quantile sketch with relative-error guarantees", VLDB 2019): a
latency x falls in bucket ``ceil(log_gamma(x))``, so bucket bounds grow by
``GAMMA`` = 1.1, and a reported quantile is the bucket's representative value
``2 * gamma**i / (gamma + 1)``, within the relative accuracy
``SKETCH_RELATIVE_ERROR`` = (gamma - 1) / (gamma + 1) = 4.76 % of the true one,
whatever the range (latencies under 1 ms share bucket 0). Sketches merge by adding
counts, so a day is its hours merged. Buckets are never collapsed: a check's
latencies span a few dozen buckets at most (1 ms to 1 h is 159).

``PeriodRollups`` also keeps the confirmed transitions of its period (what
incidents are made of). ``CountHistory`` is the compact view the status API
reads: the availability counts of every check for the last N periods (no
sketches) and the transitions in them, in one small item per shard.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from vigil.results import CheckResult, Status
from vigil.state import Transition

GAMMA = 1.1
_LOG_GAMMA = math.log(GAMMA)
# The largest relative distance from a bucket's representative value to its bounds.
SKETCH_RELATIVE_ERROR = (GAMMA - 1) / (GAMMA + 1)
REASON_LIMIT = 200  # characters of a transition's reason kept for incidents
HOURS_KEPT = 24  # closed hours a CountHistory keeps: the 24 h window needs 23 and the open one
DAYS_KEPT = 90  # closed days: the 90 d window needs 89 and the open one


def bucket_of(latency_ms: float) -> int:
    return max(0, math.ceil(math.log(max(latency_ms, 1.0)) / _LOG_GAMMA))


def bucket_value(bucket: int) -> float:
    """A representative latency for the bucket (the geometric middle of its bounds)."""
    if bucket == 0:
        return 1.0
    return 2 * GAMMA**bucket / (GAMMA + 1)


def in_maintenance(result: CheckResult) -> bool:
    """True for a result taken inside a maintenance window: left out of every figure."""
    return result.maintenance


@dataclass(eq=False)  # mutable state: identity, not value, equality (and cheaper to create)
class Rollup:
    """Counters for one check over one period.

    ``runs`` counts the observed runs outside maintenance; ``maintenance`` the
    runs inside a maintenance window, which count nowhere else.
    """

    runs: int = 0
    healthy: int = 0
    degraded: int = 0
    failures: int = 0  # unhealthy observations
    errors: int = 0
    latency_sum: float = 0.0
    latency_max: float = 0.0
    latency_count: int = 0
    sketch: dict[int, int] = field(default_factory=dict)
    maintenance: int = 0

    def add(self, result: CheckResult) -> None:
        if in_maintenance(result):
            self.maintenance += 1
            return
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

    def copy(self) -> Rollup:
        """An independent copy (``add`` on it leaves this one as it is)."""
        return Rollup(
            self.runs,
            self.healthy,
            self.degraded,
            self.failures,
            self.errors,
            self.latency_sum,
            self.latency_max,
            self.latency_count,
            dict(self.sketch),
            self.maintenance,
        )

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
            maintenance=self.maintenance + other.maintenance,
        )

    @property
    def judged(self) -> int:
        """Runs that say something about the target: counted runs less ``error`` runs."""
        return self.runs - self.errors

    @property
    def passed(self) -> int:
        """Runs where the target passed (healthy or degraded)."""
        return self.healthy + self.degraded

    @property
    def availability(self) -> float | None:
        """Share of runs where the target passed (healthy or degraded).

        Runs with status ``error`` are left out: the check could not tell.
        """
        return None if self.judged == 0 else self.passed / self.judged

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
        out = {
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
        if self.maintenance:
            out["m"] = self.maintenance
        return out

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
            maintenance=data.get("m", 0),
        )


class TransitionMark(NamedTuple):
    """What incidents need of one confirmed transition of a check.

    ``at`` is the scheduled time of the run that confirmed ``status``.
    """

    at: str
    status: str
    previous_status: str
    reason: str

    def to_list(self) -> list[str]:
        return [self.at, self.status, self.previous_status, self.reason]

    @classmethod
    def from_list(cls, row: list[str]) -> TransitionMark:
        return cls(*row[:4])


@dataclass(eq=False)  # mutable state: identity, not value, equality (and cheaper to create)
class PeriodRollups:
    """The rollups of every check of a group (or shard) for one period.

    ``transitions`` holds each check's confirmed transitions in the period, in
    the order they were recorded.
    """

    kind: str  # "hour" or "day"
    period: str
    checks: dict[str, Rollup] = field(default_factory=dict)
    transitions: dict[str, list[TransitionMark]] = field(default_factory=dict)

    def add(self, result: CheckResult) -> None:
        self.checks.setdefault(result.check, Rollup()).add(result)

    def copy(self) -> PeriodRollups:
        """An independent copy: adding to it or recording on it leaves this one as it is."""
        return PeriodRollups(
            kind=self.kind,
            period=self.period,
            checks={name: rollup.copy() for name, rollup in self.checks.items()},
            transitions={name: list(marks) for name, marks in self.transitions.items()},
        )

    def record_transition(self, transition: Transition) -> None:
        """Keep what incidents need of a confirmed transition (once per check and time)."""
        mark = TransitionMark(
            at=transition.at,
            status=str(transition.status),
            previous_status=str(transition.previous_status),
            reason=(transition.reason or "")[:REASON_LIMIT],
        )
        marks = self.transitions.setdefault(transition.check, [])
        if not any(m.at == mark.at and m.status == mark.status for m in marks):
            marks.append(mark)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "p": self.period,
            "c": {name: r.to_dict() for name, r in self.checks.items()},
        }
        if self.transitions:
            out["t"] = {
                name: [m.to_list() for m in marks] for name, marks in self.transitions.items()
            }
        return out

    @classmethod
    def from_dict(
        cls, kind: str, data: dict[str, Any], *, only: str | None = None
    ) -> PeriodRollups:
        """The rollups in ``data``; with ``only``, just that check's (a cheaper read of one)."""
        wanted = (lambda name: True) if only is None else (lambda name: name == only)
        checks = {
            name: Rollup.from_dict(r) for name, r in data.get("c", {}).items() if wanted(name)
        }
        transitions = {
            name: [TransitionMark.from_list(row) for row in rows]
            for name, rows in data.get("t", {}).items()
            if wanted(name)
        }
        return cls(kind=kind, period=data.get("p", ""), checks=checks, transitions=transitions)


@dataclass(eq=False)  # mutable state: identity, not value, equality (and cheaper to create)
class CountHistory:
    """Availability counts of every check of a shard for its last ``keep`` closed periods.

    The compact companion of the ``HOUR``/``DAY`` rollups: per period and check
    only ``(judged, passed)`` (see ``Rollup.judged``/``Rollup.passed``), no
    latency sketch, plus each check's transitions from the oldest kept period on
    (and the last one before it, which says how the oldest period began).
    ``absorb`` is idempotent: absorbing the same closed period twice changes nothing.
    """

    kind: str  # "hour" or "day"
    keep: int
    counts: dict[str, dict[str, tuple[int, int]]] = field(default_factory=dict)  # period->check
    transitions: dict[str, list[TransitionMark]] = field(default_factory=dict)
    _by_check: dict[str, dict[str, tuple[int, int]]] | None = field(
        default=None, init=False, repr=False, compare=False
    )

    def of_check(self, name: str) -> dict[str, tuple[int, int]]:
        """``period -> (judged, passed)`` of one check (an index built on first use)."""
        if self._by_check is None:
            index: dict[str, dict[str, tuple[int, int]]] = {}
            for period, checks in self.counts.items():
                for check, pair in checks.items():
                    index.setdefault(check, {})[period] = pair
            self._by_check = index
        return self._by_check.get(name, {})

    def absorb(self, rollups: PeriodRollups) -> None:
        """Take in a closed period; drop periods (and transitions) that fall out of ``keep``."""
        self._by_check = None
        self.counts[rollups.period] = {
            name: (r.judged, r.passed) for name, r in rollups.checks.items()
        }
        for name, marks in rollups.transitions.items():
            kept = self.transitions.setdefault(name, [])
            for mark in marks:
                if not any(m.at == mark.at and m.status == mark.status for m in kept):
                    kept.append(mark)
            kept.sort(key=lambda m: m.at)
        for period in sorted(self.counts)[: -self.keep]:
            del self.counts[period]
        oldest = min(self.counts)
        for name, marks in self.transitions.items():
            earlier = [m for m in marks if period_of(self.kind, m.at) < oldest]
            self.transitions[name] = earlier[-1:] + [
                m for m in marks if period_of(self.kind, m.at) >= oldest
            ]

    @property
    def periods(self) -> list[str]:
        return sorted(self.counts)

    def to_dict(self) -> dict[str, Any]:
        periods = self.periods
        names = sorted({name for checks in self.counts.values() for name in checks})
        columns: dict[str, list[list[int]]] = {}
        for name in names:
            pairs = [self.counts[p].get(name, (0, 0)) for p in periods]
            # "not passed" rather than "passed": mostly zeros, which compress to nothing
            columns[name] = [[j for j, _ in pairs], [j - passed for j, passed in pairs]]
        return {
            "k": self.kind,
            "keep": self.keep,
            "p": periods,
            "c": columns,
            "t": {name: [m.to_list() for m in marks] for name, marks in self.transitions.items()},
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CountHistory:
        periods = data.get("p", [])
        counts: dict[str, dict[str, tuple[int, int]]] = {p: {} for p in periods}
        for name, (judged, failed) in data.get("c", {}).items():
            for period, j, f in zip(periods, judged, failed, strict=True):
                if j:
                    counts[period][name] = (j, j - f)
        transitions = {
            name: [TransitionMark.from_list(row) for row in rows]
            for name, rows in data.get("t", {}).items()
        }
        return cls(kind=data["k"], keep=data["keep"], counts=counts, transitions=transitions)


def period_of(kind: str, iso_time: str) -> str:
    """``2026-11-28T10:01:00Z`` -> ``2026-11-28T10`` (hour) or ``2026-11-28`` (day)."""
    return iso_time[:13] if kind == "hour" else iso_time[:10]
