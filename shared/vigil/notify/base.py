"""What every notification channel shares: the request it renders, the error its
``send`` raises, and the one-line summary of an alert.

A channel is one module with a pure ``render(alert) -> Request`` (no credentials,
no I/O: what the demo shows and the tests compare) and a ``send(request, secret,
transport)`` that performs one attempt and raises ``DeliveryError`` saying
whether trying again can help. Retries live in ``vigil.notify.delivery``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from vigil.alerts.document import AlertDocument, AlertEvent

# A destination's secret: the JSON object stored in Secrets Manager, never logged. Its
# values are strings, except a key its type's registry line lists in ``secret_lists``
# (a webhook's ``signing_key`` while rotating), which may be a tuple of them.
Secret = Mapping[str, str | tuple[str, ...]]

_VERB = {
    "healthy": "is healthy",
    "degraded": "is degraded",
    "unhealthy": "is unhealthy",
    "error": "cannot be checked",
}


class DeliveryError(Exception):
    """One attempt to deliver failed.

    ``permanent``: trying again cannot help (a 4xx other than 408/429, a missing
    secret, a destination that no longer exists). ``retry_after``: seconds the
    destination asked us to wait (HTTP ``Retry-After``), when it said so. The
    message names the destination's problem and never holds a URL or a secret.
    """

    def __init__(self, message: str, *, permanent: bool, retry_after: float | None = None):
        super().__init__(message)
        self.permanent = permanent
        self.retry_after = retry_after


@dataclass(frozen=True)
class Request:
    """What a channel sends for one alert, before credentials are added.

    ``body`` is the JSON document; ``headers`` the extra HTTP headers that do not
    depend on a secret (a webhook's signature is added by ``send``).
    """

    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Transport:
    """The clients a ``send`` uses: ``http`` an ``httpx.Client``, ``sns`` a boto3 SNS client.

    ``chat_topic_arn`` is the stack's chat topic (the ``chatbot`` channel), if any.
    ``allow_private``: the destination being served set ``allow_private: true``
    (its URL may be ``http://`` and on a non-public address; see ``vigil.notify.address``).
    """

    http: Any
    sns: Any = None
    chat_topic_arn: str | None = None
    allow_private: bool = False


@dataclass(frozen=True)
class Channel:
    """A channel type: its name and its two functions. What its secret holds is in
    ``vigil.notify.registry``; a type that takes no secret gets an empty mapping (a
    key of ``secret_lists`` comes as a tuple)."""

    type: str
    render: Callable[[AlertDocument], Request]
    send: Callable[[Request, Secret, Transport], None]


def headline(alert: AlertDocument, escape: Callable[[str], str] = str) -> str:
    """``[FAILURE] core/api is unhealthy`` — the alert in a few words.

    ``escape`` is applied to what comes from the document (names, a status), not
    to Vigil's own words: a channel passes its markup's escape (``vigil.notify.markup``).
    """
    if alert.event is AlertEvent.MONITOR:
        state = "in ALARM" if alert.status != "healthy" else "back to OK"
        return f"[MONITOR] Vigil alarm {escape(alert.check)} {state}"
    verb = _VERB.get(alert.status) or f"is {escape(alert.status)}"
    return f"[{alert.event.upper()}] {escape(alert.group)}/{escape(alert.check)} {verb}"


def summary(alert: AlertDocument, limit: int = 1024) -> str:
    """The headline and the reason on one line, at most ``limit`` characters."""
    reason = " ".join(alert.reason.split())
    text = f"{headline(alert)}: {reason}" if reason else headline(alert)
    return text if len(text) <= limit else text[: limit - 1] + "…"
