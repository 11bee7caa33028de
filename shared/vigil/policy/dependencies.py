"""``depends_on``: a child's failure is not news while its parent is down.

While a parent is confirmed ``unhealthy`` or ``error`` (or is confirmed so in
the same run), the child's ``failure``/``degraded`` alerts are held. When no
parent is failing any more and the child is still failing, the held alert is
sent as it was, with ``details.held_by`` naming the parent. A child whose
failure was never sent sends no recovery (see ``gate``); one whose failure was
sent always gets its recovery, parent or not.

A parent in another group (or shard) is seen through its last saved state. If
that state does not yet hold a run at or after the child's scheduled time, the
child's alert waits one run of its own group before it is sent, so the order in
which groups run never decides what is alerted.
"""

from __future__ import annotations

from dataclasses import replace

from vigil.alerts.document import AlertDocument, AlertEvent
from vigil.policy.memory import FAILING, HEALTHY, AlertMemory, Held
from vigil.policy.run import CheckRun

HOLDABLE = (AlertEvent.FAILURE, AlertEvent.DEGRADED)


def failing_parent(run: CheckRun) -> str | None:
    for ref, view in sorted(run.parents.items()):
        if view.status in FAILING:
            return ref
    return None


def apply(
    run: CheckRun, memory: AlertMemory, docs: list[AlertDocument]
) -> tuple[AlertMemory, list[AlertDocument]]:
    if not run.parents:
        return replace(memory, held=None), docs
    parent = failing_parent(run)
    behind = any(not view.current for view in run.parents.values())
    held = memory.held
    kept: list[AlertDocument] = []
    for doc in docs:
        if doc.event not in HOLDABLE:
            kept.append(doc)
        elif parent is not None:
            held = Held(doc, parent)
        elif behind:
            held = Held(doc, None)  # wait one run for the other group to catch up
        else:
            kept.append(doc)
    if held is not None and held is memory.held:  # held on an earlier run
        if run.status == HEALTHY:
            held = None  # recovered while held: nothing was sent, nothing to send
        elif parent is None:
            details = dict(held.document.details)
            if held.parent is not None:
                details["held_by"] = held.parent
            kept.append(replace(held.document, details=details))
            held = None
        elif held.parent != parent:
            held = Held(held.document, parent)
    return replace(memory, held=held), kept
