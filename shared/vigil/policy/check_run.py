"""What every alert rule sees of one check on one run, and how rules make alerts."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

from vigil.alerts.document import AlertDocument, AlertEvent, alert_id

if TYPE_CHECKING:
    from vigil.policy.config import ErrorRate
    from vigil.state import Transition


class PolicySettings(Protocol):
    """What the rules read of a check's configuration (every check type's model has it)."""

    @property
    def name(self) -> str: ...
    @property
    def reminder_every(self) -> float | None: ...
    @property
    def error_rate(self) -> ErrorRate | None: ...


class ParentView(NamedTuple):
    """A ``depends_on`` parent as the child's run sees it.

    ``status``: its confirmed status; ``current``: its state already holds a run
    at or after the child's scheduled time (always true in the same group).
    """

    status: str
    current: bool = True


class CheckRun(NamedTuple):
    """One check on one counted run, after the thresholds (a named tuple: one is made per
    check and run, and its class costs a cold start a fraction of a frozen dataclass's)."""

    group: str
    config: PolicySettings
    run_key: str  # the scheduled time, ISO 8601: every time in the policy is this one
    run_time: float  # the same, epoch seconds
    observed: str  # the status observed on this run
    status: str  # the confirmed status after this run
    parents: dict[str, ParentView]  # group/check -> view
    transition: Transition | None = None
    window: str | None = None  # the maintenance window covering this run

    @property
    def check(self) -> str:
        return self.config.name

    def alert(
        self,
        event: AlertEvent,
        status: str,
        previous_status: str,
        reason: str,
        details: dict[str, Any] | None = None,
    ) -> AlertDocument:
        """A new alert of this run; its id is stable across retries of the run."""
        return AlertDocument(
            event=event,
            group=self.group,
            check=self.check,
            status=status,
            previous_status=previous_status,
            timestamp=self.run_key,
            reason=reason,
            alert_id=alert_id(self.group, self.check, event, self.run_key),
            details=dict(details or {}),
        )
