"""An in-memory ``StateStore``: the fake for unit tests and the CLI's local runs.

It keeps copies, never the caller's objects, and enforces the same version
fence as DynamoDB, so the store contract suite runs against both.
"""

from __future__ import annotations

import copy
from dataclasses import replace

from vigil.exceptions import StoreConflictError
from vigil.rollups import PeriodRollups
from vigil.store.base import GroupState, RunRecord, StateStore


class MemoryStore(StateStore):
    def __init__(self) -> None:
        self.states: dict[tuple[str, int], GroupState] = {}
        self.runs: dict[tuple[str, int], dict[str, tuple[RunRecord, int]]] = {}
        self.rollups: dict[tuple[str, int, str], dict[str, tuple[PeriodRollups, int]]] = {}

    def load_state(self, group: str, shard: int = 0) -> GroupState:
        stored = self.states.get((group, shard))
        return copy.deepcopy(stored) if stored else GroupState(group=group, shard=shard)

    def save_state(self, state: GroupState) -> GroupState:
        key = (state.group, state.shard)
        stored = self.states.get(key)
        if (stored.version if stored else 0) != state.version:
            raise StoreConflictError(
                f"state of {state.group}#{state.shard} is no longer at version {state.version}"
            )
        saved = replace(copy.deepcopy(state), version=state.version + 1)
        self.states[key] = saved
        return copy.deepcopy(saved)

    def put_run(self, record: RunRecord, expires_at: int) -> None:
        runs = self.runs.setdefault((record.group, record.shard), {})
        runs[record.run_key] = (copy.deepcopy(record), expires_at)

    def get_run(self, group: str, shard: int, run_key: str) -> RunRecord | None:
        found = self.runs.get((group, shard), {}).get(run_key)
        return copy.deepcopy(found[0]) if found else None

    def recent_runs(self, group: str, shard: int = 0, limit: int = 20) -> list[RunRecord]:
        runs = self.runs.get((group, shard), {})
        return [copy.deepcopy(runs[key][0]) for key in sorted(runs, reverse=True)[:limit]]

    def put_rollups(self, group: str, shard: int, rollups: list[tuple[PeriodRollups, int]]) -> None:
        for rollup, expires_at in rollups:
            kept = self.rollups.setdefault((group, shard, rollup.kind), {})
            kept[rollup.period] = (copy.deepcopy(rollup), expires_at)

    def get_rollups(self, group: str, shard: int, kind: str, since: str) -> list[PeriodRollups]:
        kept = self.rollups.get((group, shard, kind), {})
        return [copy.deepcopy(kept[p][0]) for p in sorted(kept) if p >= since]
