"""Alert messages, built as pure functions: the email text and the SNS request from
an alert document (``vigil.state.Transition.document`` makes a transition's).

Subscribers other than email get the JSON document as the SNS ``default``
message; email subscribers get readable text. Message attributes ``event``,
``group``, ``check`` and ``severity`` allow subscription filter policies.
"""

from __future__ import annotations

import json
from typing import Any

from vigil.alerts.document import AlertDocument

SUBJECT_LIMIT = 99  # SNS subjects must be under 100 characters
_VERB = {
    "healthy": "is healthy",
    "degraded": "is degraded",
    "unhealthy": "is unhealthy",
    "error": "cannot be checked",
}


def email_subject(alert: AlertDocument) -> str:
    """``[FAILURE] core/api is unhealthy`` — ASCII, one line, under 100 characters."""
    verb = _VERB.get(alert.status, f"is {alert.status}")
    subject = f"[{str(alert.event).upper()}] {alert.group}/{alert.check} {verb}"
    subject = subject.encode("ascii", "replace").decode().replace("\n", " ")
    return subject if len(subject) <= SUBJECT_LIMIT else subject[: SUBJECT_LIMIT - 3] + "..."


def email_body(alert: AlertDocument) -> str:
    """Readable text for an email subscriber: one ``Label: value`` per line, aligned."""
    fields: list[tuple[str, Any]] = [
        ("Check", f"{alert.group}/{alert.check}"),
        ("Status", f"{alert.status} (was {alert.previous_status})"),
        ("Severity", alert.severity),
        ("When", alert.timestamp),
        ("Reason", alert.reason),
    ]
    fields += [
        (key.replace("_", " ").capitalize(), value) for key, value in sorted(alert.details.items())
    ]
    width = max(len(label) for label, _ in fields) + 1  # the colon
    lines = [email_subject(alert), ""]
    lines += [f"{label + ':':<{width}} {value}" for label, value in fields]
    lines += ["", f"Alert id: {alert.alert_id}", "-- Vigil health checks"]
    return "\n".join(lines)


def sns_request(topic_arn: str, alert: AlertDocument) -> dict[str, Any]:
    """Keyword arguments for ``sns.publish`` carrying one alert."""
    message = {"default": json.dumps(alert.to_dict(), sort_keys=True), "email": email_body(alert)}
    attributes = {
        key: {"DataType": "String", "StringValue": value}
        for key, value in alert.attributes().items()
    }
    return {
        "TopicArn": topic_arn,
        "Subject": email_subject(alert),
        "Message": json.dumps(message),
        "MessageStructure": "json",
        "MessageAttributes": attributes,
    }
