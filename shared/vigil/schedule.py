"""When a group runs: ``every`` (aligned to the Unix epoch) or ``cron`` in a time zone.

``every`` is 10, 15, 20 or 30 seconds, or a whole number of minutes from 1 to 1440:
the scheduled times are its multiples since 1970-01-01T00:00:00Z (a 5m group runs at
:00, :05, ...; a 10s group at :00, :10, ... of every minute). A ``cron`` group runs
at the minutes its expression fires in its time zone (``vigil.cron``).

Pure functions of the schedule and a moment: the tick asks which runs fall in its
minute (``runs_between``) and which runs a group should already have counted
(``expected_before``).
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, NamedTuple

from vigil.durations import format_duration

if TYPE_CHECKING:  # only a cron group needs it (and cronsim): imported where one is parsed
    from vigil.cron import CronSchedule

SUB_MINUTE = (10.0, 15.0, 20.0, 30.0)
MAX_EVERY = 86400.0
DEFAULT_EVERY = 60.0


def every_problem(seconds: float) -> str | None:
    """Why ``seconds`` cannot be a group's ``every``, or None when it can."""
    if seconds in SUB_MINUTE:
        return None
    if seconds >= 60 and seconds <= MAX_EVERY and seconds % 60 == 0:
        return None
    return (
        f"expected 10s, 15s, 20s, 30s or a whole number of minutes from 1m to 24h, "
        f"got {format_duration(seconds)}"
    )


class Schedule(NamedTuple):
    """A group's schedule: ``every`` seconds, or ``cron`` (then ``every`` is None)."""

    every: float | None = DEFAULT_EVERY
    cron: CronSchedule | None = None

    def runs_between(self, start: datetime, end: datetime) -> list[datetime]:
        """The scheduled times in [start, end), in order (UTC)."""
        if self.cron is not None:
            return list(self.cron.starts(start, end))
        assert self.every is not None
        first = math.ceil(start.timestamp() / self.every) * self.every
        times = []
        moment = first
        while moment < end.timestamp():
            times.append(datetime.fromtimestamp(moment, UTC))
            moment += self.every
        return times

    def expected_before(self, moment: datetime, count: int) -> list[datetime]:
        """The ``count`` latest scheduled times strictly before ``moment``, newest first."""
        if self.cron is not None:
            found: list[datetime] = []
            cursor = moment - timedelta(seconds=1)
            while len(found) < count:
                start = self.cron.latest_start(cursor)
                if start is None:
                    break
                found.append(start)
                cursor = start - timedelta(seconds=1)
            return found
        assert self.every is not None
        last = math.ceil(moment.timestamp() / self.every) * self.every - self.every
        return [datetime.fromtimestamp(last - i * self.every, UTC) for i in range(count)]

    def describe(self) -> str:
        """``every 30s`` or ``cron '0 3 * * *' (Europe/Berlin)``."""
        if self.cron is not None:
            return f"cron {self.cron.expression!r} ({self.cron.zone})"
        assert self.every is not None
        return f"every {format_duration(self.every)}"

    @property
    def sub_minute(self) -> bool:
        return self.every is not None and self.every < 60
