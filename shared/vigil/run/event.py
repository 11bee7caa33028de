"""The runner's events, validated before anything is read or written.

- A run: ``{"group": "core", "scheduled_time": "<ISO 8601>", "shard": 0}``: ``group``
  a string of at most 64 characters; ``scheduled_time`` (optional) an ISO 8601
  string no more than 5 minutes ahead of now and no older than the history
  retention; ``shard`` (optional, sent by the fan-out) a whole number from 0; no
  other key (a typo such as ``scheduled_tme`` would silently lose the fence).
- A tick: ``{"tick": "<ISO 8601>"}`` (the one schedule's
  ``<aws.scheduler.scheduled-time>``), its time validated as ``scheduled_time``.
- A batch of the run queue (an SQS event): ``{"Records": [...]}``, each record's
  ``body`` a run event, validated one by one (``RunRequest.from_event``).

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
TICK_EXAMPLE = '{"tick": "<ISO 8601>"}'


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
            raise InvalidEventError(
                f"expected an event like {EXAMPLE} or {TICK_EXAMPLE}, got {quote(event, 150)}"
            )
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


def _scheduled_time(
    value: Any, now: float | None, retention_days: float | None, *, name: str = "scheduled_time"
) -> str:
    if not isinstance(value, str):
        raise InvalidEventError(
            f"'{name}' must be an ISO 8601 string, got {type(value).__name__} {quote(value, 80)}"
        )
    try:
        moment = parse_time(value)
    except (TypeError, ValueError):
        raise InvalidEventError(
            f"'{name}' must be an ISO 8601 time such as 2026-11-28T10:01:00Z, "
            f"got {quote(value, 80)}"
        ) from None
    if now is not None:
        ahead = moment.timestamp() - now
        if ahead > MAX_AHEAD_SECONDS:
            raise InvalidEventError(
                f"'{name}' {quote(value, 80)} is {ahead:.0f}s ahead of now; "
                f"at most {MAX_AHEAD_SECONDS}s ahead is accepted"
            )
        if retention_days is not None and -ahead > retention_days * 86400:
            raise InvalidEventError(
                f"'{name}' {quote(value, 80)} is older than the history retention "
                f"({retention_days:g} days)"
            )
    return iso(moment)


class TickRequest(NamedTuple):
    """A tick: dispatch the runs of the minute of ``tick`` (ISO 8601, UTC)."""

    tick: str

    @classmethod
    def from_event(
        cls, event: Any, *, now: float | None = None, retention_days: float | None = None
    ) -> TickRequest:
        """Validate ``{"tick": <ISO 8601>}`` (its time as a run's ``scheduled_time``)."""
        if not isinstance(event, dict) or set(event) != {"tick"}:
            raise InvalidEventError(f"expected a tick like {TICK_EXAMPLE}, got {quote(event)}")
        return cls(_scheduled_time(event["tick"], now, retention_days, name="tick"))


class QueueBatch(NamedTuple):
    """Runs delivered by the run queue (an SQS event); each record is validated as it is run."""

    event: dict[str, Any]


def parse_event(
    event: Any, *, now: float | None = None, retention_days: float | None = None
) -> RunRequest | TickRequest | QueueBatch:
    """Which of the runner's events ``event`` is, validated (``InvalidEventError`` if none)."""
    if isinstance(event, dict) and "tick" in event:
        return TickRequest.from_event(event, now=now, retention_days=retention_days)
    if isinstance(event, dict) and isinstance(event.get("Records"), list):
        records = event["Records"]
        if records and all(
            isinstance(r, dict) and r.get("eventSource") == "aws:sqs" for r in records
        ):
            return QueueBatch(event)
        raise InvalidEventError(f"expected an SQS event of the run queue, got {quote(event, 150)}")
    return RunRequest.from_event(event, now=now, retention_days=retention_days)
