"""What the runner keeps between runs, and the store interface that keeps it.

One group (or one shard of a group) has one ``GroupState``: the confirmed state
of each check, the rollups of the current hour and day, and the outbox of alerts
not yet delivered. Each run adds one ``RunRecord``. Writes are fenced:
``put_run`` refuses a second record for the same run key (a repeated delivery),
and ``save_state`` only succeeds on the version that was read.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any

from vigil.checks.base import CheckResult, Status
from vigil.rollups import CountHistory, PeriodRollups
from vigil.state import CheckState


@dataclass
class PendingAlert:
    """An alert recorded in the outbox before it is published.

    A run that saves the state holding the alert's lease publishes it; if it
    cannot (SNS down, crash) the lease lapses and a later run publishes it.
    """

    alert_id: str
    document: dict[str, Any]
    created_at: str
    attempts: int = 0
    lease_owner: str | None = None
    lease_until: float = 0.0
    last_error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.alert_id,
            "doc": self.document,
            "created_at": self.created_at,
            "attempts": self.attempts,
            "lease_owner": self.lease_owner,
            "lease_until": self.lease_until,
            "last_error": self.last_error,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PendingAlert:
        return cls(
            alert_id=data["id"],
            document=data["doc"],
            created_at=data["created_at"],
            attempts=data.get("attempts", 0),
            lease_owner=data.get("lease_owner"),
            lease_until=data.get("lease_until", 0.0),
            last_error=data.get("last_error"),
        )


@dataclass
class GroupState:
    group: str
    shard: int = 0
    version: int = 0
    checks: dict[str, CheckState] = field(default_factory=dict)
    hour: PeriodRollups | None = None
    day: PeriodRollups | None = None
    outbox: list[PendingAlert] = field(default_factory=list)
    updated_at: str | None = None
    last_run_key: str | None = None


@dataclass
class ShardSnapshot:
    """What the status API reads of one shard in one go: its state and count histories.

    ``hours``/``days`` are None until the shard has closed an hour/a day.
    """

    state: GroupState
    hours: CountHistory | None = None
    days: CountHistory | None = None


@dataclass
class RunRecord:
    """The results of one run, kept as history (with a TTL)."""

    group: str
    shard: int
    run_key: str
    started_at: str
    duration_ms: float
    results: list[CheckResult]

    def counts(self) -> dict[str, int]:
        counts = {str(status): 0 for status in Status}
        for result in self.results:
            counts[str(result.status)] += 1
        return counts


class StateStore(ABC):
    """Persistence of group state, run history and rollups."""

    @abstractmethod
    def load_state(self, group: str, shard: int = 0) -> GroupState:
        """The group's state; a fresh ``GroupState`` (version 0) if none is stored."""

    @abstractmethod
    def save_state(self, state: GroupState) -> GroupState:
        """Store ``state`` if the stored version is still ``state.version``.

        Returns the state with its new version; raises ``StoreConflictError`` if
        another invocation saved first.
        """

    @abstractmethod
    def put_run(self, record: RunRecord, expires_at: int) -> bool:
        """Store a run record; False if a record with the same key exists (duplicate run)."""

    @abstractmethod
    def get_run(self, group: str, shard: int, run_key: str) -> RunRecord | None:
        """One run record, or None."""

    @abstractmethod
    def recent_runs(self, group: str, shard: int = 0, limit: int = 20) -> list[RunRecord]:
        """The newest run records, newest first."""

    @abstractmethod
    def put_rollups(self, group: str, shard: int, rollups: list[tuple[PeriodRollups, int]]) -> None:
        """Store completed period rollups, each with its expiry (epoch seconds).

        In the same write, each kind's ``CountHistory`` of the shard absorbs the
        completed periods (``HOURS_KEPT`` hours, ``DAYS_KEPT`` days), so the
        status API reads one small item per kind instead of every period's rollup.
        Writing the same rollups again changes nothing.
        """

    @abstractmethod
    def get_rollups(self, group: str, shard: int, kind: str, since: str) -> list[PeriodRollups]:
        """Completed rollups of ``kind`` (hour/day) whose period is >= ``since``, oldest first."""

    # status reads ---------------------------------------------------------------------
    # Read-only, eventually consistent: what the status API and `vigil status` need.

    @abstractmethod
    def shard_snapshots(
        self, shards: list[tuple[str, int]]
    ) -> dict[tuple[str, int], ShardSnapshot]:
        """Each ``(group, shard)``'s state and count histories (fresh ones where none is stored)."""

    @abstractmethod
    def runs_at(self, group: str, shard: int, run_keys: list[str]) -> dict[str, RunRecord]:
        """The stored run records among ``run_keys`` (scheduled times), by run key."""

    @abstractmethod
    def check_rollups(
        self, group: str, shard: int, kind: str, since: str, check: str
    ) -> list[PeriodRollups]:
        """``get_rollups`` holding only ``check``'s rollup and transitions (cheaper to decode)."""

    @abstractmethod
    def runs_between(
        self,
        group: str,
        shard: int,
        start: str,
        end: str,
        *,
        newest_first: bool = True,
        limit: int = 100,
        after: str | None = None,
        check: str | None = None,
    ) -> tuple[list[RunRecord], str | None]:
        """Run records with ``start <= run key <= end``, at most ``limit`` of them.

        ``after`` continues behind that run key (in the chosen order); with
        ``check``, each record holds only that check's result (if it ran). Returns
        the records and the run key to continue from, or None when none are left.
        """
