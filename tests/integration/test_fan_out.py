"""Sharded groups: a scheduled event fans out to one asynchronous invocation per shard.

The Lambda client is a stub that captures each ``Invoke``; the captured payloads
are then delivered to the real handler, as Lambda would.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from tests.integration.conftest import minute
from tests.support.dispatch import CapturingLambda
from vigil.fanout import FanOutError, LambdaFanOut
from vigil.sharding import shard_of

FUNCTION = "vigil-test-runner"
SHARDS = 3


def sharded_config(refused: int, checks: int = 12) -> str:
    lines = ["groups:", "  big:", f"    shards: {SHARDS}", "    checks:"]
    lines += [
        f"      - {{name: svc-{i:02d}, type: tcp, host: 127.0.0.1, port: {refused},"
        " timeout: 1s, failure_threshold: 1}"
        for i in range(checks)
    ]
    return "\n".join(lines) + "\n"


@pytest.fixture
def capture(aws, runner_app, write_config, monkeypatch) -> Callable[..., CapturingLambda]:
    """Write a config, then give the handler's runner a fan-out that sends to a stub."""
    from vigil.environment.runner import runner_from_environment

    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", FUNCTION)

    def install(config: str, failing_shards: frozenset[int] = frozenset()) -> CapturingLambda:
        write_config(config)
        stub = CapturingLambda(failing_shards)
        runner_from_environment(runner_app.DEFAULT_CONFIG).fan_out = LambdaFanOut(client=stub)
        return stub

    return install


def test_scheduled_event_fans_out_one_async_invocation_per_shard(aws, invoke, refused, capture):
    stub = capture(sharded_config(refused))
    summary = invoke("big", minute(0))
    json.dumps(summary)
    assert summary == {
        "group": "big",
        "scheduled_time": minute(0),
        "fanned_out": True,
        "shards": SHARDS,
        "results": [],
    }
    assert {(c["FunctionName"], c["InvocationType"]) for c in stub.calls} == {(FUNCTION, "Event")}
    assert sorted(stub.payloads(), key=lambda p: p["shard"]) == [
        {"group": "big", "scheduled_time": minute(0), "shard": i} for i in range(SHARDS)
    ]
    assert aws.count_items() == 0  # the fan-out itself runs and stores nothing


def test_each_shard_runs_its_own_slice_and_a_repeated_fan_out_counts_once(
    aws, invoke, refused, capture
):
    lambda_stub = capture(sharded_config(refused))
    for _ in range(2):  # the scheduler delivered the same fan-out event twice
        assert invoke("big", minute(0))["fanned_out"] is True
    assert len(lambda_stub.calls) == 2 * SHARDS

    summaries = [invoke(**p) for p in lambda_stub.payloads()]  # Lambda runs every shard event
    first, repeated = summaries[:SHARDS], summaries[SHARDS:]
    assert not any(s.get("duplicate") for s in first)
    assert all(s.get("duplicate") for s in repeated)

    ran = {s["shard"]: {r["check"] for r in s["results"]} for s in first}
    assert set(ran) == set(range(SHARDS))
    assert set().union(*ran.values()) == {f"svc-{i:02d}" for i in range(12)}
    for shard, names in ran.items():
        assert all(shard_of(name, SHARDS) == shard for name in names)

    from vigil.store.dynamodb import DynamoDBStore

    store = DynamoDBStore(aws.table_name)
    for shard, names in ran.items():  # each shard keeps its own state partition
        assert set(store.load_state("big", shard).checks) == names
    alerts = aws.drain_alerts()  # threshold 1: one failure alert per check, not two
    assert sorted(a.document["check"] for a in alerts) == sorted(set().union(*ran.values()))


def test_a_fan_out_without_scheduled_time_gives_every_shard_the_same_one(
    aws, invoke, refused, capture
):
    stub = capture(sharded_config(refused))
    summary = invoke("big")
    times = {p["scheduled_time"] for p in stub.payloads()}
    assert times == {summary["scheduled_time"]} and None not in times


def test_failed_invocations_are_named_and_the_others_still_sent(aws, invoke, refused, capture):
    stub = capture(sharded_config(refused), failing_shards=frozenset({1}))
    with pytest.raises(FanOutError, match=r"1 of 3 invocations failed: big@.*#1: "):
        invoke("big", minute(0))
    assert sorted(p["shard"] for p in stub.payloads()) == [0, 1, 2]


def test_fan_out_outside_lambda_says_what_to_do(monkeypatch):
    monkeypatch.delenv("AWS_LAMBDA_FUNCTION_NAME", raising=False)
    with pytest.raises(FanOutError, match="AWS_LAMBDA_FUNCTION_NAME is not set"):
        LambdaFanOut(client=CapturingLambda()).invoke([{"group": "big", "shard": 0}])


def test_a_shard_event_runs_directly_and_unsharded_groups_never_create_a_lambda_client(
    aws, invoke, write_config, refused, monkeypatch
):
    import boto3

    created: list[str] = []
    real_client = boto3.client

    def recording_client(service, *args, **kwargs):
        created.append(service)
        return real_client(service, *args, **kwargs)

    monkeypatch.setattr(boto3, "client", recording_client)
    small = (
        f"  small:\n    checks:\n      - {{name: one, type: tcp, host: 127.0.0.1, port: {refused}}}"
    )
    write_config(sharded_config(refused) + small + "\n")
    summary = invoke("big", minute(0), shard=2)
    assert summary["shard"] == 2 and "fanned_out" not in summary
    assert invoke("small", minute(0))["results"][0]["check"] == "one"
    assert "lambda" not in created


def test_a_shard_outside_the_group_is_refused_before_anything_is_written(
    aws, invoke, write_config, refused
):
    from vigil.exceptions import InvalidEventError

    write_config(sharded_config(refused))
    with pytest.raises(InvalidEventError, match="has 3 shard"):
        invoke("big", minute(0), shard=SHARDS)
    assert aws.count_items() == 0
