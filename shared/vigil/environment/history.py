"""How long history is kept: ``HEALTHCHECK_HISTORY_DAYS`` (the runner's results and the
ping function's pings expire with it). Standard library only: the ping function's
cold start imports it, not the runner's builder."""

from __future__ import annotations

import os

from vigil.exceptions import VigilError

HISTORY_ENV = "HEALTHCHECK_HISTORY_DAYS"


def history_days() -> int:
    """Days of run history kept (``HEALTHCHECK_HISTORY_DAYS``, default 30)."""
    value = os.environ.get(HISTORY_ENV) or "30"
    try:
        days = int(value)
    except ValueError:
        raise VigilError(f"{HISTORY_ENV} must be a whole number of days, got {value!r}") from None
    if days < 1:
        raise VigilError(f"{HISTORY_ENV} must be at least 1, got {days}")
    return days
