"""Vigil's own CloudWatch alarms as alert documents (event ``monitor``).

CloudWatch publishes an alarm's state change to an SNS topic as a JSON message
without message attributes. ``monitor_alert`` turns it into the document every
other alert has, so it can be published to the alert topic with the attributes
``event``, ``group``, ``check`` and ``severity`` (a subscription filter on
``severity`` then never loses Vigil's own alarms).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from vigil.alerts.document import AlertDocument, AlertEvent
from vigil.notify.config import MONITOR_GROUP
from vigil.times import iso, parse_time

_STATUS = {"ALARM": "unhealthy", "OK": "healthy"}
REASON_LIMIT = 500


class NotAnAlarmError(ValueError):
    """The message is not a CloudWatch alarm state change."""


def is_alarm(message: Any) -> bool:
    """Whether a decoded SNS message is a CloudWatch alarm notification."""
    return isinstance(message, Mapping) and "AlarmName" in message and "NewStateValue" in message


def monitor_alert(alarm: Mapping[str, Any]) -> AlertDocument | None:
    """The ``monitor`` alert of one alarm state change; ``None`` for INSUFFICIENT_DATA.

    ``status`` is ``unhealthy`` in ALARM and ``healthy`` in OK, ``previous_status``
    the other one; ``alert_id`` is stable for the state change, so every copy of
    the same alarm message yields the same alert. Raises ``NotAnAlarmError``.
    """
    if not is_alarm(alarm):
        raise NotAnAlarmError("not a CloudWatch alarm message (no AlarmName/NewStateValue)")
    name = str(alarm["AlarmName"])
    state = str(alarm["NewStateValue"])
    if state not in _STATUS:
        return None
    status = _STATUS[state]
    previous = _STATUS["OK" if state == "ALARM" else "ALARM"]
    changed = str(alarm.get("StateChangeTime") or "")
    timestamp = _iso(changed)
    reason = " ".join(str(alarm.get("NewStateReason") or f"alarm {state}").split())
    details = {
        "alarm_name": name,
        "state": state,
        "previous_state": str(alarm.get("OldStateValue") or ""),
        "reason": reason[:REASON_LIMIT],
    }
    if alarm.get("AlarmDescription"):
        details["description"] = str(alarm["AlarmDescription"])
    if alarm.get("AlarmArn"):
        details["alarm_arn"] = str(alarm["AlarmArn"])
    return AlertDocument(
        event=AlertEvent.MONITOR,
        group=MONITOR_GROUP,
        check=name,
        status=status,
        previous_status=previous,
        timestamp=timestamp,
        reason=reason[:REASON_LIMIT],
        # the state change's time; without one, the message itself, so that every copy
        # of it still yields the same alert_id
        alert_id=f"{MONITOR_GROUP}/{name}/monitor/{state}@{changed or _digest(alarm)}",
        details=details,
    )


def _digest(alarm: Mapping[str, Any]) -> str:
    text = json.dumps(alarm, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _iso(value: str) -> str:
    """CloudWatch's ``2026-11-29T08:00:00.123+0000`` as ``2026-11-29T08:00:00.123Z``;
    now, when the alarm gives no time that can be read."""
    try:
        return iso(parse_time(value))
    except ValueError:
        return iso(datetime.now(UTC))
