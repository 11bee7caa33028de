"""Maintenance windows (top-level ``maintenance:``): one-off (``start`` + ``end``, ISO
8601 with an offset) or recurring (``cron`` + ``duration`` + ``timezone``).

Imported only when a configuration has windows (time zones and cron cost a
cold start nothing otherwise).
"""

from __future__ import annotations

import fnmatch
from datetime import datetime, timedelta
from functools import cached_property

from pydantic import ConfigDict, Field, model_validator

from vigil.cron import CronSchedule, time_zone
from vigil.policy.config import Duration, PolicyModel


class MaintenanceWindow(PolicyModel):
    """A planned window: checks still run, nothing is alerted, availability leaves it out."""

    model_config = ConfigDict(extra="forbid", frozen=True, ignored_types=(cached_property,))

    name: str = Field(min_length=1, max_length=100)
    checks: tuple[str, ...] = Field(min_length=1)  # group/check, group/*, *
    start: datetime | None = None
    end: datetime | None = None
    cron: str | None = None
    duration: Duration | None = Field(default=None, gt=0)
    timezone: str = "UTC"

    @model_validator(mode="after")
    def _one_form(self) -> MaintenanceWindow:
        one_off = self.start is not None or self.end is not None
        recurring = self.cron is not None or self.duration is not None
        if one_off and recurring:
            raise ValueError("give either start and end, or cron and duration, not both")
        if one_off:
            if self.start is None or self.end is None:
                raise ValueError("a one-off window needs both start and end")
            if self.start.tzinfo is None or self.end.tzinfo is None:
                raise ValueError("start and end need an offset, e.g. 2026-12-01T02:00:00+01:00")
            if self.end <= self.start:
                raise ValueError("end must be after start")
        elif recurring:
            if self.cron is None or self.duration is None:
                raise ValueError("a recurring window needs both cron and duration")
            CronSchedule.parse(self.cron, self.timezone)  # ValueError naming the bad part
        else:
            raise ValueError("give start and end (one-off) or cron and duration (recurring)")
        time_zone(self.timezone)  # a one-off window's zone is unused, but must be one
        return self

    @cached_property
    def schedule(self) -> CronSchedule | None:
        return CronSchedule.parse(self.cron, self.timezone) if self.cron else None

    def covers(self, group: str, check: str) -> bool:
        ref = f"{group}/{check}"
        return any(fnmatch.fnmatchcase(ref, pattern) for pattern in self.checks)

    def active_at(self, moment: datetime) -> bool:
        """True when ``moment`` (aware) is in [start, end) of this window or one occurrence."""
        if self.start is not None and self.end is not None:
            return self.start <= moment < self.end
        assert self.schedule is not None and self.duration is not None
        return self.schedule.started_within(moment, timedelta(seconds=self.duration))
