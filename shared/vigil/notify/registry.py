"""The channel types, each registered once: ``type`` name -> where it lives, and its secret.

A channel is a module ``vigil/notify/<type>.py`` holding a pure ``render(alert) ->
Request`` and a ``send`` that makes one attempt and raises ``DeliveryError(message,
permanent=...)``, ending with ``CHANNEL = Channel(...)``. Its line below makes it a
valid ``type:`` under ``notifications:`` and says what its Secrets Manager secret must
hold. Validating a configuration reads only this table: a channel's module (and what
it imports) is loaded when the notifier first delivers to it, never by the runner.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from vigil.notify.base import Channel


class ChannelType(NamedTuple):
    """``module`` holds ``CHANNEL``; ``secret_keys``: the keys its secret's JSON object
    must hold (``None``: the type takes no secret); ``secret_lists``: keys whose value
    may also be a non-empty list of strings (a ``signing_key`` being rotated)."""

    module: str
    secret_keys: tuple[str, ...] | None
    secret_lists: tuple[str, ...] = ()

    def channel(self) -> Channel:
        return importlib.import_module(self.module).CHANNEL


REGISTRY: dict[str, ChannelType] = {
    "slack": ChannelType("vigil.notify.slack", ("url",)),
    "teams": ChannelType("vigil.notify.teams", ("url",)),
    "pagerduty": ChannelType("vigil.notify.pagerduty", ("routing_key",)),
    "webhook": ChannelType("vigil.notify.webhook", ("url",), ("signing_key",)),
    "chatbot": ChannelType("vigil.notify.chatbot", None),
}
