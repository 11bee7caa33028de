"""Folding a run's results into the group state: pure, so a failed save can fold again.

For each counted result: the state machine (``vigil.state.observe``) with the
check's thresholds; the open hour and day rollups; the fence records the run;
each confirmed transition becomes an alert document in the outbox, leased to
the invocation that folds. A result the deadline cut short is not counted,
unless the same check was cut on ``CUT_LIMIT`` consecutive runs: then it
counts as ``error``, so a check that can never finish ends up alerting.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from vigil.alerts.document import AlertDocument
from vigil.alerts.message import alert_document
from vigil.checks.base import CheckResult, Status
from vigil.config import GroupConfig
from vigil.rollups import PeriodRollups, period_of
from vigil.run import outbox
from vigil.state import CheckState, Thresholds, Transition, observe
from vigil.store.base import GroupState
from vigil.times import iso_from_epoch, parse_time

CUT_LIMIT = 2


@dataclass(frozen=True)
class FoldOutcome:
    """The state after a run, what it confirmed, and the periods it closed."""

    state: GroupState
    transitions: list[Transition]
    alerts: list[AlertDocument]
    closed: list[PeriodRollups]  # completed rollups to store (before the state)
    counted: list[CheckResult]  # the results as counted (cut ones left out or made errors)


def alert_id(group: str, transition: Transition, run_key: str) -> str:
    """Stable across retries and repeated deliveries of the same run."""
    return f"{group}/{transition.check}/{transition.event}@{run_key}"


def counted_result(result: CheckResult, current: CheckState) -> tuple[CheckResult | None, int]:
    """The result as it counts (None: not counted) and the check's new run of cuts."""
    if result.observed:
        return result, 0
    cuts = current.cuts + 1
    if cuts < CUT_LIMIT:
        return None, cuts
    reason = (
        f"cut short by the run's deadline on {cuts} consecutive runs: its timeout does not "
        "fit in the time the function leaves for checks"
    )
    return CheckResult(result.check, Status.ERROR, reason, details=result.details), cuts


def fold(
    group: GroupConfig,
    state: GroupState,
    results: list[CheckResult],
    *,
    run_key: str,
    owner: str,
    now: float,
    lease_until: float,
) -> FoldOutcome:
    """Count ``results`` of the run ``run_key`` into ``state`` (see the module docstring)."""
    run_time = parse_time(run_key).timestamp()
    configs = {c.name: c for c in group.checks}
    checks = {name: s for name, s in state.checks.items() if name in configs}
    transitions: list[Transition] = []
    counted: list[CheckResult] = []
    for result in results:
        if result.check not in configs:
            continue
        config = configs[result.check]
        current = checks.get(result.check, CheckState())
        as_counted, cuts = counted_result(result, current)
        if as_counted is None:
            checks[result.check] = replace(current, last_run=run_time, cuts=cuts)
            continue
        counted.append(as_counted)
        new, transition = observe(
            current,
            as_counted.status,
            Thresholds(config.failure_threshold, config.success_threshold),
            check=as_counted.check,
            at=run_key,
            reason=as_counted.reason,
            details={
                **as_counted.details,
                **(
                    {"latency_ms": round(as_counted.latency_ms, 1)}
                    if as_counted.latency_ms is not None
                    else {}
                ),
            },
        )
        checks[result.check] = replace(new, last_run=run_time, cuts=cuts)
        if transition is not None:
            transitions.append(transition)

    closed: list[PeriodRollups] = []
    rollups: dict[str, PeriodRollups] = {}
    for kind, open_rollup in (("hour", state.hour), ("day", state.day)):
        period = period_of(kind, run_key)
        # A late run of an earlier period is counted in the open one.
        if open_rollup is not None and open_rollup.period < period:
            closed.append(open_rollup)
            open_rollup = None
        if open_rollup is None:
            open_rollup = PeriodRollups(kind=kind, period=period)
        else:
            open_rollup = PeriodRollups.from_dict(kind, open_rollup.to_dict())
        for result in counted:
            open_rollup.add(result)
        rollups[kind] = open_rollup

    alerts = [alert_document(group.name, t, alert_id(group.name, t, run_key)) for t in transitions]
    pending = outbox.take_leases(state.outbox, owner, now, lease_until)
    pending = outbox.append(pending, alerts, owner, lease_until)
    newest = max(filter(None, (state.last_run_key, run_key)), key=lambda k: parse_time(k))
    new_state = replace(
        state,
        checks=checks,
        hour=rollups["hour"],
        day=rollups["day"],
        outbox=pending,
        fence=state.fence.add(run_key, owner),
        updated_at=iso_from_epoch(now),
        last_run_key=newest,
    )
    return FoldOutcome(new_state, transitions, alerts, closed, counted)
