"""``decide``: the rules of ``vigil.policy`` applied in their fixed order, and the gate."""

from __future__ import annotations

from vigil.alerts.document import AlertDocument, AlertEvent
from vigil.policy import dependencies, error_rate, maintenance, reminder
from vigil.policy.check_run import CheckRun
from vigil.policy.memory import AlertMemory
from vigil.results import FAILING, Status

RULES = (maintenance.ended, error_rate.apply, reminder.apply, dependencies.apply)


def decide(
    run: CheckRun, memory: AlertMemory, transition_alert: AlertDocument | None
) -> tuple[AlertMemory, list[AlertDocument]]:
    """The alerts to send for ``run`` and the check's new memory."""
    if run.window is not None:
        return maintenance.inside(run, error_rate.since_recovery(run, memory))
    docs = [transition_alert] if transition_alert is not None else []
    for rule in RULES:
        memory, docs = rule(run, memory, docs)
    return gate(run, memory, docs)


def gate(
    run: CheckRun, memory: AlertMemory, docs: list[AlertDocument]
) -> tuple[AlertMemory, list[AlertDocument]]:
    sent: list[AlertDocument] = []
    for doc in docs:
        if doc.event == AlertEvent.RECOVERY:
            if memory.alerted == Status.HEALTHY:
                continue  # its failure was never sent (held, or in maintenance)
            memory = memory._replace(alerted=Status.HEALTHY, alerted_at=None)
        elif doc.event in (AlertEvent.FAILURE, AlertEvent.DEGRADED):
            if doc.status == memory.alerted:
                continue
            failing = doc.status in FAILING
            memory = memory._replace(
                alerted=doc.status, alerted_at=run.run_time if failing else None
            )
        elif doc.event == AlertEvent.REMINDER:
            memory = memory._replace(alerted_at=run.run_time)
        sent.append(doc)
    return memory, sent
