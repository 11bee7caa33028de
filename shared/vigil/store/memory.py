"""An in-memory ``StateStore``: the fake for unit tests and the CLI's local runs.

It keeps copies, never the caller's objects, and enforces the same version
fence as DynamoDB, so the store contract suite runs against both.
"""

from __future__ import annotations

import copy
from dataclasses import replace

from vigil.exceptions import StoreConflictError
from vigil.results import CheckResult
from vigil.rollups import DAYS_KEPT, HOURS_KEPT, CountHistory, PeriodRollups
from vigil.store.base import GroupState, RunRecord, ShardSnapshot, StateStore
from vigil.times import parse_time

COUNTS_KEPT = {"hour": HOURS_KEPT, "day": DAYS_KEPT}


class MemoryStore(StateStore):
    def __init__(self) -> None:
        self.states: dict[tuple[str, int], GroupState] = {}
        self.runs: dict[tuple[str, int], dict[str, tuple[RunRecord, int]]] = {}
        self.rollups: dict[tuple[str, int, str], dict[str, tuple[PeriodRollups, int]]] = {}
        self.counts: dict[tuple[str, int, str], CountHistory] = {}
        self.observed: dict[tuple[str, int, str], dict[str, list[CheckResult]]] = {}
        self.seen: dict[tuple[str, str, int], str] = {}

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

    def newest_runs(self, shards: list[tuple[str, int]]) -> dict[tuple[str, int], str | None]:
        return {
            key: (self.states[key].last_run_key if key in self.states else None) for key in shards
        }

    def put_observations(
        self,
        group: str,
        shard: int,
        run_key: str,
        region: str,
        results: list[CheckResult],
        expires_at: int,
    ) -> None:
        self.observed.setdefault((group, shard, run_key), {})[region] = copy.deepcopy(results)
        newest = self.seen.get((region, group, shard))
        if newest is None or parse_time(newest) < parse_time(run_key):
            self.seen[(region, group, shard)] = run_key

    def observations(
        self, group: str, shard: int, run_key: str, regions: list[str]
    ) -> dict[str, list[CheckResult]]:
        found = self.observed.get((group, shard, run_key), {})
        return {region: copy.deepcopy(found[region]) for region in regions if region in found}

    def locations_seen(
        self, regions: list[str], shards: list[tuple[str, int]]
    ) -> dict[tuple[str, str, int], str | None]:
        return {
            (region, group, shard): self.seen.get((region, group, shard))
            for region in regions
            for group, shard in shards
        }

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
        for kind in sorted({rollup.kind for rollup, _ in rollups}):
            history = self.counts.get((group, shard, kind)) or CountHistory(
                kind=kind, keep=COUNTS_KEPT[kind]
            )
            for rollup, _ in sorted((r for r in rollups if r[0].kind == kind), key=_period):
                history.absorb(copy.deepcopy(rollup))
            self.counts[(group, shard, kind)] = history

    def get_rollups(self, group: str, shard: int, kind: str, since: str) -> list[PeriodRollups]:
        kept = self.rollups.get((group, shard, kind), {})
        return [copy.deepcopy(kept[p][0]) for p in sorted(kept) if p >= since]

    # status reads ---------------------------------------------------------------------
    def shard_snapshots(
        self, shards: list[tuple[str, int]]
    ) -> dict[tuple[str, int], ShardSnapshot]:
        return {
            (group, shard): ShardSnapshot(
                state=self.load_state(group, shard),
                hours=copy.deepcopy(self.counts.get((group, shard, "hour"))),
                days=copy.deepcopy(self.counts.get((group, shard, "day"))),
            )
            for group, shard in shards
        }

    def runs_at(self, group: str, shard: int, run_keys: list[str]) -> dict[str, RunRecord]:
        runs = self.runs.get((group, shard), {})
        return {key: copy.deepcopy(runs[key][0]) for key in set(run_keys) if key in runs}

    def check_rollups(
        self, group: str, shard: int, kind: str, since: str, check: str
    ) -> list[PeriodRollups]:
        kept = self.rollups.get((group, shard, kind), {})
        return [
            PeriodRollups.from_dict(kind, kept[p][0].to_dict(), only=check)
            for p in sorted(kept)
            if p >= since
        ]

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
        runs = self.runs.get((group, shard), {})
        keys = sorted((k for k in runs if start <= k <= end), reverse=newest_first)
        if after is not None:
            keys = [k for k in keys if (k < after if newest_first else k > after)]
        chosen = keys[:limit]
        records = []
        for key in chosen:
            record = copy.deepcopy(runs[key][0])
            if check is not None:
                record.results = [r for r in record.results if r.check == check]
            records.append(record)
        more = len(keys) > limit
        return records, (chosen[-1] if more and chosen else None)


def _period(entry: tuple[PeriodRollups, int]) -> str:
    return entry[0].period
