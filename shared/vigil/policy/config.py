"""The alert policy's configuration: per-check keys and top-level maintenance windows.

Light on purpose (pydantic and the standard library): configuration loading
imports it. Per check (and under ``defaults``): ``reminder_every``,
``error_rate`` and ``depends_on``. Top level: ``maintenance``, a list of
windows, each one-off (``start`` + ``end``) or recurring (``cron`` +
``duration`` + ``timezone``).
"""

from __future__ import annotations

import fnmatch
from datetime import datetime, timedelta
from functools import cached_property
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PositiveInt, model_validator

from vigil.durations import parse_duration
from vigil.policy.cron import CronSchedule

Duration = Annotated[float, BeforeValidator(parse_duration)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ErrorRate(_Strict):
    """``{window, above, min_runs}``: alert on intermittent failures that never confirm."""

    window: Duration = Field(gt=0)
    above: float = Field(gt=0, le=100)  # percent of unhealthy/error observations
    min_runs: PositiveInt = 5


class MaintenanceWindow(_Strict):
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
            CronSchedule.parse(self.cron)  # raises ValueError naming the bad field
        else:
            raise ValueError("give start and end (one-off) or cron and duration (recurring)")
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown timezone {self.timezone!r}; use an IANA name such as Europe/Paris"
            ) from None
        return self

    @cached_property
    def schedule(self) -> CronSchedule | None:
        return CronSchedule.parse(self.cron) if self.cron else None

    def covers(self, group: str, check: str) -> bool:
        ref = f"{group}/{check}"
        return any(fnmatch.fnmatchcase(ref, pattern) for pattern in self.checks)

    def active_at(self, moment: datetime) -> bool:
        """True when ``moment`` (aware) is in [start, end) of this window or one occurrence."""
        if self.start is not None and self.end is not None:
            return self.start <= moment < self.end
        assert self.schedule is not None and self.duration is not None
        local = moment.astimezone(ZoneInfo(self.timezone))
        return self.schedule.started_within(local, timedelta(seconds=self.duration))


def parent_ref(group: str, ref: str) -> str:
    """``name`` (same group) or ``group/name`` -> ``group/name``."""
    return ref if "/" in ref else f"{group}/{ref}"


def as_list(value: Any) -> Any:
    """``depends_on: db`` is read as ``[db]``."""
    return [value] if isinstance(value, str) else value


DependsOn = Annotated[tuple[Annotated[str, Field(min_length=1)], ...], BeforeValidator(as_list)]
