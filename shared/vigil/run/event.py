"""The runner's event, validated before anything is read or written.

``{"group": "core", "scheduled_time": "<ISO 8601>", "shard": 0}``: ``group`` a
string of at most 64 characters; ``scheduled_time`` (optional) an ISO 8601
string no more than 5 minutes ahead of now and no older than the history
retention; ``shard`` (optional, sent by the fan-out) a whole number from 0;
no other key (a typo such as ``scheduled_tme`` would silently lose the fence).
Anything else raises ``InvalidEventError``, whose message quotes at most 200
characters of the event.
"""

from __future__ import annotations

import json
from typing import Any, NamedTuple

from vigil.exceptions import InvalidEventError
from vigil.times import iso, parse_time

MAX_GROUP_LENGTH = 64
MAX_AHEAD_SECONDS = 300
QUOTE_LIMIT = 200
EXAMPLE = '{"group": "core", "scheduled_time": "<ISO 8601>"}'
EVENT_KEYS = ("group", "scheduled_time", "shard")


def quote(value: Any, limit: int = QUOTE_LIMIT) -> str:
    """At most ``limit`` characters of ``value`` (as JSON when it can be), for messages."""
    try:
        text = json.dumps(value, default=str)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


class RunRequest(NamedTuple):
    """What one invocation is asked to run."""

    group: str
    scheduled_time: str | None = None
    shard: int | None = None

    @classmethod
    def from_event(
        cls, event: Any, *, now: float | None = None, retention_days: float | None = None
    ) -> RunRequest:
        """Validate ``event``; ``now`` (epoch seconds) and ``retention_days`` bound the time."""
        if not isinstance(event, dict):
            raise InvalidEventError(f"expected an event like {EXAMPLE}, got {quote(event)}")
        unknown = sorted(str(key) for key in event if key not in EVENT_KEYS)
        if unknown:
            raise InvalidEventError(
                f"unknown key(s) {quote(unknown, 80)} in the event; expected only "
                f"{', '.join(EVENT_KEYS)}, as in {EXAMPLE}"
            )
        group = event.get("group")
        if not isinstance(group, str) or not group:
            raise InvalidEventError(
                f"'group' must be a non-empty string, in an event like {EXAMPLE}; "
                f"got {quote(event)}"
            )
        if len(group) > MAX_GROUP_LENGTH:
            raise InvalidEventError(
                f"'group' must be at most {MAX_GROUP_LENGTH} characters, got {len(group)}: "
                f"{quote(group, 80)}"
            )
        scheduled = event.get("scheduled_time")
        if scheduled is not None:
            scheduled = _scheduled_time(scheduled, now, retention_days)
        shard = event.get("shard")
        if shard is not None and (
            isinstance(shard, bool) or not isinstance(shard, int) or not 0 <= shard < 1000
        ):
            raise InvalidEventError(f"'shard' must be a whole number from 0, got {quote(shard)}")
        return cls(group=group, scheduled_time=scheduled, shard=shard)


def _scheduled_time(value: Any, now: float | None, retention_days: float | None) -> str:
    if not isinstance(value, str):
        raise InvalidEventError(
            f"'scheduled_time' must be an ISO 8601 string, got {type(value).__name__} "
            f"{quote(value, 80)}"
        )
    try:
        moment = parse_time(value)
    except (TypeError, ValueError):
        raise InvalidEventError(
            f"'scheduled_time' must be an ISO 8601 time such as 2026-11-28T10:01:00Z, "
            f"got {quote(value, 80)}"
        ) from None
    if now is not None:
        ahead = moment.timestamp() - now
        if ahead > MAX_AHEAD_SECONDS:
            raise InvalidEventError(
                f"'scheduled_time' {quote(value, 80)} is {ahead:.0f}s ahead of now; "
                f"at most {MAX_AHEAD_SECONDS}s ahead is accepted"
            )
        if retention_days is not None and -ahead > retention_days * 86400:
            raise InvalidEventError(
                f"'scheduled_time' {quote(value, 80)} is older than the history retention "
                f"({retention_days:g} days)"
            )
    return iso(moment)
