"""Locations and quorum: the same stack in several regions judges each check from all.

```yaml
locations:
  home: eu-west-1                       # decides and alerts
  probes: [us-east-1, ap-southeast-2]   # observe only
quorum_wait: 20s                        # how long the home waits for the probes
defaults:
  quorum: 2                             # per check too; default: a majority of those reporting
```

A stack whose region is ``home`` runs its checks, waits up to ``quorum_wait`` from the
start of its run for the probes' observations of the same scheduled time, and counts
one combined observation per check (``combine``); a probe runs the same checks and
writes its observations to the home's table. Without ``locations`` a stack is on its
own, as before.

Heartbeat checks (``HOME_ONLY_TYPES``) are judged at the home alone, from its pings.

Combining, exactly: a location whose result is ``error`` does not vote (all ``error``:
``error``); with ``n`` voting locations and ``k = min(quorum, n)``, the combined status
is the worst status s (unhealthy > degraded > healthy) that at least ``k`` voters saw,
s or worse. Its latency is the median of the voters' latencies.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any, NamedTuple

from vigil.results import CheckResult, Status

REGION = re.compile(r"[a-z]{2}(-gov)?-[a-z]+-\d")
DEFAULT_QUORUM_WAIT = 20.0
MAX_QUORUM_WAIT = 40.0  # of the runner's 60 s: the rest is for counting and saving
HOME, PROBE = "home", "probe"
# Check types judged at the home alone: a heartbeat calls nothing (its job pings the
# home's stack), so there is nothing for a probe to observe. Such a check's result is
# the home's own, never combined.
HOME_ONLY_TYPES = frozenset({"heartbeat"})
_SEVERITY = {Status.HEALTHY: 0, Status.DEGRADED: 1, Status.UNHEALTHY: 2}
REASON_CHARS = 300


class Locations(NamedTuple):
    """``home`` decides and alerts; ``probes`` observe; ``quorum_wait`` seconds."""

    home: str
    probes: tuple[str, ...]
    quorum_wait: float = DEFAULT_QUORUM_WAIT

    @property
    def regions(self) -> tuple[str, ...]:
        return (self.home, *self.probes)

    def role(self, region: str) -> str:
        """``home`` or ``probe``; ``ValueError`` for a region that is neither."""
        if region == self.home:
            return HOME
        if region in self.probes:
            return PROBE
        raise ValueError(
            f"this stack's region {region} is not in locations (home {self.home}, "
            f"probes {', '.join(self.probes)}): deploy it to one of them, or add it"
        )


def parse_locations(raw: Any, wait: Any, problems: list[tuple[str, str]]) -> Locations | None:
    """The top-level ``locations`` (and ``quorum_wait``), each problem at its key path."""
    from vigil.durations import parse_duration

    if raw is None:
        if wait is not None:
            problems.append(("quorum_wait", "applies with locations; this file has none"))
        return None
    if not isinstance(raw, dict):
        problems.append(("locations", "expected a mapping with home and probes"))
        return None
    start = len(problems)
    for key in raw:
        if key not in ("home", "probes"):
            problems.append((f"locations.{key}", "unknown key; expected home or probes"))
    home = raw.get("home")
    if not isinstance(home, str) or not REGION.fullmatch(home):
        problems.append(
            ("locations.home", f"expected an AWS region such as eu-west-1, got {home!r}")
        )
    probes = raw.get("probes")
    if not isinstance(probes, list) or not probes:
        problems.append(("locations.probes", "expected a list of at least one AWS region"))
        probes = []
    seen = {home} if isinstance(home, str) else set()
    for index, region in enumerate(probes):
        where = f"locations.probes[{index}]"
        if not isinstance(region, str) or not REGION.fullmatch(region):
            problems.append((where, f"expected an AWS region such as us-east-1, got {region!r}"))
        elif region in seen:
            problems.append((where, f"{region} is listed twice (home included)"))
        seen.add(region)
    seconds = DEFAULT_QUORUM_WAIT
    if wait is not None:
        try:
            seconds = parse_duration(wait)
        except ValueError as exc:
            problems.append(("quorum_wait", str(exc)))
        else:
            if not 0 < seconds <= MAX_QUORUM_WAIT:
                problems.append(
                    (
                        "quorum_wait",
                        f"expected more than 0s and at most {MAX_QUORUM_WAIT:.0f}s (the rest of "
                        f"the runner's minute counts and saves the run), got {wait!r}",
                    )
                )
    if len(problems) > start:
        return None
    return Locations(home, tuple(probes), seconds)


def majority(locations: int) -> int:
    """The default quorum: more than half of the locations that report."""
    return locations // 2 + 1


def combine(
    check: str,
    observed: dict[str, CheckResult | None],
    quorum: int | None,
) -> CheckResult:
    """One combined result of ``check`` from each location's (``None``: did not report).

    ``quorum``: the check's, or None for a majority of the locations that reported.
    """
    reported = {region: r for region, r in observed.items() if r is not None}
    voters = {region: r for region, r in reported.items() if r.status != Status.ERROR}
    details: dict[str, Any] = {
        "locations": {
            region: (
                None
                if result is None
                else {
                    "status": str(result.status),
                    "latency_ms": _rounded(result.latency_ms),
                    "reason": result.reason[:REASON_CHARS],
                }
            )
            for region, result in observed.items()
        }
    }
    if not voters:
        errors = "; ".join(f"{region}: {r.reason}" for region, r in reported.items())
        reason = f"error in {len(reported)} of {len(observed)} locations: {errors}"
        return CheckResult(check, Status.ERROR, reason[:REASON_CHARS], None, details)
    needed = min(quorum or majority(len(reported)), len(voters))
    status = Status.HEALTHY
    for candidate in (Status.UNHEALTHY, Status.DEGRADED):
        seen = [r for r in voters.values() if _SEVERITY[r.status] >= _SEVERITY[candidate]]
        if len(seen) >= needed:
            status = candidate
            break
    latencies = [r.latency_ms for r in voters.values() if r.latency_ms is not None]
    latency = _median(latencies) if latencies else None
    reason = _reason(status, voters, observed)
    details["quorum"] = needed
    return CheckResult(check, status, reason[:REASON_CHARS], latency, details)


def mark_location(result: CheckResult, region: str) -> CheckResult:
    """A location's own result, its region named (what a probe writes, a home counts)."""
    return replace(result, details={**result.details, "location": region})


def _reason(
    status: str, voters: dict[str, CheckResult], observed: dict[str, CheckResult | None]
) -> str:
    """``unhealthy in 2 of 3 locations: us-east-1: <reason>; ...`` (those at s or worse);
    when healthy, the reason of one location, or who saw otherwise."""
    if status == Status.HEALTHY:
        dissent = [(region, r) for region, r in voters.items() if r.status != Status.HEALTHY]
        healthy = [r for r in voters.values() if r.status == Status.HEALTHY]
        if not dissent:
            return healthy[0].reason
        said = "; ".join(f"{region}: {r.status}, {r.reason}" for region, r in dissent)
        return f"healthy in {len(healthy)} of {len(observed)} locations (below quorum: {said})"
    which = [
        (region, r) for region, r in voters.items() if _SEVERITY[r.status] >= _SEVERITY[status]
    ]
    said = "; ".join(f"{region}: {r.reason}" for region, r in which)
    return f"{status} in {len(which)} of {len(observed)} locations: {said}"


def _median(values: list[float]) -> float:
    import statistics  # only a home of locations combines: kept out of everyone's cold start

    return statistics.median(values)


def _rounded(latency: float | None) -> float | None:
    return None if latency is None else round(latency, 1)
