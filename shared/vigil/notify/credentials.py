"""A destination's secret from Secrets Manager (Powertools Parameters, cached).

The secret is a JSON object of strings (``{"url": ...}``, ``{"routing_key": ...}``);
what each channel type needs is in its registry line (``vigil.notify.registry``), and a
key of its ``secret_lists`` may hold a non-empty list of strings instead (a webhook's
``signing_key`` while it is rotated). Every problem is a permanent
``DeliveryError`` that names the secret and the key, never a value.
"""

from __future__ import annotations

import json
import logging
import re
import threading

from vigil.notify.base import DeliveryError, Secret
from vigil.notify.registry import ChannelType

SECRET_MAX_AGE_SECONDS = 300
# botocore logs every response body at DEBUG, GetSecretValue's SecretString included.
logging.getLogger("botocore.parsers").setLevel(logging.INFO)
# Destinations are delivered from worker threads; the first lookup creates the boto3
# client, which is not thread-safe, so lookups are serialised (cached afterwards).
_LOCK = threading.Lock()


def destination_secret(name: str | None, channel: ChannelType, type_name: str) -> Secret:
    """The secret's JSON object, checked against ``channel.secret_keys``.

    Returns an empty mapping for a channel that takes no secret. Raises a
    permanent ``DeliveryError`` when the secret cannot be read, is not a JSON
    object of strings, or lacks a required key.
    """
    if channel.secret_keys is None:
        return {}
    if name is None:
        raise DeliveryError(f"type {type_name} needs a secret", permanent=True)
    from aws_lambda_powertools.utilities import parameters

    with _LOCK:
        try:
            raw = parameters.get_secret(name, max_age=SECRET_MAX_AGE_SECONDS)
        except parameters.exceptions.GetParameterError as exc:
            why = _error_code(exc)
            raise DeliveryError(
                f"secret {name!r} could not be read ({why})", permanent=True
            ) from None
    if isinstance(raw, bytes):
        raw = raw.decode("utf-8", "replace")
    try:
        value = json.loads(raw)
    except (TypeError, ValueError):
        value = None
    if not isinstance(value, dict) or not all(
        isinstance(item, str) or (key in channel.secret_lists and _list_of_strings(item))
        for key, item in value.items()
    ):
        raise DeliveryError(
            f"secret {name!r} must be a JSON object of strings with "
            f"{', '.join(repr(k) for k in channel.secret_keys)}"
            + "".join(
                f" ({key!r} may also be a non-empty list of strings)"
                for key in channel.secret_lists
            ),
            permanent=True,
        )
    value = {key: tuple(item) if isinstance(item, list) else item for key, item in value.items()}
    missing = [key for key in channel.secret_keys if not value.get(key)]
    if missing:
        raise DeliveryError(
            f"secret {name!r} has no {', '.join(repr(k) for k in missing)} "
            f"(type {type_name} needs it)",
            permanent=True,
        )
    return value


def _list_of_strings(value: object) -> bool:
    """A non-empty list of non-empty strings."""
    return (
        isinstance(value, list)
        and bool(value)
        and all(isinstance(item, str) and item for item in value)
    )


def _error_code(exc: BaseException) -> str:
    """The AWS error code behind Powertools' ``GetParameterError`` (never its message)."""
    cause = exc.__cause__ or exc.__context__ or exc
    code = getattr(cause, "response", {}).get("Error", {}).get("Code")
    if code:
        return str(code)
    match = re.search(r"An error occurred \((\w+)\)", str(exc))
    return match.group(1) if match else type(cause).__name__
