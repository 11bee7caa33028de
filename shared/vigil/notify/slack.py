"""Slack: an incoming webhook receives ``text`` (the summary, shown in
notifications) and Block Kit ``blocks`` (what the channel displays).

Secret: ``{"url": "https://hooks.slack.com/services/..."}``.
"""

from __future__ import annotations

from vigil.alerts.document import AlertDocument
from vigil.notify.base import Channel, Request, Secret, Transport, headline, summary
from vigil.notify.http import json_body, post
from vigil.notify.markup import slack_mrkdwn as _escape

_EMOJI = {
    "critical": ":red_circle:",
    "warning": ":large_orange_circle:",
    "info": ":large_green_circle:",
}
TEXT_LIMIT = 2900  # a section's text may hold 3000 characters


def render(alert: AlertDocument) -> Request:
    """The webhook body: ``text`` plus header, facts, reason and context blocks."""
    fields = [
        ("Status", f"{alert.status} (was {alert.previous_status})"),
        ("Severity", alert.severity),
        ("Check", f"{alert.group}/{alert.check}"),
        ("When", alert.timestamp),
    ]
    blocks: list[dict] = [
        {
            "type": "header",
            "text": {"type": "plain_text", "text": headline(alert)[:150], "emoji": True},
        },
        {
            "type": "section",
            "fields": [
                {"type": "mrkdwn", "text": f"*{label}*\n{_escape(value)}"}
                for label, value in fields
            ],
        },
    ]
    if alert.reason:
        blocks.append(
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": _escape(alert.reason)[:TEXT_LIMIT]},
            }
        )
    blocks.append(
        {
            "type": "context",
            "elements": [
                {
                    "type": "mrkdwn",
                    "text": f"{_EMOJI.get(alert.severity, '')} Vigil · "
                    f"{alert.event} · alert {_escape(alert.alert_id)}",
                }
            ],
        }
    )
    return Request(body={"text": summary(alert, limit=TEXT_LIMIT), "blocks": blocks})


def send(request: Request, secret: Secret, transport: Transport) -> None:
    """POST to the incoming webhook (Slack answers 200 ``ok``)."""
    post(transport, secret["url"], json_body(request.body))


CHANNEL = Channel(type="slack", render=render, send=send)
