"""Driving the pure ``fold`` run by run, as the runner would, for the alert policy's tests.

A ``Sim`` holds one group's state and folds one run at a time (scheduled times
strictly increasing), collecting what each run alerted and every check's
confirmed status after it. ``last_alerted`` replays the alerts the way a person
reading them would: the status of the last failure, degraded or recovery alert
(``healthy`` before any).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from vigil.alerts.document import AlertDocument, AlertEvent
from vigil.config import GroupConfig, VigilConfig, parse_config
from vigil.policy.check_run import ParentView
from vigil.results import UNKNOWN, CheckResult, Status
from vigil.run.fold import FoldOutcome, fold
from vigil.store.base import GroupState
from vigil.times import iso_from_epoch

BASE = datetime(2026, 11, 30, 0, 0, tzinfo=UTC)
FAILING = ("unhealthy", "error")
STATUS_EVENTS = (AlertEvent.FAILURE, AlertEvent.DEGRADED, AlertEvent.RECOVERY)


def at(seconds: float) -> str:
    """The run key of the run scheduled ``seconds`` after ``BASE``."""
    return iso_from_epoch((BASE + timedelta(seconds=seconds)).timestamp())


def tcp(name: str, **keys: Any) -> dict[str, Any]:
    return {"name": name, "type": "tcp", "host": "db.internal", "port": 5432, **keys}


def config(groups: dict[str, list[dict[str, Any]]], **top: Any) -> VigilConfig:
    return parse_config({"groups": {g: {"checks": checks} for g, checks in groups.items()}, **top})


def result(check: str, status: str) -> CheckResult:
    return CheckResult(check, Status(status), f"observed {status}", latency_ms=1.0)


@dataclass
class Run:
    """One folded run: its key and time, what it alerted, every check's confirmed status."""

    key: str
    seconds: float
    alerts: list[AlertDocument]
    confirmed: dict[str, str]
    outcome: FoldOutcome

    def of(self, check: str) -> list[AlertDocument]:
        return [a for a in self.alerts if a.check == check]


@dataclass
class Sim:
    group: GroupConfig
    windows: tuple = ()
    state: GroupState = None  # type: ignore[assignment]
    runs: list[Run] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.state is None:
            self.state = GroupState(self.group.name)

    @classmethod
    def of(cls, vigil: VigilConfig, group: str) -> Sim:
        return cls(vigil.group(group), vigil.maintenance)

    def fold(
        self,
        seconds: float,
        results: Iterable[CheckResult],
        external: dict[str, ParentView] | None = None,
        state: GroupState | None = None,
    ) -> FoldOutcome:
        """Fold without keeping anything (a retry, or a look at what a run would do)."""
        return fold(
            self.group,
            self.state if state is None else state,
            list(results),
            run_key=at(seconds),
            owner="sim",
            now=(BASE.timestamp() + seconds),
            lease_until=(BASE.timestamp() + seconds + 60),
            windows=self.windows,
            external=external,
        )

    def step(
        self,
        seconds: float,
        statuses: dict[str, str] | list[CheckResult],
        external: dict[str, ParentView] | None = None,
    ) -> Run:
        results = (
            [result(c, s) for c, s in statuses.items()] if isinstance(statuses, dict) else statuses
        )
        outcome = self.fold(seconds, results, external)
        self.state = outcome.state
        confirmed = {name: s.status for name, s in self.state.checks.items()}
        run = Run(at(seconds), seconds, outcome.alerts, confirmed, outcome)
        self.runs.append(run)
        return run

    def alerts(self, check: str) -> list[AlertDocument]:
        return [a for run in self.runs for a in run.of(check)]

    def last_alerted(self, check: str) -> str:
        status = "healthy"
        for alert in self.alerts(check):
            if alert.event in STATUS_EVENTS:
                status = alert.status
        return status

    def view(self, check: str, seconds: float) -> ParentView:
        """How a child in another group sees ``check`` of this group when its own run is at
        ``seconds`` (what ``Runner.external_parents`` builds from the saved state)."""
        last = self.runs[-1].seconds if self.runs else None
        status = self.state.checks[check].status if check in self.state.checks else UNKNOWN
        return ParentView(status, current=last is not None and last >= seconds)


def standing(status: str) -> str:
    """What an alert stream should end on for a confirmed status (never confirmed: healthy)."""
    return "healthy" if status == UNKNOWN else status
