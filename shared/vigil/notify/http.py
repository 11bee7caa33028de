"""One HTTP POST to a notification endpoint, its answer judged as delivered or
``DeliveryError`` (transient or permanent).

Error messages carry the status code or the kind of network failure, never the
URL: a Slack or Teams webhook URL is itself the credential.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

from vigil.notify.base import DeliveryError

# httpx logs every request's URL at INFO; a webhook URL is a secret.
for _name in ("httpx", "httpcore"):
    logging.getLogger(_name).setLevel(logging.WARNING)

TRANSIENT_STATUS = frozenset({408, 425, 429})


def json_body(document: dict[str, Any]) -> bytes:
    """The exact bytes sent (and signed): compact JSON, keys sorted, UTF-8."""
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def post(client: Any, url: str, body: bytes, headers: dict[str, str] | None = None) -> int:
    """POST ``body`` as JSON; return the 2xx status, else raise ``DeliveryError``.

    429, 408, 425 and 5xx are transient (``retry_after`` from ``Retry-After``);
    other statuses (4xx, and 3xx: redirects are not followed) are permanent, and
    so is a URL that is not http(s); a connection failure or timeout is transient.
    """
    import httpx

    try:
        response = client.post(
            url, content=body, headers={"Content-Type": "application/json", **(headers or {})}
        )
    except (httpx.UnsupportedProtocol, httpx.InvalidURL):
        raise DeliveryError(
            "the secret's url is not a valid http:// or https:// URL", permanent=True
        ) from None
    except httpx.TimeoutException:
        raise DeliveryError("timed out", permanent=False) from None
    except httpx.TransportError as exc:
        raise DeliveryError(f"connection failed ({type(exc).__name__})", permanent=False) from None
    status = response.status_code
    if 200 <= status < 300:
        return status
    transient = status in TRANSIENT_STATUS or status >= 500
    raise DeliveryError(
        f"HTTP {status}{_hint(response)}",
        permanent=not transient,
        retry_after=retry_after(response.headers.get("Retry-After")) if transient else None,
    )


def retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or HTTP-date)."""
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def _hint(response: Any) -> str:
    """A short, printable excerpt of an error answer (Slack says ``invalid_payload``)."""
    try:
        text = response.text
    except Exception:  # undecodable body: the status says enough
        return ""
    text = " ".join(text.split())[:120]
    return f": {text}" if text else ""
