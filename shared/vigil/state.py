"""The alert state machine, as pure functions.

Each check has a confirmed status. An observation that differs from it starts
or extends a streak; when the streak reaches the threshold (``success_threshold``
for healthy observations, ``failure_threshold`` for any non-healthy ones) the
latest observed status is confirmed and, if it matters, a ``Transition`` is
returned — the only thing that produces an alert. An observation equal to the
confirmed status ends any streak, so a flapping target stays quiet.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from vigil.alerts.document import AlertDocument, AlertEvent, alert_id, severity_of
from vigil.results import UNKNOWN, Status


class Thresholds(NamedTuple):
    failure: int = 2
    success: int = 1


class CheckState(NamedTuple):
    """What is remembered about one check between runs."""

    status: str = UNKNOWN
    since: str | None = None
    streak_status: str | None = None
    streak: int = 0
    last_run: float | None = None  # epoch seconds of the last run (for ``interval``)
    cuts: int = 0  # consecutive runs whose deadline cut this check short
    first_run: float | None = None  # epoch seconds of its group's first run that had it

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"s": self.status}
        if self.since:
            out["t"] = self.since
        if self.streak_status:
            out["o"], out["n"] = self.streak_status, self.streak
        if self.last_run is not None:
            out["r"] = self.last_run
        if self.cuts:
            out["c"] = self.cuts
        if self.first_run is not None:
            out["f"] = self.first_run
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CheckState:
        return cls(
            status=data.get("s", UNKNOWN),
            since=data.get("t"),
            streak_status=data.get("o"),
            streak=int(data.get("n", 0)),
            last_run=data.get("r"),
            cuts=int(data.get("c", 0)),
            first_run=data.get("f"),
        )


class Transition(NamedTuple):
    """A confirmed change of a check's status that deserves an alert (a named tuple: its
    class costs a cold start a fraction of a frozen dataclass's)."""

    check: str
    event: AlertEvent  # failure, degraded or recovery
    status: str
    previous_status: str
    at: str
    reason: str
    details: dict[str, Any]

    @property
    def severity(self) -> str:
        return severity_of(self.event, self.status)

    def document(self, group: str) -> AlertDocument:
        """The alert for this transition: its id is the same for every copy (a retry or a
        repeated delivery of the run confirms it again at the same scheduled time)."""
        return AlertDocument(
            event=self.event,
            group=group,
            check=self.check,
            status=self.status,
            previous_status=self.previous_status,
            timestamp=self.at,
            reason=self.reason,
            alert_id=alert_id(group, self.check, self.event, self.at),
            details=dict(self.details),
        )


def event_for(previous: str, status: str) -> AlertEvent | None:
    """The alert event for a confirmed change, or None when it needs no alert."""
    if status == Status.HEALTHY:
        return AlertEvent.RECOVERY if previous not in (UNKNOWN, Status.HEALTHY) else None
    if status == Status.DEGRADED:
        return AlertEvent.DEGRADED
    return AlertEvent.FAILURE


def observe(
    state: CheckState,
    observed: str,
    thresholds: Thresholds,
    *,
    check: str = "",
    at: str = "",
    reason: str = "",
    details: dict[str, Any] | None = None,
) -> tuple[CheckState, Transition | None]:
    """Fold one observation into the state; return the new state and any transition."""
    if observed == state.status:
        return state._replace(streak_status=None, streak=0), None
    healthy = observed == Status.HEALTHY
    same_kind = state.streak_status is not None and (
        (state.streak_status == Status.HEALTHY) == healthy
    )
    streak = state.streak + 1 if same_kind else 1
    needed = thresholds.success if healthy else thresholds.failure
    if streak < needed:
        return state._replace(streak_status=observed, streak=streak), None
    confirmed = state._replace(status=observed, since=at, streak_status=None, streak=0)
    event = event_for(state.status, observed)
    if event is None:
        return confirmed, None
    return confirmed, Transition(
        check=check,
        event=event,
        status=observed,
        previous_status=state.status,
        at=at,
        reason=reason,
        details=dict(details or {}),
    )
