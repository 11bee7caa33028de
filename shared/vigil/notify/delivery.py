"""Delivering one alert to one destination: read its secret, render, send, retry.

Transient failures are retried with exponential backoff; a ``Retry-After`` the
destination sent (HTTP 429) is honoured instead, when it fits in
``RetryPolicy.max_retry_after`` and before the deadline. Permanent failures
(other 4xx, a missing secret) are not retried. The outcome says what happened;
nothing here raises, so one destination never stops another.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass, replace
from time import sleep
from typing import Any
from urllib.parse import urlsplit

from vigil.alerts.document import AlertDocument
from vigil.notify.base import DeliveryError, Transport
from vigil.notify.config import Destination
from vigil.notify.credentials import destination_secret
from vigil.notify.registry import REGISTRY
from vigil.redact import scrub
from vigil.retry import DELIVERY, Backoff

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RetryPolicy:
    """How a destination is retried: ``backoff`` (4 attempts in all, waiting 1, 2, then 4
    s), unless the destination asked for a ``Retry-After`` of at most ``max_retry_after``."""

    backoff: Backoff = DELIVERY
    max_retry_after: float = 30.0

    @property
    def attempts(self) -> int:
        return self.backoff.attempts

    def wait(self, attempt: int, retry_after: float | None) -> float | None:
        """Seconds to wait after failed attempt ``attempt`` (1-based); ``None`` = give up."""
        if retry_after is not None:
            return retry_after if retry_after <= self.max_retry_after else None
        return self.backoff.delay(attempt)


@dataclass(frozen=True)
class DeliveryOutcome:
    """What became of one alert at one destination (stored as the ledger's result)."""

    destination: str
    type: str
    delivered: bool
    attempts: int
    error: str | None = None
    permanent: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DeliveryOutcome:
        return cls(**{key: data[key] for key in cls.__dataclass_fields__ if key in data})


def deliver(
    alert: AlertDocument,
    destination: Destination,
    transport: Transport,
    *,
    policy: RetryPolicy = RetryPolicy(),
    deadline: float | None = None,
) -> DeliveryOutcome:
    """Deliver ``alert`` to ``destination``; ``deadline`` is a ``time.monotonic()`` value.

    1. Read the destination's secret (a problem there is permanent).
    2. Render the request once (pure).
    3. Send (``transport.allow_private`` is the destination's ``allow_private``);
       on a transient ``DeliveryError`` wait as ``policy`` says and send again,
       until delivered, permanent, out of attempts or past ``deadline``.
    """
    channel_type = REGISTRY[destination.type]
    channel = channel_type.channel()

    def failed(error: str, attempts: int, permanent: bool) -> DeliveryOutcome:
        return DeliveryOutcome(
            destination.name, destination.type, False, attempts, error, permanent
        )

    try:
        secret = destination_secret(destination.secret, channel_type, destination.type)
    except DeliveryError as exc:
        return failed(str(exc), 0, True)
    try:
        request = channel.render(alert)
    except Exception as exc:  # a bug in a renderer must not stop the other destinations
        logger.error("destination %s: rendering failed (%s)", destination.name, type(exc).__name__)
        return failed(f"rendering failed ({type(exc).__name__})", 0, True)

    transport = replace(transport, allow_private=destination.allow_private)
    attempt = 0
    while True:
        attempt += 1
        try:
            channel.send(request, secret, transport)
            return DeliveryOutcome(destination.name, destination.type, True, attempt)
        except DeliveryError as exc:
            error = scrub(str(exc), _secret_values(secret.values()))
            if exc.permanent:
                return failed(error, attempt, True)
            wait = policy.wait(attempt, exc.retry_after)
            if attempt >= policy.attempts:
                return failed(f"{error} (gave up after {attempt} attempts)", attempt, False)
            if wait is None:
                return failed(
                    f"{error} (asked to retry after {exc.retry_after:.0f} s, more than "
                    f"{policy.max_retry_after:.0f} s)",
                    attempt,
                    False,
                )
            if deadline is not None and time.monotonic() + wait > deadline:
                return failed(f"{error} (no time left to retry)", attempt, False)
            logger.warning(
                "destination %s: attempt %d failed (%s); retrying in %.1f s",
                destination.name,
                attempt,
                error,
                wait,
            )
            sleep(wait)
        except Exception as exc:  # a bug in a sender: permanent, and never its message
            logger.error(
                "destination %s: sending failed (%s)", destination.name, type(exc).__name__
            )
            return failed(f"sending failed ({type(exc).__name__})", attempt, True)


def _secret_values(values: Iterable[str | tuple[str, ...]]) -> list[str]:
    """Every string of a secret (the keys of a rotated ``signing_key`` one by one), and
    the path and query of a URL among them: a receiver that echoes its request line
    would otherwise put a webhook's token in the error."""
    found: list[str] = []
    for value in values:
        for item in (value,) if isinstance(value, str) else value:
            found.append(item)
            if item.startswith(("https://", "http://")):
                parts = urlsplit(item)
                found += [parts.path, parts.query]
    return found
