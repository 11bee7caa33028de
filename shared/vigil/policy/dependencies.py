"""``depends_on``: a child's failure is not news while its parent is down.

While a parent is confirmed ``unhealthy`` or ``error`` (or is confirmed so in
the same run), the child's ``failure``/``degraded`` alerts are held. When no
parent is failing any more and the child is still failing, the held alert is
sent as it was, with ``details.held_by`` naming the parent. A child whose
failure was never sent sends no recovery (see ``gate``); one whose failure was
sent always gets its recovery, parent or not. A held alert that a newer alert of
the child supersedes (degraded, then failing as the parent recovers) is dropped.

A parent in another group (or shard) is seen through its last saved state. If
that state does not yet hold a run at or after the child's scheduled time, it
says nothing about this run: the child's alert waits one run of its own group,
then is decided by the parent's state read then (held if the parent fails, else
sent, even if the child recovered meanwhile, its recovery after it), so the
order in which groups run never decides what is alerted. A state one run behind
that shows the parent recovered releases a held alert as of the previous run
(sent if the child was still failing then).
"""

from __future__ import annotations

from dataclasses import replace

from vigil.alerts.document import AlertDocument, AlertEvent
from vigil.policy.check_run import CheckRun
from vigil.policy.memory import AlertMemory, Held
from vigil.results import FAILING, UNKNOWN, Status

HOLDABLE = (AlertEvent.FAILURE, AlertEvent.DEGRADED)


def failing_parent(run: CheckRun, *, current_only: bool = False) -> str | None:
    for ref, view in sorted(run.parents.items()):
        if view.status in FAILING and (view.current or not current_only):
            return ref
    return None


def _previous_status(run: CheckRun) -> str:
    """The child's confirmed status before this run."""
    return run.transition.previous_status if run.transition is not None else run.status


def apply(
    run: CheckRun, memory: AlertMemory, docs: list[AlertDocument]
) -> tuple[AlertMemory, list[AlertDocument]]:
    if not run.parents:
        return memory._replace(held=None), docs
    behind = any(not view.current for view in run.parents.values())
    kept: list[AlertDocument] = []
    held = memory.held
    if held is not None:
        # An alert held on an earlier run. A parent seen failing (even in a state older
        # than this run: it is at least as new as the held alert) keeps holding it.
        parent = failing_parent(run)
        if parent is not None:
            held = Held(held.document, parent)
        elif held.parent is None:
            # It waited one run to learn whether its parent failed with it; it did not: the
            # alert goes out as it would have, even if the child recovered since (its
            # recovery, in ``docs``, follows it).
            kept.append(held.document)
            held = None
        elif (run.status if not behind else _previous_status(run)) in (Status.HEALTHY, UNKNOWN):
            # Recovered while held: nothing was sent, nothing to send. A parent's state one
            # run behind released it as of the previous run: the child as it was then.
            held = None
        elif not behind and any(doc.event in HOLDABLE for doc in docs):
            held = None  # superseded by this run's own alert, which says where it stands
        else:
            details = {**held.document.details, "held_by": held.parent}
            kept.append(replace(held.document, details=details))
            held = None
    # This run's alerts: a parent's state older than this run says nothing about now, so
    # only a current one holds them; with one behind they wait one run.
    parent = failing_parent(run, current_only=True)
    for doc in docs:
        if doc.event not in HOLDABLE:
            kept.append(doc)
        elif parent is not None:
            held = Held(doc, parent)
        elif behind:
            held = Held(doc, None)
        else:
            kept.append(doc)
    return memory._replace(held=held), kept
