"""The configuration every check type shares: ``Defaults`` and the ``CheckConfig`` base.

Light on purpose (pydantic and the standard library only): configuration
loading imports it and every type's config model, never a check's I/O code.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PositiveInt

from vigil.durations import parse_duration
from vigil.policy.config import DependsOn, ErrorRate

Duration = Annotated[float, BeforeValidator(parse_duration)]
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"


def check_regex(pattern: str | bytes, what: str = "") -> None:
    """Raise ``ValueError`` (a config refusal) if ``pattern`` is not a regular expression.

    ``what`` prefixes the message (a header's name, say).
    """
    try:
        re.compile(pattern)
    except re.error as exc:
        prefix = f"{what}: " if what else ""
        raise ValueError(f"{prefix}not a valid regular expression: {exc}") from None


class StrictModel(BaseModel):
    """A frozen model that refuses unknown keys (the loader suggests the nearest known one)."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


class Defaults(StrictModel):
    """Settings every check inherits unless it sets its own."""

    timeout: Duration = Field(default=5.0, gt=0)
    failure_threshold: PositiveInt = 2
    success_threshold: PositiveInt = 1
    degraded_after: Duration | None = Field(default=None, gt=0)
    interval: Duration | None = Field(default=None, gt=0)
    metrics: bool = True  # per-check CloudWatch metrics: the main cost of a deployment
    # the alert policy (vigil.policy)
    reminder_every: Duration | None = Field(default=None, gt=0)
    error_rate: ErrorRate | None = None
    depends_on: DependsOn = ()
    # several locations (top-level locations): how many must see a status for it to count
    quorum: PositiveInt | None = None


class CheckConfig(Defaults):
    """Fields common to every check type; each type's model adds a ``Literal`` ``type``."""

    name: str = Field(pattern=NAME_PATTERN)
    type: str
    description: str | None = None

    @property
    def target(self) -> str:
        """What the check points at, safe to show (no credentials)."""
        raise NotImplementedError
