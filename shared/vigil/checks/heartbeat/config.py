"""The configuration of a heartbeat check (``type: heartbeat``): a job that must report in.

Exactly one of ``period`` (a ping is due that long after the last success) or ``cron``
(due at the expression's first time after the last success, in ``timezone``);
``grace`` (default 5m) before a late ping is a failure; ``max_duration`` (default:
``grace``) for a run reported started.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import cached_property
from typing import Literal

from pydantic import ConfigDict, Field, model_validator

from vigil.checks.model import CheckConfig, Duration

DEFAULT_GRACE = 300.0


class HeartbeatCheckConfig(CheckConfig):
    model_config = ConfigDict(ignored_types=(cached_property,))

    type: Literal["heartbeat"]
    period: Duration | None = Field(default=None, gt=0)
    cron: str | None = Field(default=None, min_length=1)
    timezone: str | None = None
    grace: Duration = Field(default=DEFAULT_GRACE, ge=0)
    max_duration: Duration | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _one_schedule(self) -> HeartbeatCheckConfig:
        if (self.period is None) == (self.cron is None):
            raise ValueError("give either period or cron (with an optional timezone)")
        if self.timezone is not None and self.cron is None:
            raise ValueError("timezone applies to cron; this heartbeat has a period")
        if self.cron is not None:
            from vigil.cron import CronSchedule  # cronsim: only for a cron heartbeat

            CronSchedule.parse(self.cron, self.timezone or "UTC")  # ValueError: what and where
        return self

    @cached_property
    def _schedule(self):
        from vigil.cron import CronSchedule

        return CronSchedule.parse(self.cron, self.timezone or "UTC") if self.cron else None

    def expected_after(self, moment: datetime) -> datetime:
        """When a ping is due after a success (or the first run) at ``moment``."""
        if self._schedule is not None:
            return self._schedule.next_start(moment)
        assert self.period is not None
        return moment + timedelta(seconds=self.period)

    @property
    def grace_span(self) -> timedelta:
        return timedelta(seconds=self.grace)

    @property
    def max_duration_span(self) -> timedelta:
        return timedelta(seconds=self.max_duration if self.max_duration is not None else self.grace)

    @property
    def target(self) -> str:
        return f"heartbeat {self.name}"
