"""PagerDuty: Events API v2. Failures open an incident (``trigger``) and the
matching recovery closes it (``resolve``) on the same ``dedup_key``, so an
incident opens and closes by itself.

Secret: ``{"routing_key": "<integration key>"}``, optionally ``"url"`` (default
the Events API v2 enqueue URL, e.g. to use the EU service region).
"""

from __future__ import annotations

from vigil.alerts.document import AlertDocument, incident_key, opens_problem
from vigil.notify.base import Channel, Request, Secret, Transport, summary
from vigil.notify.http import json_body, post

EVENTS_URL = "https://events.pagerduty.com/v2/enqueue"
SUMMARY_LIMIT = 1024  # the Events API's limit on payload.summary


def event_action(alert: AlertDocument) -> str:
    """``trigger`` for an alert that opens a problem, ``resolve`` for one that closes it
    (``opens_problem`` classifies every event; a ``monitor`` alert by its status)."""
    return "trigger" if opens_problem(alert.event, alert.status) else "resolve"


def dedup_key(alert: AlertDocument) -> str:
    """``vigil/<group>/<check>`` (``.../error_rate`` for the error-rate pair), at most the
    Events API's 255 characters."""
    return incident_key(alert.group, alert.check, alert.event)[:255]


def render(alert: AlertDocument) -> Request:
    """The event without its ``routing_key`` (``send`` adds it)."""
    action = event_action(alert)
    body: dict = {"event_action": action, "dedup_key": dedup_key(alert), "client": "Vigil"}
    if action == "trigger":
        body["payload"] = {
            "summary": summary(alert, limit=SUMMARY_LIMIT),
            "source": f"vigil/{alert.group}/{alert.check}",
            "severity": alert.severity,  # critical, warning, info: all PagerDuty severities
            "timestamp": alert.timestamp,
            "component": alert.check,
            "group": alert.group,
            "class": str(alert.event),
            "custom_details": alert.to_dict(),
        }
    return Request(body=body)


def send(request: Request, secret: Secret, transport: Transport) -> None:
    """POST the event with the routing key (PagerDuty answers 202)."""
    body = {"routing_key": secret["routing_key"], **request.body}
    post(transport, secret.get("url") or EVENTS_URL, json_body(body))


CHANNEL = Channel(
    type="pagerduty",
    render=render,
    send=send,
)
