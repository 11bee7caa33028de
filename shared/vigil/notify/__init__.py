"""Notifications: one module per channel, registered here with one line each.

A channel module holds a pure ``render(alert) -> Request`` and a ``send`` that
makes one attempt and raises ``DeliveryError(message, permanent=...)``; it ends
with ``CHANNEL = Channel(...)``. Add it to ``CHANNELS`` below and it is a valid
``type:`` under ``notifications:``.
"""

from __future__ import annotations

from vigil.notify import chatbot, pagerduty, slack, teams, webhook
from vigil.notify.base import Channel, DeliveryError, Request, Transport

CHANNELS: dict[str, Channel] = {
    channel.type: channel
    for channel in (
        slack.CHANNEL,
        teams.CHANNEL,
        pagerduty.CHANNEL,
        webhook.CHANNEL,
        chatbot.CHANNEL,
    )
}

__all__ = ["CHANNELS", "Channel", "DeliveryError", "Request", "Transport"]
