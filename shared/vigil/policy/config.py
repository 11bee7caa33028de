"""The alert policy's per-check configuration: ``reminder_every``, ``error_rate`` and
``depends_on`` (each also under ``defaults``). The top-level maintenance windows
are in ``vigil.policy.windows``, imported only by a configuration that has some.

Light on purpose (pydantic only): every configuration load imports it.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PositiveInt

from vigil.durations import parse_duration

Duration = Annotated[float, BeforeValidator(parse_duration)]


class PolicyModel(BaseModel):
    """Built only inside the schema of a model that uses it (its own is never needed)."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


class ErrorRate(PolicyModel):
    """``{window, above, min_runs}``: alert on intermittent failures that never confirm."""

    window: Duration = Field(gt=0)
    above: float = Field(gt=0, le=100)  # percent of unhealthy/error observations
    min_runs: PositiveInt = 5


def parent_ref(group: str, ref: str) -> str:
    """``name`` (same group) or ``group/name`` -> ``group/name``."""
    return ref if "/" in ref else f"{group}/{ref}"


def as_list(value: Any) -> Any:
    """``depends_on: db`` is read as ``[db]``."""
    return [value] if isinstance(value, str) else value


DependsOn = Annotated[tuple[Annotated[str, Field(min_length=1)], ...], BeforeValidator(as_list)]
