"""What the runner keeps between runs, and the store interface that keeps it.

One group (or one shard of a group) has one ``GroupState``: the confirmed state
of each check, the rollups of the current hour and day, the outbox of alerts
not yet delivered, the fence of runs already counted and what the alert
policy remembers of each check. Each counted run adds
one ``RunRecord`` (history, with a TTL).

The state is the only fence: ``save_state`` succeeds only on the version that
was read. Run records and completed rollups are plain puts, safe to repeat.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field

from vigil.policy.memory import AlertMemory
from vigil.results import CheckResult, Status
from vigil.rollups import CountHistory, PeriodRollups
from vigil.state import CheckState
from vigil.store.fence import RunFence
from vigil.store.outbox import PendingAlert


@dataclass(eq=False)  # mutable state: identity, not value, equality (and cheaper to create)
class GroupState:
    group: str
    shard: int = 0
    version: int = 0
    checks: dict[str, CheckState] = field(default_factory=dict)
    hour: PeriodRollups | None = None
    day: PeriodRollups | None = None
    outbox: list[PendingAlert] = field(default_factory=list)
    fence: RunFence = field(default_factory=RunFence)
    memory: dict[str, AlertMemory] = field(default_factory=dict)  # the alert policy's, per check
    updated_at: str | None = None
    last_run_key: str | None = None


@dataclass(eq=False)  # mutable state: identity, not value, equality (and cheaper to create)
class ShardSnapshot:
    """What the status API reads of one shard in one go: its state and count histories.

    ``hours``/``days`` are None until the shard has closed an hour/a day.
    """

    state: GroupState
    hours: CountHistory | None = None
    days: CountHistory | None = None


@dataclass
class RunRecord:
    """The results of one counted run, kept as history (with a TTL)."""

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
    """Persistence of group state, run history and rollups.

    Implementations: ``vigil.store.dynamodb.DynamoDBStore`` and the in-memory
    ``vigil.store.memory.MemoryStore``; one contract suite tests both.
    """

    @abstractmethod
    def load_state(self, group: str, shard: int = 0) -> GroupState:
        """The group's state, read consistently; a fresh ``GroupState`` (version 0) if none."""

    @abstractmethod
    def save_state(self, state: GroupState) -> GroupState:
        """Store ``state`` if the stored version is still ``state.version``.

        Returns the state with its new version; raises ``StoreConflictError`` if
        the stored version differs (another run saved first, or this very save
        took effect and its answer was lost: re-read to tell which).
        """

    @abstractmethod
    def put_run(self, record: RunRecord, expires_at: int) -> None:
        """Store a run record (replacing one with the same key)."""

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

    @abstractmethod
    def newest_runs(self, shards: list[tuple[str, int]]) -> dict[tuple[str, int], str | None]:
        """Each ``(group, shard)``'s newest counted run key, None where it counted none.

        Eventually consistent, in as few requests as the store allows: the tick reads
        every group's at once to see which stopped running.
        """

    # locations (a home's table) ---------------------------------------------------------
    @abstractmethod
    def put_observations(
        self,
        group: str,
        shard: int,
        run_key: str,
        region: str,
        results: list[CheckResult],
        expires_at: int,
    ) -> None:
        """A probe's results of one run, and that the probe ran it (two writes at most)."""

    @abstractmethod
    def observations(
        self, group: str, shard: int, run_key: str, regions: list[str]
    ) -> dict[str, list[CheckResult]]:
        """The results of one run from those of ``regions`` whose have arrived, by region
        (strongly consistent, one request)."""

    @abstractmethod
    def locations_seen(
        self, regions: list[str], shards: list[tuple[str, int]]
    ) -> dict[tuple[str, str, int], str | None]:
        """Each (region, group, shard)'s newest run a probe observed (None: never)."""

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
