"""The fault table: DynamoDB and SNS misbehave during a scripted outage; every alert
still arrives exactly once, in order, and every run is counted exactly once.

The script: a target that is up, fails for three runs, then recovers, checked
every minute across an hour boundary with ``failure_threshold: 2``. Each cell
injects one fault (``tests.support.faults``) into one call of one operation,
where botocore sends, with botocore's own retries left on (its sleeps are
skipped). A handler that raises is invoked again with the same event, as
Lambda's asynchronous retry would.
"""

from __future__ import annotations

import time

import pytest

from tests.support.faults import FaultInjector
from tests.support.times import DAY, at
from vigil.store.dynamodb import DynamoDBStore

SCRIPT = [
    (at("10:57"), "healthy"),
    (at("10:58"), "failing:500"),
    (at("10:59"), "failing:500"),  # failure confirmed
    (at("11:00"), "failing:500"),  # closes the 10:00 hour
    (at("11:01"), "healthy"),  # recovery confirmed
    (at("11:02"), "healthy"),
    (at("11:03"), "healthy"),
]
EXPECTED = [("failure", at("10:59")), ("recovery", at("11:01"))]
LAMBDA_TRIES = 3  # one delivery and Lambda's two asynchronous retries

CELLS = (
    [("dynamodb.GetItem", n, k) for n in (2, 3) for k in ("throttled", "timeout")]
    + [
        ("dynamodb.PutItem:STATE", n, k)
        for n in (2, 3, 4, 5)
        for k in ("throttled", "lost", "timeout", "conditional")
    ]
    + [("dynamodb.PutItem:RUN", n, k) for n in (2, 3) for k in ("throttled", "lost", "timeout")]
    + [("dynamodb.BatchWriteItem", 1, k) for k in ("throttled", "lost", "timeout")]
    + [
        ("sns.Publish", n, k)
        for n in (1, 2)
        for k in ("throttled", "lost", "timeout", "server_error")
    ]
)


def outage_config(url: str) -> str:
    return f"""
    groups:
      core:
        checks:
          - name: api
            type: http
            url: {url}
            timeout: 2s
            failure_threshold: 2
            success_threshold: 1
    """


def run_script(aws, invoke, http_target, injector: FaultInjector) -> list[BaseException]:
    """Run the script; retry a run whose handler raised, as Lambda would."""
    raised: list[BaseException] = []
    for scheduled_time, mode in SCRIPT:
        http_target.script("outage", mode)
        for _ in range(LAMBDA_TRIES):
            try:
                invoke("core", scheduled_time)
                break
            except Exception as exc:
                raised.append(exc)
        else:
            pytest.fail(f"run {scheduled_time} failed {LAMBDA_TRIES} times: {raised[-1]!r}")
    return raised


@pytest.mark.parametrize(("operation", "call", "kind"), CELLS, ids=lambda v: str(v))
def test_fault_table(
    aws, invoke, runner_app, write_config, http_target, no_botocore_sleep, operation, call, kind
):
    from vigil.environment.runner import runner_from_environment

    write_config(outage_config(http_target.url("/scripted/outage")))
    runner = runner_from_environment(runner_app.DEFAULT_CONFIG, function_timeout_s=30)
    injector = FaultInjector({(operation, call): kind})
    injector.attach(runner.store.client)
    injector.attach(runner.publisher.client)

    run_script(aws, invoke, http_target, injector)
    assert injector.injected, f"the fault {operation} #{call} {kind} never fired"
    if kind in ("throttled", "timeout", "server_error"):
        assert {a for *_, a, _ in injector.injected} >= {1, 2, 3}, "botocore retried"

    # every expected alert exactly once (by alert_id), in order
    delivered = aws.drain_alerts()
    unique = {a.document["alert_id"]: a.document for a in delivered}
    assert [(d["event"], d["timestamp"]) for d in unique.values()] == EXPECTED
    if not (operation == "sns.Publish" and kind == "lost"):
        assert len(delivered) == len(unique), "an alert reached SNS twice"
    else:  # SNS took the publish whose answer was lost: the one repeat, same alert_id
        assert len(delivered) == len(unique) + 1

    # every run counted once: the fence, the rollups and the history agree with the script
    store = DynamoDBStore(aws.table_name)
    state = store.load_state("core")
    assert all(state.fence.holds(t) for t, _ in SCRIPT)
    (closed_hour,) = store.get_rollups("core", 0, "hour", f"{DAY}T10")
    assert closed_hour.checks["api"].runs == 3
    assert state.hour.period == f"{DAY}T11" and state.hour.checks["api"].runs == 4
    assert state.hour.checks["api"].failures + closed_hour.checks["api"].failures == 3
    assert sorted(r.run_key for r in store.recent_runs("core", limit=20)) == [t for t, _ in SCRIPT]
    assert state.checks["api"].status == "healthy" and state.outbox == []


def test_sns_failing_for_a_while_never_outlives_the_run(
    aws, invoke, runner_app, write_config, refused
):
    """SNS answers 500 to everything: the run ends before its deadline, the alerts wait.

    Without the deadline, botocore's retries of 6 publishes sleep about 20 s.
    """
    from vigil.environment.runner import runner_from_environment

    checks = "\n".join(
        f"          - {{name: api-{i}, type: tcp, host: 127.0.0.1, port: {refused},"
        " failure_threshold: 1, timeout: 1s}"
        for i in range(6)
    )
    write_config(f"groups:\n  core:\n    checks:\n{checks}\n")
    remaining_ms = 4000
    runner = runner_from_environment(runner_app.DEFAULT_CONFIG, function_timeout_s=4)
    injector = FaultInjector({("sns.Publish", n): "server_error" for n in range(1, 50)})
    injector.attach(runner.publisher.client)

    started = time.monotonic()
    summary = invoke("core", SCRIPT[0][0], remaining_ms=remaining_ms)
    elapsed = time.monotonic() - started
    assert elapsed < remaining_ms / 1000, f"the run took {elapsed:.2f}s of {remaining_ms} ms"
    assert summary["alerts"] == {"sent": 0, "pending": 6}
    assert aws.drain_alerts() == []

    injector.plan.clear()  # SNS is back: the next run delivers what waited, once
    summary = invoke("core", SCRIPT[1][0], remaining_ms=30_000)
    assert summary["alerts"] == {"sent": 6, "pending": 0}
    assert sorted(a.document["check"] for a in aws.drain_alerts()) == [f"api-{i}" for i in range(6)]
