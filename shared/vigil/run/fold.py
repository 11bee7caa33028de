"""Folding a run's results into the group state: pure, so a failed save can fold again.

1. each counted result goes through the state machine (``vigil.state.observe``)
   with its check's thresholds; a result the deadline cut short is not counted,
   unless the same check was cut on ``CUT_LIMIT`` consecutive runs: then it
   counts as ``error``, so a check that can never finish ends up alerting;
2. with every check's new confirmed status known (so the order of the results
   never matters), the alert policy (``vigil.policy``) decides per check what
   is alerted: maintenance windows, error rate, reminders, dependencies;
3. the results go into the open hour and day rollups (a maintenance run is
   counted there only as one: it is left out of availability and latency);
4. the fence records the run, and each alert goes into the outbox, leased to
   the invocation that folds.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, NamedTuple

from vigil.alerts.document import AlertDocument
from vigil.alerts.message import alert_document
from vigil.config import GroupConfig
from vigil.policy.config import parent_ref
from vigil.policy.decide import decide
from vigil.policy.maintenance import window_for
from vigil.policy.memory import AlertMemory
from vigil.policy.run import CheckRun, ParentView
from vigil.results import UNKNOWN, CheckResult, Status
from vigil.rollups import PeriodRollups, period_of
from vigil.sharding import shard_of
from vigil.state import CheckState, Thresholds, Transition, observe
from vigil.store import outbox
from vigil.store.base import GroupState
from vigil.times import iso_from_epoch, parse_time

if TYPE_CHECKING:
    from vigil.policy.windows import MaintenanceWindow

CUT_LIMIT = 2


class FoldOutcome(NamedTuple):
    """The state after a run, what it confirmed and alerted, and the periods it closed."""

    state: GroupState
    transitions: list[Transition]  # confirmed changes of status
    alerts: list[AlertDocument]  # what the policy decided to send
    closed: list[PeriodRollups]  # completed rollups to store (before the state)
    results: list[CheckResult]  # the run's results, marked ``maintenance`` where it applies


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
    counted = CheckResult(result.check, Status.ERROR, reason, details=result.details)
    return replace(counted, maintenance=result.maintenance), cuts


def fold(
    group: GroupConfig,
    state: GroupState,
    results: list[CheckResult],
    *,
    run_key: str,
    owner: str,
    now: float,
    lease_until: float,
    windows: tuple[MaintenanceWindow, ...] = (),
    external: dict[str, ParentView] | None = None,
) -> FoldOutcome:
    """Count ``results`` of the run ``run_key`` into ``state`` (see the module docstring).

    ``external``: the ``depends_on`` parents outside this group shard
    (``group/check`` -> what their last saved state says).
    """
    moment = parse_time(run_key)
    run_time = moment.timestamp()
    # this shard's checks only: after a change of `shards`, a moved check's old state
    # is dropped from the shard that no longer runs it
    configs = {c.name: c for c in group.checks if shard_of(c.name, group.shards) == state.shard}
    checks = {name: s for name, s in state.checks.items() if name in configs}
    results = [
        replace(r, maintenance=True)
        if r.check in configs and window_for(windows, group.name, r.check, moment)
        else r
        for r in results
    ]

    # 1. thresholds
    counted: list[CheckResult] = []
    transitions: dict[str, Transition] = {}
    for result in results:
        if result.check not in configs:
            continue
        config = configs[result.check]
        current = checks.get(result.check, CheckState())
        as_counted, cuts = counted_result(result, current)
        last_run = max(current.last_run or run_time, run_time)  # a late run moves no clock back
        if as_counted is None:
            checks[result.check] = current._replace(last_run=last_run, cuts=cuts)
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
        checks[result.check] = new._replace(last_run=last_run, cuts=cuts)
        if transition is not None:
            transitions[result.check] = transition

    # 2. the alert policy, over every check's new confirmed status
    memory = {name: m for name, m in state.memory.items() if name in configs}
    alerts: list[AlertDocument] = []
    for result in counted:
        config = configs[result.check]
        parents = {}
        for ref in config.depends_on:
            full = parent_ref(group.name, ref)
            parent_group, _, parent = full.partition("/")
            local = parent_group == group.name and shard_of(parent, group.shards) == state.shard
            if local:
                parents[full] = ParentView(checks.get(parent, CheckState()).status)
            else:
                parents[full] = (external or {}).get(full, ParentView(UNKNOWN, current=False))
        transition = transitions.get(result.check)
        run = CheckRun(
            group=group.name,
            config=config,
            run_key=run_key,
            run_time=run_time,
            observed=str(result.status),
            status=checks[result.check].status,
            transition=transition,
            window=window_for(windows, group.name, result.check, moment),
            parents=parents,
        )
        first = (
            alert_document(group.name, transition, alert_id(group.name, transition, run_key))
            if transition is not None
            else None
        )
        memory[result.check], decided = decide(run, memory.get(result.check, AlertMemory()), first)
        alerts += decided

    # 3. rollups
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
        for result in counted:  # a maintenance run is only counted as one
            open_rollup.add(result)
        for transition in transitions.values():  # incidents are read back from these
            open_rollup.record_transition(transition)
        rollups[kind] = open_rollup

    # 4. fence and outbox
    pending = outbox.take_leases(state.outbox, owner, now, lease_until)
    pending = outbox.append(pending, alerts, owner, lease_until)
    newest = max(filter(None, (state.last_run_key, run_key)), key=parse_time)
    new_state = replace(
        state,
        checks=checks,
        hour=rollups["hour"],
        day=rollups["day"],
        outbox=pending,
        fence=state.fence.add(run_key, owner),
        memory=memory,
        updated_at=iso_from_epoch(now),
        last_run_key=newest,
    )
    return FoldOutcome(new_state, list(transitions.values()), alerts, closed, results)
