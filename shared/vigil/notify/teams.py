"""Microsoft Teams: a Workflows ("When a Teams webhook request is received")
webhook receives a message with one Adaptive Card attachment.

Secret: ``{"url": "https://<tenant>.logic.azure.com/workflows/..."}``.
"""

from __future__ import annotations

from vigil.alerts.document import AlertDocument
from vigil.notify.base import Channel, Request, Secret, Transport, headline
from vigil.notify.http import json_body, post
from vigil.notify.markup import commonmark

CARD_CONTENT_TYPE = "application/vnd.microsoft.card.adaptive"
CARD_SCHEMA = "http://adaptivecards.io/schemas/adaptive-card.json"
_COLOR = {"critical": "Attention", "warning": "Warning", "info": "Good"}


def card(alert: AlertDocument) -> dict:
    """The Adaptive Card (version 1.4, what Teams renders) for one alert.

    Every text it shows is Markdown to Teams (``TextBlock`` and ``Fact`` values):
    each is escaped (``vigil.notify.markup.commonmark``), so a reason holding
    ``[click](https://evil.example)`` shows as written, not as a link.
    """
    facts = [
        {"title": "Status", "value": f"{alert.status} (was {alert.previous_status})"},
        {"title": "Severity", "value": alert.severity},
        {"title": "Check", "value": f"{alert.group}/{alert.check}"},
        {"title": "When", "value": alert.timestamp},
        {"title": "Alert", "value": alert.alert_id},
    ]
    body: list[dict] = [
        {
            "type": "TextBlock",
            "text": headline(alert, commonmark),
            "weight": "Bolder",
            "size": "Medium",
            "color": _COLOR.get(alert.severity, "Default"),
            "wrap": True,
        }
    ]
    if alert.reason:
        body.append({"type": "TextBlock", "text": commonmark(alert.reason), "wrap": True})
    body.append(
        {
            "type": "FactSet",
            "facts": [{**fact, "value": commonmark(fact["value"])} for fact in facts],
        }
    )
    return {"type": "AdaptiveCard", "$schema": CARD_SCHEMA, "version": "1.4", "body": body}


def render(alert: AlertDocument) -> Request:
    """``{"type": "message", "attachments": [<the Adaptive Card>]}``."""
    return Request(
        body={
            "type": "message",
            "attachments": [{"contentType": CARD_CONTENT_TYPE, "content": card(alert)}],
        }
    )


def send(request: Request, secret: Secret, transport: Transport) -> None:
    """POST to the Workflows webhook (it answers 202 Accepted)."""
    post(transport, secret["url"], json_body(request.body))


CHANNEL = Channel(type="teams", render=render, send=send)
