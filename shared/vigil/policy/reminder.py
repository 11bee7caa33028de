"""``reminder_every``: while a check stays confirmed ``unhealthy`` or ``error`` after
its failure alert, a ``reminder`` goes out on the first run whose scheduled time
is at least ``reminder_every`` after the failure alert's (or the last reminder's).
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
    every = run.config.reminder_every
    if (
        every is None
        or docs  # this run already says something about the check
        or run.status not in FAILING
        or memory.alerted not in FAILING
        or memory.alerted_at is None
        or run.run_time - memory.alerted_at < every
    ):
        return memory, docs
    failing_for = run.run_time - memory.alerted_at
    doc = run.alert(
        AlertEvent.REMINDER,
        run.status,
        run.status,
        f"still {run.status} ({format_duration(failing_for)} since the last alert)",
        {"reminder_every": format_duration(every)},
    )
    return memory, [doc]
