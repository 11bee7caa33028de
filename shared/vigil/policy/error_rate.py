"""``error_rate``: intermittent failures and flapping that never confirm a failure.

The window holds the counted observations with scheduled time in
(now - window, now], leaving out maintenance runs and anything before the last
confirmed recovery. When the share of ``unhealthy``/``error`` observations
reaches ``above`` percent (with at least ``min_runs`` observations) while no
failure is confirmed, ``error_rate`` is sent once; ``error_rate_cleared`` when
the share falls below half of ``above`` (``min_runs`` does not apply to
clearing). While a failure is confirmed nothing is sent, and an episode still
open when a failure is confirmed ends silently. After the clear, the rule re-arms.
"""

from __future__ import annotations

from vigil.alerts.document import AlertDocument, AlertEvent
from vigil.durations import format_duration
from vigil.policy.check_run import CheckRun
from vigil.policy.memory import AlertMemory
from vigil.results import FAILING


def apply(
    run: CheckRun, memory: AlertMemory, docs: list[AlertDocument]
) -> tuple[AlertMemory, list[AlertDocument]]:
    rule = run.config.error_rate
    if rule is None:
        return memory._replace(observations=(), error_rate_open=False), docs
    now = int(run.run_time)
    kept = since_recovery(run, memory).observations
    kept = tuple(o for o in kept if o[0] > now - rule.window and o[0] != now)
    kept += ((now, run.observed in FAILING),)
    memory = memory._replace(observations=kept)
    if run.status in FAILING:
        return memory._replace(error_rate_open=False), docs  # the failure says it all
    failed = sum(1 for _, bad in kept if bad)
    share = 100.0 * failed / len(kept)
    window = format_duration(rule.window)
    shown = f"{failed} of {len(kept)} runs in the last {window} failed ({share:.0f}%)"
    details = {"error_rate": round(share, 1), "runs": len(kept), "failed_runs": failed}
    if not memory.error_rate_open and len(kept) >= rule.min_runs and share >= rule.above:
        doc = run.alert(
            AlertEvent.ERROR_RATE,
            run.observed,
            run.status,
            f"{shown}, at or above {rule.above:g}%",
            details,
        )
        return memory._replace(error_rate_open=True), [*docs, doc]
    if memory.error_rate_open and share < rule.above / 2:
        doc = run.alert(
            AlertEvent.ERROR_RATE_CLEARED,
            run.status,
            run.status,
            f"{shown}, below {rule.above / 2:g}%",
            details,
        )
        return memory._replace(error_rate_open=False), [*docs, doc]
    return memory, docs


def since_recovery(run: CheckRun, memory: AlertMemory) -> AlertMemory:
    """Nothing before the last confirmed recovery counts: a run that confirms one (in a
    maintenance window too, where nothing else of this rule applies) forgets the rest."""
    if run.transition is not None and run.transition.event == AlertEvent.RECOVERY:
        return memory._replace(observations=())
    return memory
