"""The alert document: the one JSON shape every message on the alert topic carries.

Subscribers other than email receive it as the SNS ``default`` message; the
notifier parses it back with ``AlertDocument.from_dict``. Vigil's own CloudWatch
alarms are turned into documents of the same shape (event ``monitor``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class AlertEvent(StrEnum):
    FAILURE = "failure"
    DEGRADED = "degraded"
    RECOVERY = "recovery"
    REMINDER = "reminder"
    ERROR_RATE = "error_rate"
    ERROR_RATE_CLEARED = "error_rate_cleared"
    MONITOR = "monitor"  # one of Vigil's own CloudWatch alarms changed state


SEVERITY: dict[AlertEvent, str] = {
    AlertEvent.FAILURE: "critical",
    AlertEvent.DEGRADED: "warning",
    AlertEvent.RECOVERY: "info",
    AlertEvent.REMINDER: "critical",
    AlertEvent.ERROR_RATE: "warning",
    AlertEvent.ERROR_RATE_CLEARED: "info",
}

ATTRIBUTE_KEYS = ("event", "group", "check", "severity")  # SNS message attributes

# What each event does to the problem it is about: opens (or keeps open) an incident, or
# closes it. Every event is named: a new one must be classified here, or opens_problem()
# raises (tests/unit/test_notify.py renders every event through every channel).
_OPENS = {
    AlertEvent.FAILURE: True,
    AlertEvent.DEGRADED: True,
    AlertEvent.REMINDER: True,
    AlertEvent.ERROR_RATE: True,
    AlertEvent.RECOVERY: False,
    AlertEvent.ERROR_RATE_CLEARED: False,
}


def alert_id(group: str, check: str, event: AlertEvent | str, run_key: str) -> str:
    """``core/api/failure@2026-11-28T10:04:00Z``: the same for every copy of the alert (a
    retry or a repeated delivery of the run raises it again under the same id)."""
    return f"{group}/{check}/{event}@{run_key}"


def opens_problem(event: AlertEvent | str, status: str) -> bool:
    """True when the alert opens (or repeats) a problem, False when it closes one; a
    ``monitor`` alert opens one unless it says healthy. ``KeyError`` for an unclassified
    event."""
    event = AlertEvent(event)
    if event is AlertEvent.MONITOR:
        return status != "healthy"
    return _OPENS[event]


def incident_key(group: str, check: str, event: AlertEvent | str) -> str:
    """``vigil/<group>/<check>``: the one problem the alerts of a check are about (a
    PagerDuty incident, a chat thread); the error-rate pair has its own
    (``.../error_rate``), since it can open while the check itself is healthy."""
    key = f"vigil/{group}/{check}"
    if AlertEvent(event) in (AlertEvent.ERROR_RATE, AlertEvent.ERROR_RATE_CLEARED):
        key += "/error_rate"
    return key


def severity_of(event: AlertEvent | str, status: str) -> str:
    """``critical``, ``warning`` or ``info``; a ``monitor`` alert is critical unless healthy."""
    event = AlertEvent(event)
    if event is AlertEvent.MONITOR:
        return "info" if status == "healthy" else "critical"
    return SEVERITY[event]


@dataclass(frozen=True)
class AlertDocument:
    """One alert. ``alert_id`` is stable: every copy of the same alert carries the same id."""

    event: AlertEvent
    group: str
    check: str
    status: str
    previous_status: str
    timestamp: str  # ISO 8601, UTC: the scheduled time of the run that raised it
    reason: str
    alert_id: str
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def severity(self) -> str:
        return severity_of(self.event, self.status)

    def to_dict(self) -> dict[str, Any]:
        return {
            "event": str(self.event),
            "group": self.group,
            "check": self.check,
            "status": self.status,
            "previous_status": self.previous_status,
            "severity": self.severity,
            "timestamp": self.timestamp,
            "reason": self.reason,
            "details": self.details,
            "alert_id": self.alert_id,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AlertDocument:
        """Parse a document; raises ``KeyError``/``ValueError`` naming what is missing or bad."""
        return cls(
            event=AlertEvent(data["event"]),
            group=str(data["group"]),
            check=str(data["check"]),
            status=str(data["status"]),
            previous_status=str(data["previous_status"]),
            timestamp=str(data["timestamp"]),
            reason=str(data.get("reason", "")),
            alert_id=str(data["alert_id"]),
            details=dict(data.get("details") or {}),
        )

    def attributes(self) -> dict[str, str]:
        """The SNS message attributes that subscription filter policies match on."""
        values = self.to_dict()
        return {key: str(values[key]) for key in ATTRIBUTE_KEYS}
