"""Scheduled times for tests and the benchmark that the runner accepts on any day.

The handler refuses a ``scheduled_time`` older than the history retention or
more than 5 minutes ahead, so fixed dates would expire: scripts run on
yesterday (``DAY``) and end, at the latest, at today's midnight (``NEXT_DAY``).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

_TODAY = datetime.now(UTC).date()
DAY = (_TODAY - timedelta(days=1)).isoformat()  # e.g. 2026-11-28
NEXT_DAY = _TODAY.isoformat()


def at(clock: str, day: str = DAY) -> str:
    """``at("10:57")`` -> ``<DAY>T10:57:00Z``."""
    return f"{day}T{clock}:00Z"
