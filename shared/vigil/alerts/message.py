"""Alert messages, built as pure functions from a ``Transition``.

Subscribers other than email get the JSON document of DESIGN.md as the SNS
``default`` message; email subscribers get readable text. Message attributes
``event``, ``group``, ``check`` and ``severity`` allow subscription filter policies.
"""

from __future__ import annotations

import json
from typing import Any

from vigil.state import Transition

SUBJECT_LIMIT = 99  # SNS subjects must be under 100 characters
_VERB = {
    "healthy": "is healthy",
    "degraded": "is degraded",
    "unhealthy": "is unhealthy",
    "error": "cannot be checked",
}


def alert_document(group: str, transition: Transition, alert_id: str) -> dict[str, Any]:
    """The JSON alert every non-email subscriber receives."""
    return {
        "event": str(transition.event),
        "group": group,
        "check": transition.check,
        "status": transition.status,
        "previous_status": transition.previous_status,
        "severity": transition.severity,
        "timestamp": transition.at,
        "reason": transition.reason,
        "details": transition.details,
        "alert_id": alert_id,
    }


def email_subject(doc: dict[str, Any]) -> str:
    """``[FAILURE] core/api is unhealthy`` — ASCII, one line, under 100 characters."""
    verb = _VERB.get(doc["status"], f"is {doc['status']}")
    subject = f"[{doc['event'].upper()}] {doc['group']}/{doc['check']} {verb}"
    subject = subject.encode("ascii", "replace").decode().replace("\n", " ")
    return subject if len(subject) <= SUBJECT_LIMIT else subject[: SUBJECT_LIMIT - 3] + "..."


def email_body(doc: dict[str, Any]) -> str:
    """Readable text for an email subscriber: one ``Label: value`` per line, aligned."""
    fields = [
        ("Check", f"{doc['group']}/{doc['check']}"),
        ("Status", f"{doc['status']} (was {doc['previous_status']})"),
        ("Severity", doc["severity"]),
        ("When", doc["timestamp"]),
        ("Reason", doc["reason"]),
    ]
    fields += [
        (key.replace("_", " ").capitalize(), value)
        for key, value in sorted(doc.get("details", {}).items())
    ]
    width = max(len(label) for label, _ in fields) + 1  # the colon
    lines = [email_subject(doc), ""]
    lines += [f"{label + ':':<{width}} {value}" for label, value in fields]
    lines += ["", f"Alert id: {doc['alert_id']}", "-- Vigil health checks"]
    return "\n".join(lines)


def sns_request(topic_arn: str, doc: dict[str, Any]) -> dict[str, Any]:
    """Keyword arguments for ``sns.publish`` carrying one alert."""
    message = {"default": json.dumps(doc, sort_keys=True), "email": email_body(doc)}
    attributes = {
        key: {"DataType": "String", "StringValue": str(doc[key])}
        for key in ("event", "group", "check", "severity")
    }
    return {
        "TopicArn": topic_arn,
        "Subject": email_subject(doc),
        "Message": json.dumps(message),
        "MessageStructure": "json",
        "MessageAttributes": attributes,
    }
