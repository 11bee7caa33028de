"""Signed webhooks: the alert JSON document, unchanged, POSTed to any URL.

Headers: ``X-Vigil-Alert-Id`` (the alert's stable id: a receiver that sees it
twice can drop the copy), ``X-Vigil-Event`` and, when the secret holds a
``signing_key``, ``X-Vigil-Signature: sha256=<hex HMAC-SHA256 of the body>``.

Secret: ``{"url": "https://...", "signing_key": "<optional>"}``.
"""

from __future__ import annotations

import hashlib
import hmac

from vigil.alerts.document import AlertDocument
from vigil.notify.base import Channel, Request, Secret, Transport
from vigil.notify.http import json_body, post

SIGNATURE_HEADER = "X-Vigil-Signature"


def signature(body: bytes, signing_key: str) -> str:
    """``sha256=<hex>``: HMAC-SHA256 of the exact body bytes with the signing key."""
    digest = hmac.new(signing_key.encode(), body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def render(alert: AlertDocument) -> Request:
    """The alert document as every other subscriber of the alert topic gets it."""
    return Request(
        body=alert.to_dict(),
        headers={"X-Vigil-Alert-Id": alert.alert_id, "X-Vigil-Event": str(alert.event)},
    )


def send(request: Request, secret: Secret, transport: Transport) -> None:
    """POST the document; sign it when the secret has a ``signing_key``."""
    body = json_body(request.body)
    headers = dict(request.headers)
    if secret.get("signing_key"):
        headers[SIGNATURE_HEADER] = signature(body, secret["signing_key"])
    post(transport.http, secret["url"], body, headers)


CHANNEL = Channel(
    type="webhook",
    secret_keys=("url",),
    render=render,
    send=send,
)
