"""One HTTP POST to a notification endpoint, its answer judged as delivered or
``DeliveryError`` (transient or permanent).

Error messages carry the status code or the kind of network failure, never the
URL: a Slack or Teams webhook URL is itself the credential.

A receiver is not trusted either: the URL must be ``https://`` on a public
address unless the destination allows private ones (``vigil.notify.address``),
the request goes to the very address that was checked, redirects are not
followed, and at most ``READ_LIMIT`` bytes of any answer are read, as sent:
``Accept-Encoding: identity`` is asked for and a compressed answer is never
decoded (a 99 KiB gzip answer can inflate to gigabytes).
"""

from __future__ import annotations

import json
import logging
import time
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

from vigil.notify.address import public_addresses
from vigil.notify.base import DeliveryError, Transport

# httpx logs every request's URL at INFO; a webhook URL is a secret.
for _name in ("httpx", "httpcore"):
    logging.getLogger(_name).setLevel(logging.WARNING)

TRANSIENT_STATUS = frozenset({408, 425, 429})
READ_LIMIT = 64 * 1024  # bytes of an answer read at most, whatever it says its length is
EXCERPT_LIMIT = 120  # characters of an error answer kept in the error (ledger, DLQ, logs)
_DEFAULT_PORT = {"https": 443, "http": 80}


def json_body(document: dict[str, Any]) -> bytes:
    """The exact bytes sent (and signed): compact JSON, keys sorted, UTF-8."""
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def post(transport: Transport, url: str, body: bytes, headers: dict[str, str] | None = None) -> int:
    """POST ``body`` as JSON to ``url``; return the 2xx status, else raise ``DeliveryError``.

    429, 408, 425 and 5xx are transient (``retry_after`` from ``Retry-After``);
    other statuses (4xx, and 3xx: redirects are not followed) are permanent, and
    so are a URL that is not ``https://`` (``http://`` too with ``allow_private``)
    and a host with a non-public address (unless ``transport.allow_private``); a
    connection failure, a timeout or a name that does not resolve is transient.
    Without ``allow_private`` the host is resolved once, every address checked,
    and the request sent to those addresses (in order, while connections fail)
    with the host in ``Host`` and in TLS's SNI, so the certificate is still
    verified for the host name, on a connection of its own (``Connection: close``).
    """
    import httpx

    target = _target(url, transport.allow_private)
    sent_headers = {
        "Content-Type": "application/json",
        "Accept-Encoding": "identity",
        **(headers or {}),
    }
    if transport.allow_private:  # any address: httpx resolves the name itself
        attempts: list[tuple[Any, dict[str, Any]]] = [(target, {})]
    else:
        host = target.raw_host.decode("ascii")
        port = target.port or _DEFAULT_PORT[target.scheme]
        sent_headers["Host"] = target.netloc.decode("ascii")
        # A pooled connection is keyed by the address: reused for another host name on
        # the same address, its TLS would have verified the other name. One each.
        sent_headers["Connection"] = "close"
        attempts = [
            (target.copy_with(host=str(address)), {"sni_hostname": host})
            for address in public_addresses(host, port)
        ]
    for position, (address_url, extensions) in enumerate(attempts, start=1):
        try:
            return _exchange(transport.http, address_url, body, sent_headers, extensions)
        except httpx.ConnectError as exc:
            if position == len(attempts):
                raise DeliveryError(
                    f"connection failed ({type(exc).__name__})", permanent=False
                ) from None
    raise AssertionError("unreachable: at least one address is tried")


def _target(url: str, allow_private: bool) -> Any:
    """``url`` parsed; a permanent ``DeliveryError`` (never echoing it) if it cannot be used."""
    import httpx

    try:
        target = httpx.URL(url)
    except (httpx.InvalidURL, TypeError, UnicodeError):
        target = None
    allowed = ("https", "http") if allow_private else ("https",)
    if target is None or target.scheme not in allowed or not target.host:
        if allow_private:
            raise DeliveryError(
                "the secret's url must be an https:// or http:// URL", permanent=True
            )
        raise DeliveryError(
            "the secret's url must be https:// (http:// only with allow_private: true)",
            permanent=True,
        )
    return target


def _exchange(
    client: Any, url: Any, body: bytes, headers: dict[str, str], extensions: dict[str, Any]
) -> int:
    """One request; the answer's body read up to ``READ_LIMIT`` bytes, never decoded."""
    import httpx

    try:
        with client.stream(
            "POST", url, content=body, headers=headers, extensions=extensions
        ) as response:
            status = response.status_code
            if 200 <= status < 300:
                _read_bounded(response)  # lets a short answer free the connection for reuse
                return status
            excerpt = _excerpt(response, _read_bounded(response))
    except httpx.ConnectError:
        raise  # the caller tries the next address
    except httpx.TimeoutException:
        raise DeliveryError("timed out", permanent=False) from None
    except httpx.TransportError as exc:
        raise DeliveryError(f"connection failed ({type(exc).__name__})", permanent=False) from None
    transient = status in TRANSIENT_STATUS or status >= 500
    raise DeliveryError(
        f"HTTP {status}{excerpt}",
        permanent=not transient,
        retry_after=retry_after(response.headers.get("Retry-After")) if transient else None,
    )


def _read_bounded(response: Any) -> bytes:
    """The first ``READ_LIMIT`` bytes of the body as sent (compressed stays compressed).

    Reading stops there, or at the first chunk that arrives once the client's read
    timeout has passed since reading began, however slowly the receiver trickles;
    the rest is never read (the connection is closed).
    """
    import httpx

    read_timeout = response.request.extensions.get("timeout", {}).get("read") or 10.0
    stop_at = time.monotonic() + read_timeout
    chunks: list[bytes] = []
    size = 0
    try:
        for chunk in response.iter_raw():
            chunks.append(chunk[: READ_LIMIT - size])
            size += len(chunks[-1])
            if size >= READ_LIMIT or time.monotonic() > stop_at:
                break
    except httpx.TransportError:  # the answer's status was received: that is what counts
        pass
    return b"".join(chunks)


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


def _excerpt(response: Any, body: bytes) -> str:
    """``": <text>"``: a short, printable excerpt of an error answer (Slack says
    ``invalid_payload``), or nothing.

    Only from an uncompressed answer, as ASCII letters, digits, punctuation and
    single spaces, at most ``EXCERPT_LIMIT`` characters: a receiver's answer ends
    up in the ledger, the dead-letter queue and the logs, and must not bring a
    page of its own data (or control characters) there.
    """
    encoding = response.headers.get("Content-Encoding", "identity").strip().lower()
    if encoding not in ("", "identity"):
        return ""
    text = body[: EXCERPT_LIMIT * 4].decode("ascii", "replace")
    printable = "".join(c if c.isascii() and c.isprintable() else " " for c in text)
    text = " ".join(printable.split())[:EXCERPT_LIMIT]
    return f": {text}" if text else ""
