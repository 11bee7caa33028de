"""Cron expressions in a time zone: maintenance windows (and group schedules).

Five fields (minute hour day-of-month month day-of-week), read by cronsim - the
library Healthchecks.io wrote for the same job - as Debian's cron reads them:
names (``JAN``, ``MON``), ranges, steps, lists; day-of-week 0 and 7 are Sunday;
when both day fields are restricted (neither starts with ``*``) a day matching
either one matches. Times are wall-clock times in the expression's zone, and a
daylight-saving change is handled as Debian's cron handles it: a time the spring
change skips fires at the first minute after the change, a time the autumn
change repeats fires once (expressions with a wildcard minute or hour fire at
every real minute or hour instead).

Every moment given or returned here is timezone-aware.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cronsim import CronSim, CronSimError

FIELDS = "minute hour day-of-month month day-of-week"


class CronSchedule:
    """A five-field expression in a time zone (``parse`` validates both)."""

    __slots__ = ("expression", "zone")

    def __init__(self, expression: str, zone: tzinfo) -> None:
        self.expression = expression
        self.zone = zone

    @classmethod
    def parse(cls, expression: str, timezone: str = "UTC") -> CronSchedule:
        """Raises ``ValueError`` naming what is wrong: the number of fields, the field
        cronsim refused, or an unknown time zone."""
        parts = expression.split()
        if len(parts) != 5:
            raise ValueError(f"cron needs 5 fields ({FIELDS}), got {len(parts)}: {expression!r}")
        zone = time_zone(timezone)
        try:
            CronSim(expression, datetime(2000, 1, 1, tzinfo=UTC))
        except CronSimError as exc:  # "Bad minute", "Bad day-of-week", ...
            raise ValueError(f"{str(exc).lower()} in {expression!r} ({FIELDS})") from None
        return cls(" ".join(parts), zone)

    def _iterate(self, moment: datetime, reverse: bool) -> CronSim:
        return CronSim(self.expression, moment.astimezone(self.zone), reverse=reverse)

    def latest_start(self, moment: datetime) -> datetime | None:
        """The latest time at or before ``moment`` the expression fires (in UTC)."""
        # cronsim steps one second back before it looks: start a second later, so that a
        # start at ``moment`` itself is found (cron times have no seconds).
        after = moment.replace(microsecond=0) + timedelta(seconds=1)
        found = next(self._iterate(after, reverse=True), None)
        return None if found is None else found.astimezone(UTC)

    def next_start(self, moment: datetime) -> datetime:
        """The first time strictly after ``moment`` the expression fires (in UTC)."""
        return next(self._iterate(moment, reverse=False)).astimezone(UTC)

    def starts(self, start: datetime, end: datetime) -> Iterator[datetime]:
        """Every time in [start, end) the expression fires, in order (in UTC)."""
        moment = start - timedelta(seconds=1)
        for found in self._iterate(moment, reverse=False):
            fired = found.astimezone(UTC)
            if fired >= end:
                return
            if fired >= start:
                yield fired

    def started_within(self, moment: datetime, duration: timedelta) -> bool:
        """Whether a start s exists with s <= moment < s + duration (real time)."""
        start = self.latest_start(moment)
        return start is not None and moment - start < duration


def time_zone(name: str) -> tzinfo:
    """The IANA zone ``name``; ``ValueError`` naming it when it is not one."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"unknown timezone {name!r}; use an IANA name such as Europe/Paris"
        ) from None
