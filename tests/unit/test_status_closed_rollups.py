"""The closed-rollup cache on the in-memory store: what it reads again, and that it answers
what the store would (tests/integration/test_status_warm_detail.py: with the runner)."""

from __future__ import annotations

from vigil.rollups import PeriodRollups, Rollup
from vigil.status.closed_rollups import ClosedRollupCache
from vigil.store.memory import MemoryStore

EXPIRES = 2**31


class CountingStore(MemoryStore):
    """The in-memory store, remembering the ``since`` of every ``check_rollups``; a period
    in ``lagging`` is not returned yet (an eventually consistent read behind a write)."""

    def __init__(self) -> None:
        super().__init__()
        self.reads: list[str] = []
        self.lagging: set[str] = set()

    def check_rollups(self, group, shard, kind, since, check):
        self.reads.append(since)
        found = super().check_rollups(group, shard, kind, since, check)
        return [r for r in found if r.period not in self.lagging]


def hour(period: str, runs: int = 60) -> PeriodRollups:
    return PeriodRollups("hour", period, {"api": Rollup(runs=runs), "db": Rollup(runs=1)})


def close(store: MemoryStore, *periods: str) -> None:
    store.put_rollups("core", 0, [(hour(p), EXPIRES) for p in periods])


def read(cache: ClosedRollupCache, since: str, open_period: str, check: str = "api"):
    rollups = cache.check_rollups("core", 0, "hour", since, check, hour(open_period))
    return [(r.period, {name: c.runs for name, c in r.checks.items()}) for r in rollups]


def test_closed_periods_are_read_once():
    store = CountingStore()
    close(store, "2026-11-28T09", "2026-11-28T10")
    cache = ClosedRollupCache(store)
    first = read(cache, "2026-11-27T13", "2026-11-28T11")
    assert first == [("2026-11-28T09", {"api": 60}), ("2026-11-28T10", {"api": 60})]
    assert read(cache, "2026-11-27T13", "2026-11-28T11") == first
    assert store.reads == ["2026-11-27T13"]  # the same open hour: nothing new to read

    close(store, "2026-11-28T11")  # the hour closes: only it is read
    again = read(cache, "2026-11-27T14", "2026-11-28T12")
    assert store.reads == ["2026-11-27T13", "2026-11-28T11"]
    assert again == [*first, ("2026-11-28T11", {"api": 60})]
    assert again == read(ClosedRollupCache(store), "2026-11-27T14", "2026-11-28T12")  # as fresh

    # The window moves past the oldest: it is dropped without a read.
    assert read(cache, "2026-11-28T10", "2026-11-28T12") == again[1:]
    assert len(store.reads) == 3  # 2 + the fresh cache's


def test_a_period_a_lagging_read_missed_is_asked_for_again():
    store = CountingStore()
    close(store, "2026-11-28T09", "2026-11-28T10")
    store.lagging = {"2026-11-28T10"}  # written before the state read, not visible yet
    cache = ClosedRollupCache(store)
    assert [p for p, _ in read(cache, "2026-11-28T00", "2026-11-28T11")] == ["2026-11-28T09"]
    store.lagging = set()
    assert [p for p, _ in read(cache, "2026-11-28T00", "2026-11-28T11")] == [
        "2026-11-28T09",
        "2026-11-28T10",
    ]
    assert store.reads == ["2026-11-28T00", "2026-11-28T10"]
    read(cache, "2026-11-28T00", "2026-11-28T11")
    assert len(store.reads) == 2  # now known up to the open hour


def test_a_period_newer_than_the_open_one_is_answered_but_not_kept():
    """A state read behind the rollups (eventually consistent): the store's newer closed
    period is returned as the store returns it, and read again until the state shows it."""
    store = CountingStore()
    close(store, "2026-11-28T09", "2026-11-28T10")
    cache = ClosedRollupCache(store)
    stale_open = "2026-11-28T10"
    assert [p for p, _ in read(cache, "2026-11-28T00", stale_open)] == [
        "2026-11-28T09",
        "2026-11-28T10",
    ]
    read(cache, "2026-11-28T00", "2026-11-28T11")
    assert store.reads == ["2026-11-28T00", "2026-11-28T10"]


def test_an_earlier_window_or_no_open_period_reads_the_store():
    store = CountingStore()
    close(store, "2026-11-28T09", "2026-11-28T10")
    cache = ClosedRollupCache(store)
    read(cache, "2026-11-28T10", "2026-11-28T11")
    assert [p for p, _ in read(cache, "2026-11-28T00", "2026-11-28T11")] == [
        "2026-11-28T09",
        "2026-11-28T10",
    ]
    assert store.reads == ["2026-11-28T10", "2026-11-28T00"]  # not known that far back
    for _ in range(2):  # a state without an open hour: nothing is known to be closed
        cache.check_rollups("core", 0, "hour", "2026-11-28T00", "db", None)
    assert store.reads[2:] == ["2026-11-28T00", "2026-11-28T00"]


def test_each_check_is_its_own_entry_and_the_oldest_is_dropped():
    store = CountingStore()
    close(store, "2026-11-28T09")
    cache = ClosedRollupCache(store, entries=2)
    assert read(cache, "2026-11-28T00", "2026-11-28T10", "db") == [("2026-11-28T09", {"db": 1})]
    read(cache, "2026-11-28T00", "2026-11-28T10", "api")
    read(cache, "2026-11-28T00", "2026-11-28T10", "db")  # db is now the most recently used
    assert len(store.reads) == 2
    store.put_rollups("other", 0, [(hour("2026-11-28T09"), EXPIRES)])
    cache.check_rollups("other", 0, "hour", "2026-11-28T00", "api", hour("2026-11-28T10"))
    read(cache, "2026-11-28T00", "2026-11-28T10", "db")  # kept
    assert len(store.reads) == 3
    read(cache, "2026-11-28T00", "2026-11-28T10", "api")  # dropped: read again
    assert len(store.reads) == 4


def test_a_period_that_is_not_a_period_name_is_not_kept():
    store = CountingStore()
    store.put_rollups("core", 0, [(PeriodRollups("hour", "2026-11-28T9x"), EXPIRES)])
    cache = ClosedRollupCache(store)
    for _ in range(2):
        assert read(cache, "2026-11-28T00", "2026-11-28T11") == [("2026-11-28T9x", {})]
    assert len(store.reads) == 2
