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

``fold`` does the four steps in order: ``count``, ``apply_policy``, ``roll_up``,
then the new state.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, NamedTuple

from vigil.alerts.document import AlertDocument
from vigil.config import GroupConfig
from vigil.policy.check_run import CheckRun, ParentView
from vigil.policy.config import parent_ref
from vigil.policy.decide import decide
from vigil.policy.maintenance import open_at, window_for
from vigil.policy.memory import AlertMemory
from vigil.results import UNKNOWN, CheckResult, Status
from vigil.rollups import PeriodRollups, period_of
from vigil.sharding import shard_of
from vigil.state import CheckState, Thresholds, Transition, observe
from vigil.store import outbox
from vigil.store.base import GroupState
from vigil.times import iso_from_epoch, parse_time

if TYPE_CHECKING:
    from vigil.checks.model import CheckConfig
    from vigil.policy.windows import MaintenanceWindow

CUT_LIMIT = 2


class FoldOutcome(NamedTuple):
    """The state after a run, what it confirmed and alerted, and the periods it closed."""

    state: GroupState
    transitions: list[Transition]  # confirmed changes of status
    alerts: list[AlertDocument]  # what the policy decided to send
    closed: list[PeriodRollups]  # completed rollups to store (before the state)
    results: list[CheckResult]  # the run's results, marked ``maintenance`` where it applies


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
    # this shard's checks only: after a change of `shards`, a moved check's old state
    # is dropped from the shard that no longer runs it
    configs = {c.name: c for c in group.checks if shard_of(c.name, group.shards) == state.shard}
    windows = open_at(windows, moment)
    results = [
        replace(r, maintenance=True)
        if r.check in configs and window_for(windows, group.name, r.check)
        else r
        for r in results
    ]
    checks, counted, transitions = count(configs, state, results, run_key)
    views = {
        name: parent_views(group, state.shard, config, checks, external or {})
        for name, config in configs.items()
    }
    memory, alerts = apply_policy(
        group.name, configs, state, checks, counted, transitions, views, run_key, windows
    )
    closed, hour, day = roll_up(state, counted, transitions, run_key)
    pending = outbox.take_leases(state.outbox, owner, now, lease_until)
    pending = outbox.append(pending, alerts, owner, lease_until)
    newest = max(filter(None, (state.last_run_key, run_key)), key=parse_time)
    new_state = replace(
        state,
        checks=checks,
        hour=hour,
        day=day,
        outbox=pending,
        fence=state.fence.add(run_key, owner),
        memory=memory,
        updated_at=iso_from_epoch(now),
        last_run_key=newest,
    )
    return FoldOutcome(new_state, list(transitions.values()), alerts, closed, results)


def count(
    configs: dict[str, CheckConfig],
    state: GroupState,
    results: list[CheckResult],
    run_key: str,
) -> tuple[dict[str, CheckState], list[CheckResult], dict[str, Transition]]:
    """Step 1: every check's new state, the results as counted, the confirmed transitions."""
    run_time = parse_time(run_key).timestamp()
    checks = {name: s for name, s in state.checks.items() if name in configs}
    counted: list[CheckResult] = []
    transitions: dict[str, Transition] = {}
    for result in results:
        if result.check not in configs:
            continue
        config = configs[result.check]
        current = checks.get(result.check, CheckState())
        as_counted, cuts = counted_result(result, current)
        last_run = max(current.last_run or run_time, run_time)  # a late run moves no clock back
        first_run = min(current.first_run or run_time, run_time)
        if as_counted is None:
            checks[result.check] = current._replace(
                last_run=last_run, cuts=cuts, first_run=first_run
            )
            continue
        counted.append(as_counted)
        latency = as_counted.latency_ms
        shown = {} if latency is None else {"latency_ms": round(latency, 1)}
        new, transition = observe(
            current,
            as_counted.status,
            Thresholds(config.failure_threshold, config.success_threshold),
            check=as_counted.check,
            at=run_key,
            reason=as_counted.reason,
            details={**as_counted.details, **shown},
        )
        checks[result.check] = new._replace(last_run=last_run, cuts=cuts, first_run=first_run)
        if transition is not None:
            transitions[result.check] = transition
    return checks, counted, transitions


class Parent(NamedTuple):
    """A ``depends_on`` parent of a check: ``ref`` is ``group/check``."""

    ref: str
    group: str
    check: str


def parents(group_name: str, config: CheckConfig) -> list[Parent]:
    """The parents ``config`` names, each with its group (``name`` alone: the same group)."""
    found = []
    for written in config.depends_on:
        ref = parent_ref(group_name, written)
        parent_group, _, check = ref.partition("/")
        found.append(Parent(ref, parent_group, check))
    return found


def in_shard(parent: Parent, group: GroupConfig, shard: int) -> bool:
    """Whether ``parent``'s state is the one this group shard folds (else it is read)."""
    return parent.group == group.name and shard_of(parent.check, group.shards) == shard


def parent_views(
    group: GroupConfig,
    shard: int,
    config: CheckConfig,
    checks: dict[str, CheckState],
    external: dict[str, ParentView],
) -> dict[str, ParentView]:
    """What the check's parents stand at: this shard's from ``checks`` (this run
    included), the others' from their last saved state (``external``)."""
    views = {}
    for parent in parents(group.name, config):
        if in_shard(parent, group, shard):
            views[parent.ref] = ParentView(checks.get(parent.check, CheckState()).status)
        else:
            views[parent.ref] = external.get(parent.ref, ParentView(UNKNOWN, current=False))
    return views


def apply_policy(
    group_name: str,
    configs: dict[str, CheckConfig],
    state: GroupState,
    checks: dict[str, CheckState],
    counted: list[CheckResult],
    transitions: dict[str, Transition],
    views: dict[str, dict[str, ParentView]],
    run_key: str,
    windows: tuple[MaintenanceWindow, ...],
) -> tuple[dict[str, AlertMemory], list[AlertDocument]]:
    """Step 2: with every check's new confirmed status known, what the policy alerts.

    ``windows``: the maintenance windows open at this run."""
    moment = parse_time(run_key)
    memory = {name: m for name, m in state.memory.items() if name in configs}
    alerts: list[AlertDocument] = []
    for result in counted:
        transition = transitions.get(result.check)
        run = CheckRun(
            group=group_name,
            config=configs[result.check],
            run_key=run_key,
            run_time=moment.timestamp(),
            observed=str(result.status),
            status=checks[result.check].status,
            transition=transition,
            window=window_for(windows, group_name, result.check),
            parents=views[result.check],
        )
        first = transition.document(group_name) if transition is not None else None
        memory[result.check], decided = decide(run, memory.get(result.check, AlertMemory()), first)
        alerts += decided
    return memory, alerts


def roll_up(
    state: GroupState,
    counted: list[CheckResult],
    transitions: dict[str, Transition],
    run_key: str,
) -> tuple[list[PeriodRollups], PeriodRollups, PeriodRollups]:
    """Step 3: the periods this run closed, and the open hour and day with the run in them."""
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
            open_rollup = open_rollup.copy()  # fold is pure: the state read stays as it was
        for result in counted:  # a maintenance run is only counted as one
            open_rollup.add(result)
        for transition in transitions.values():  # incidents are read back from these
            open_rollup.record_transition(transition)
        rollups[kind] = open_rollup
    return closed, rollups["hour"], rollups["day"]
