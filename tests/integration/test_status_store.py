"""The store's side of the status API, as a contract every ``StateStore`` keeps:
the DynamoDB store (on moto) and the in-memory fake."""

from __future__ import annotations

from vigil.alerts.document import AlertEvent as Event
from vigil.results import CheckResult, Status
from vigil.rollups import HOURS_KEPT, PeriodRollups
from vigil.state import Transition
from vigil.store.base import RunRecord


def hour(n: int) -> str:
    return f"2026-11-{1 + n // 24:02d}T{n % 24:02d}"


def hour_rollups(n: int, failed: int = 0, transitions=()) -> PeriodRollups:
    period = PeriodRollups("hour", hour(n))
    for i in range(60):
        status = Status.UNHEALTHY if i < failed else Status.HEALTHY
        period.add(CheckResult("api", status, "", 20.0 + i))
        period.add(CheckResult("db", Status.HEALTHY, "", 5.0))
    for t in transitions:
        period.record_transition(t)
    return period


def test_fresh_shards_read_as_empty(store):
    snapshots = store.shard_snapshots([("core", 0), ("core", 1)])
    assert set(snapshots) == {("core", 0), ("core", 1)}
    for (group, shard), snapshot in snapshots.items():
        assert (snapshot.state.group, snapshot.state.shard, snapshot.state.version) == (
            group,
            shard,
            0,
        )
        assert snapshot.hours is None and snapshot.days is None


def test_put_rollups_keeps_the_count_history(store):
    failure = Transition("api", Event.FAILURE, "unhealthy", "healthy", f"{hour(3)}:10:00Z", "x", {})
    for n in range(HOURS_KEPT + 6):
        closed = hour_rollups(n, failed=n % 4, transitions=[failure] if n == 3 else [])
        store.put_rollups("core", 0, [(closed, 2_000_000_000)])
        if n == 10:  # a repeated write of the same closed hour changes nothing
            store.put_rollups("core", 0, [(closed, 2_000_000_000)])
    day = PeriodRollups("day", "2026-11-01")
    day.add(CheckResult("api", Status.HEALTHY, "", 1.0))
    store.put_rollups("core", 0, [(day, 2_000_000_000)])

    snapshot = store.shard_snapshots([("core", 0)])[("core", 0)]
    hours = snapshot.hours
    assert hours is not None and len(hours.periods) == HOURS_KEPT
    assert hours.periods[-1] == hour(HOURS_KEPT + 5)
    n = HOURS_KEPT + 5
    assert hours.counts[hour(n)] == {"api": (60, 60 - n % 4), "db": (60, 60)}
    # the transition from before the kept hours stays: it says how they began
    assert [m.at for m in hours.transitions["api"]] == [failure.at]
    assert snapshot.days is not None and snapshot.days.counts == {"2026-11-01": {"api": (1, 1)}}
    # the full rollups are still there for the latency sketches
    full = store.get_rollups("core", 0, "hour", hour(0))
    assert [r.period for r in full] == [hour(i) for i in range(HOURS_KEPT + 6)]
    assert full[3].transitions["api"][0].reason == "x"


def record(run_key: str, *results: CheckResult) -> RunRecord:
    return RunRecord("core", 0, run_key, run_key, 12.0, list(results))


def test_runs_at_and_runs_between(store):
    keys = [f"2026-11-28T10:{m:02d}:00Z" for m in range(10)]
    for i, key in enumerate(keys):
        store.put_run(
            record(key, CheckResult("api", Status.HEALTHY, "ok", float(i))), 2_000_000_000
        )
    found = store.runs_at("core", 0, [keys[2], keys[7], "2026-11-28T11:00:00Z"])
    assert sorted(found) == [keys[2], keys[7]]
    assert found[keys[7]].results[0].latency_ms == 7.0

    newest, after = store.runs_between("core", 0, keys[1], keys[8], limit=3)
    assert [r.run_key for r in newest] == [keys[8], keys[7], keys[6]]
    assert after == keys[6]
    more, after = store.runs_between("core", 0, keys[1], keys[8], limit=10, after=after)
    assert [r.run_key for r in more] == keys[5:0:-1] and after is None

    oldest, after = store.runs_between("core", 0, keys[0], keys[9], newest_first=False, limit=4)
    assert [r.run_key for r in oldest] == keys[:4] and after == keys[3]


def test_reads_of_one_check(store):
    failure = Transition("api", Event.FAILURE, "unhealthy", "healthy", f"{hour(1)}:10:00Z", "x", {})
    for n in range(3):
        closed = hour_rollups(n, failed=n, transitions=[failure] if n == 1 else [])
        store.put_rollups("core", 0, [(closed, 2_000_000_000)])
    only = store.check_rollups("core", 0, "hour", hour(1), "api")
    assert [r.period for r in only] == [hour(1), hour(2)]
    assert all(set(r.checks) == {"api"} for r in only)
    assert only[1].checks["api"].failures == 2
    assert set(only[0].transitions) == {"api"}

    key = "2026-11-28T10:00:00Z"
    store.put_run(
        record(
            key,
            CheckResult("api", Status.UNHEALTHY, "refused", 1.0),
            CheckResult("db", Status.HEALTHY, "ok", 2.0),
        ),
        2_000_000_000,
    )
    (run,), _ = store.runs_between("core", 0, key, key, check="api")
    assert [(r.check, r.reason) for r in run.results] == [("api", "refused")]
    (run,), _ = store.runs_between("core", 0, key, key, check="gone")
    assert run.results == []
