"""Signed webhooks: the alert JSON document, unchanged, POSTed to any URL.

Headers: ``X-Vigil-Alert-Id`` (the alert's stable id: a receiver that sees it
twice can drop the copy), ``X-Vigil-Event``, ``X-Vigil-Timestamp`` (the send
time, whole Unix seconds) and, when the secret holds a ``signing_key``,
``X-Vigil-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<body>">``. The
timestamp is signed with the body, so a receiver that refuses one more than 5
minutes off cannot be fed an old request again.

Secret: ``{"url": "https://...", "signing_key": "<optional>"}``; while a key is
rotated, ``signing_key`` is a list of keys and the signature header holds one
``sha256=<hex>`` per key, comma-separated, in the list's order.
"""

from __future__ import annotations

import hashlib
import hmac
import time

from vigil.alerts.document import AlertDocument
from vigil.notify.base import Channel, Request, Secret, Transport
from vigil.notify.http import json_body, post

SIGNATURE_HEADER = "X-Vigil-Signature"
TIMESTAMP_HEADER = "X-Vigil-Timestamp"
TOLERANCE_S = 300  # what receivers are told to accept: a timestamp at most 5 minutes off


def signed_content(timestamp: int, body: bytes) -> bytes:
    """What is signed: ``b"<timestamp>." + body`` (the exact body bytes sent)."""
    return f"{timestamp}.".encode() + body


def signature(timestamp: int, body: bytes, signing_key: str) -> str:
    """``sha256=<hex>``: HMAC-SHA256 of ``"<timestamp>.<body>"`` with one signing key."""
    content = signed_content(timestamp, body)
    return "sha256=" + hmac.new(signing_key.encode(), content, hashlib.sha256).hexdigest()


def signatures(timestamp: int, body: bytes, signing_keys: str | tuple[str, ...]) -> str:
    """The ``X-Vigil-Signature`` value: one signature per key, comma-separated."""
    keys = (signing_keys,) if isinstance(signing_keys, str) else signing_keys
    return ",".join(signature(timestamp, body, key) for key in keys)


def render(alert: AlertDocument) -> Request:
    """The alert document as every other subscriber of the alert topic gets it."""
    return Request(
        body=alert.to_dict(),
        headers={"X-Vigil-Alert-Id": alert.alert_id, "X-Vigil-Event": str(alert.event)},
    )


def send(request: Request, secret: Secret, transport: Transport) -> None:
    """POST the document with the send time; sign both when the secret has a ``signing_key``.

    Each attempt has its own timestamp (and signatures): a retry is a new send.
    """
    body = json_body(request.body)
    timestamp = int(time.time())
    headers = {**request.headers, TIMESTAMP_HEADER: str(timestamp)}
    signing_key = secret.get("signing_key")
    if signing_key:
        headers[SIGNATURE_HEADER] = signatures(timestamp, body, signing_key)
    post(transport, secret["url"], body, headers)


CHANNEL = Channel(
    type="webhook",
    render=render,
    send=send,
)
