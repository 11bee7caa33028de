"""One contract, every store: the DynamoDB store (on moto) and the in-memory fake."""

from __future__ import annotations

from dataclasses import replace

import pytest

from vigil.alerts.document import AlertDocument, AlertEvent
from vigil.exceptions import StoreConflictError
from vigil.results import CheckResult, Status
from vigil.rollups import PeriodRollups
from vigil.state import CheckState
from vigil.store.base import RunRecord
from vigil.store.fence import RunFence
from vigil.store.outbox import PendingAlert


def pending(alert_id: str) -> PendingAlert:
    doc = AlertDocument(
        AlertEvent.FAILURE,
        "core",
        "api",
        "unhealthy",
        "healthy",
        "2026-11-28T10:00:00Z",
        "HTTP 500",
        alert_id,
        {"status_code": 500},
    )
    return PendingAlert(doc, attempts=1, lease_owner="me", lease_until=123.5, last_error="x")


def test_a_new_state_is_version_zero_and_saves_once(store):
    state = store.load_state("core", 0)
    assert (state.group, state.shard, state.version) == ("core", 0, 0)
    assert state.checks == {} and state.outbox == [] and state.fence == RunFence()
    saved = store.save_state(state)
    assert saved.version == 1
    with pytest.raises(StoreConflictError):
        store.save_state(state)  # still version 0: another run saved first


def test_state_round_trips_checks_outbox_and_fence(store):
    fence = RunFence().add("2026-11-28T10:00:00Z", "a").add("2026-11-28T10:01:00Z", "b")
    state = replace(
        store.load_state("core", 1),
        checks={"api": CheckState("unhealthy", "2026-11-28T10:01:00Z", "healthy", 1, 5.0, 1)},
        outbox=[pending("id-1"), pending("id-2")],
        fence=fence,
        last_run_key="2026-11-28T10:01:00Z",
    )
    saved = store.save_state(state)
    loaded = store.load_state("core", 1)
    assert loaded.version == saved.version == 1
    assert loaded.checks == state.checks and loaded.outbox == state.outbox
    assert loaded.fence == fence and loaded.fence.owner("2026-11-28T10:01:00Z") == "b"
    assert loaded.last_run_key == "2026-11-28T10:01:00Z"
    assert store.load_state("core", 0).version == 0  # shards are separate
    loaded.outbox.clear()  # the caller's copy, not the store's
    assert store.load_state("core", 1).outbox == state.outbox


def test_run_records_are_plain_puts_listed_newest_first(store):
    def record(key: str, status: Status) -> RunRecord:
        result = CheckResult("api", status, "why", 12.5, {"status_code": 500})
        return RunRecord("core", 0, key, key, 10.0, [result])

    store.put_run(record("2026-11-28T10:00:00Z", Status.HEALTHY), 2_000_000_000)
    store.put_run(record("2026-11-28T10:01:00Z", Status.UNHEALTHY), 2_000_000_000)
    store.put_run(record("2026-11-28T10:01:00Z", Status.DEGRADED), 2_000_000_000)  # replaces
    got = store.get_run("core", 0, "2026-11-28T10:01:00Z")
    assert got.results[0].status == Status.DEGRADED and got.results[0].latency_ms == 12.5
    assert store.get_run("core", 0, "2026-11-28T09:00:00Z") is None
    assert [r.run_key for r in store.recent_runs("core", 0)] == [
        "2026-11-28T10:01:00Z",
        "2026-11-28T10:00:00Z",
    ]
    assert [r.run_key for r in store.recent_runs("core", 0, limit=1)] == ["2026-11-28T10:01:00Z"]


