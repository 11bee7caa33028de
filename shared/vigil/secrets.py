"""Secrets Manager lookups for checks, through Powertools Parameters (cached)."""

from __future__ import annotations

import threading
from typing import Any

from vigil.exceptions import CheckSetupError

SECRET_MAX_AGE_SECONDS = 300
# Checks call this from worker threads; the first call creates the boto3 client,
# which is not thread-safe, so lookups are serialised (they are cached after that).
_LOCK = threading.Lock()


def fetch_secret(name: str) -> Any:
    """Return the secret's value (cached for 5 minutes); raise ``CheckSetupError`` if unreadable."""
    from aws_lambda_powertools.utilities import parameters

    with _LOCK:
        try:
            return parameters.get_secret(name, max_age=SECRET_MAX_AGE_SECONDS)
        except parameters.exceptions.GetParameterError as exc:
            cause = exc.__cause__ or exc
            code = getattr(cause, "response", {}).get("Error", {}).get("Code")
            why = code or type(cause).__name__
            raise CheckSetupError(f"secret {name!r} could not be read ({why})") from None
