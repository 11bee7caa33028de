"""Maintenance windows: inside one, nothing is alerted; when it ends, one alert says
where the check stands if that differs from what was last alerted.

"When the window ends" is the check's first run at or after its end. The
alert's event follows from the last alerted status to the confirmed one
(``failure``, ``degraded`` or ``recovery``), with ``details.after_maintenance``
naming the window.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from vigil.alerts.document import AlertDocument, AlertEvent
from vigil.policy.check_run import CheckRun
from vigil.policy.memory import AlertMemory
from vigil.results import FAILING, Status

if TYPE_CHECKING:
    from vigil.policy.windows import MaintenanceWindow


def open_at(
    windows: tuple[MaintenanceWindow, ...], moment: datetime
) -> tuple[MaintenanceWindow, ...]:
    """The windows open at ``moment``: worked out once per run, for all its checks."""
    return tuple(window for window in windows if window.active_at(moment))


def window_for(open_windows: tuple[MaintenanceWindow, ...], group: str, check: str) -> str | None:
    """The name of the first of ``open_windows`` covering ``group/check``, if any."""
    for window in open_windows:
        if window.covers(group, check):
            return window.name
    return None


def event_between(alerted: str, status: str) -> AlertEvent | None:
    if status == alerted:
        return None
    if status == Status.HEALTHY:
        return AlertEvent.RECOVERY
    if status in FAILING:
        return AlertEvent.FAILURE
    if status == "degraded":
        return AlertEvent.DEGRADED
    return None  # unknown: nothing confirmed yet


def inside(run: CheckRun, memory: AlertMemory) -> tuple[AlertMemory, list[AlertDocument]]:
    """Inside a window: remember it, send nothing."""
    return memory._replace(maintenance=run.window), []


def ended(
    run: CheckRun, memory: AlertMemory, docs: list[AlertDocument]
) -> tuple[AlertMemory, list[AlertDocument]]:
    """The first run after a window: one alert for where the check now stands, or none."""
    if memory.maintenance is None:
        return memory, docs
    window, memory = memory.maintenance, memory._replace(maintenance=None, held=None)
    event = event_between(memory.alerted, run.status)
    if event is None:
        return memory, []
    reason = (
        run.transition.reason
        if run.transition is not None
        else f"{run.status} when maintenance window {window!r} ended"
    )
    return memory, [
        run.alert(event, run.status, memory.alerted, reason, {"after_maintenance": window})
    ]