def test_rollups_since_a_period_oldest_first(store):
    rollups = []
    for hour in ("08", "09", "10"):
        rollup = PeriodRollups("hour", f"2026-11-28T{hour}")
        rollup.add(CheckResult("api", Status.HEALTHY, "ok", 10.0))
        rollups.append((rollup, 2_000_000_000))
    store.put_rollups("core", 0, rollups)
    store.put_rollups("core", 0, rollups[1:])  # repeated: harmless
    got = store.get_rollups("core", 0, "hour", "2026-11-28T09")
    assert [r.period for r in got] == ["2026-11-28T09", "2026-11-28T10"]
    assert got[0].checks["api"].runs == 1
    assert store.get_rollups("core", 0, "day", "2026-11-01") == []


def test_newest_runs_of_many_shards_at_once(store):
    for group, shard, newest in (("core", 0, "2026-11-28T10:05:00Z"), ("fleet", 1, None)):
        state = store.load_state(group, shard)
        store.save_state(replace(state, last_run_key=newest))
    wanted = [("core", 0), ("fleet", 1), ("never", 0)] + [(f"g{i}", 0) for i in range(120)]
    assert store.newest_runs(wanted) == {
        **{key: None for key in wanted},
        ("core", 0): "2026-11-28T10:05:00Z",
    }


def test_a_probes_observations_and_its_newest_run(store):
    run_key, later = "2026-11-28T10:05:00Z", "2026-11-28T10:06:00Z"
    results = [
        CheckResult("api", Status.HEALTHY, "HTTP 200", 41.0, {"location": "us-east-1"}),
        CheckResult("db", Status.UNHEALTHY, "refused", None, {}),
    ]
    store.put_observations("core", 0, run_key, "us-east-1", results, 2_000_000_000)
    store.put_observations("core", 0, later, "us-east-1", results[:1], 2_000_000_000)
    store.put_observations("core", 0, run_key, "ap-southeast-2", results[1:], 2_000_000_000)
    probes = ["us-east-1", "ap-southeast-2", "sa-east-1"]
    found = store.observations("core", 0, run_key, probes)
    assert set(found) == {"us-east-1", "ap-southeast-2"}
    assert set(store.observations("core", 0, run_key, ["ap-southeast-2"])) == {"ap-southeast-2"}
    assert [(r.check, r.status, r.reason) for r in found["us-east-1"]] == [
        ("api", Status.HEALTHY, "HTTP 200"),
        ("db", Status.UNHEALTHY, "refused"),
    ]
    assert found["us-east-1"][0].details == {"location": "us-east-1"}
    assert store.observations("core", 0, "2026-11-28T10:07:00Z", probes) == {}
    assert store.observations("core", 1, run_key, probes) == {}  # another shard
    store.put_observations("core", 0, run_key, "us-east-1", results, 2_000_000_000)  # late
    seen = store.locations_seen(["us-east-1", "ap-southeast-2", "eu-west-1"], [("core", 0)])
    assert seen == {
        ("us-east-1", "core", 0): later,  # a late run does not move it back
        ("ap-southeast-2", "core", 0): run_key,
        ("eu-west-1", "core", 0): None,
    }


def test_an_observation_that_cannot_be_read_is_a_region_that_did_not_report(aws):
    """Another version's or a damaged item: that region is left out (the home judges by
    the others), the rest is read, and the home's run goes on."""
    import boto3

    from vigil.store.dynamodb import DynamoDBStore, observation_key

    store = DynamoDBStore(aws.table_name)
    run_key = "2026-11-28T10:05:00Z"
    good = [CheckResult("api", Status.HEALTHY, "HTTP 200", 41.0, {})]
    store.put_observations("core", 0, run_key, "us-east-1", good, 2_000_000_000)
    boto3.client("dynamodb").put_item(
        TableName=aws.table_name,
        Item={
            "pk": {"S": observation_key("ap-southeast-2", "core", 0)},
            "sk": {"S": run_key},
            "blob": {"B": b"not zlib"},
        },
    )
    found = store.observations("core", 0, run_key, ["us-east-1", "ap-southeast-2"])
    assert list(found) == ["us-east-1"] and found["us-east-1"][0].reason == "HTTP 200"
