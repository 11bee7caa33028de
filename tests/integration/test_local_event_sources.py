"""The local event sources of `vigil run` and the demo: the tick, asynchronous Invokes and
the run queue, played against the real handler on moto (whose SQS keeps a message
invisible for its DelaySeconds in real time).

The tick puts every run on the queue: those due with no delay. Each test sets the
runner's clock a few seconds before the :50 run of a minute, so the tick delays that
run by seconds and the test waits seconds, not a minute.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from datetime import UTC, datetime

import boto3
import pytest

from vigil.exceptions import UnknownGroupError
from vigil.store.dynamodb import DynamoDBStore
from vigil.times import iso, parse_time
from vigil_cli.local.event_sources import (
    INVOKE,
    LATE_S,
    QUEUE,
    TICK,
    Delivery,
    LocalEventSources,
    minute_of,
)
from vigil_cli.local.harness import RunnerHarness
from vigil_cli.local.local_aws import REGION

FAST = """
groups:
  core:
    checks: [{{name: a, type: tcp, host: 127.0.0.1, port: {port}, timeout: 1s}}]
  fast:
    every: 10s
    shards: {shards}
    checks:
      - {{name: b, type: tcp, host: 127.0.0.1, port: {port}, timeout: 1s}}
      - {{name: c, type: tcp, host: 127.0.0.1, port: {port}, timeout: 1s}}
"""


@pytest.fixture
def sources(aws, write_config, refused) -> Callable[..., LocalEventSources]:
    """Event sources for a config of a 1m group and a 10 s group (``shards`` of it), whose
    runner clock is at ``second`` of its minute (the handler warmed up beforehand)."""

    def make(second: int, *, shards: int = 1, only_group: str | None = None):
        write_config(FAST.format(port=refused, shards=shards))
        made = LocalEventSources(
            RunnerHarness(60),
            queue_url=aws.run_queue_url,
            function_name=aws.function_name,
            region=REGION,
            only_group=only_group,
            read_state=DynamoDBStore(aws.table_name).load_state,
        )
        made.runner()  # the handler imported and its runner built: the tick goes out at once
        real = time.time()
        made.clock_offset_s = real - (math.floor((real - second) / 60) * 60 + second)
        return made

    return make


def queue_depth(aws) -> int:
    attributes = boto3.client("sqs", region_name=REGION).get_queue_attributes(
        QueueUrl=aws.run_queue_url, AttributeNames=["All"]
    )["Attributes"]
    return sum(
        int(attributes[key])
        for key in (
            "ApproximateNumberOfMessages",
            "ApproximateNumberOfMessagesNotVisible",
            "ApproximateNumberOfMessagesDelayed",
        )
    )


def now_tick(played: LocalEventSources) -> datetime:
    return minute_of(datetime.fromtimestamp(played.now(), UTC))


def runs_of(landing: list[Delivery]) -> list[tuple[str, str | None, str, int | None]]:
    """``(source, group, second, shard)`` of each delivery of a landing."""
    return [
        (d.source, d.group, (d.scheduled_time or "")[17:19], d.event.get("shard")) for d in landing
    ]


def test_runs_arrive_from_the_run_queue_when_due_and_are_deleted(aws, sources):
    played = sources(44, shards=2)
    tick = now_tick(played)
    landings = list(played.play_tick(tick))

    [sent] = landings[0]
    assert (sent.source, sent.event) == (TICK, {"tick": iso(tick)})
    assert sent.invocation.summary["dispatched"] == {"due": 6, "delayed": 1}
    # core's run and fast's runs of :00 to :40 are due: the queue delivers them at once;
    # each fast run fans out to its two shards, which Lambda delivers as invocations
    due = runs_of(landings[1])
    assert sorted(run for run in due if run[0] == QUEUE) == [
        (QUEUE, "core", "00", None),
        *[(QUEUE, "fast", second, None) for second in ("00", "10", "20", "30", "40")],
    ]
    assert sorted(run for run in due if run[0] == INVOKE) == [
        (INVOKE, "fast", second, shard)
        for second in ("00", "10", "20", "30", "40")
        for shard in (0, 1)
    ]
    # fast's run of :50 is delayed: the queue delivers it once its delay has passed
    [queued] = landings[2:]
    assert runs_of(queued) == [
        (QUEUE, "fast", "50", None),
        (INVOKE, "fast", "50", 0),
        (INVOKE, "fast", "50", 1),
    ]
    message = queued[0]
    due_at = parse_time(message.scheduled_time).timestamp()
    assert due_at <= message.runner_now < due_at + 2  # not before its time, nor much after
    assert message.ok and message.response == {"batchItemFailures": []}
    assert message.invocation.summary["fanned_out"] is True  # the run the message made
    assert queued[1].state.last_run_key == message.scheduled_time  # each shard counted it
    assert played.missing == []
    assert queue_depth(aws) == 0  # each deleted once the handler reported no failure


def test_a_queued_run_that_fails_stays_on_the_queue(aws, sources, write_config, refused):
    played = sources(45)
    landings = played.play_tick(now_tick(played))
    assert next(landings)[0].source == TICK
    assert sorted(d.group for d in next(landings)) == ["core"] + ["fast"] * 5
    core = f"{{name: a, type: tcp, host: 127.0.0.1, port: {refused}}}"
    write_config(f"groups:\n  core:\n    checks: [{core}]\n")
    [[message]] = list(landings)  # the config lost fast: its queued run fails
    assert message.source == QUEUE and not message.ok
    assert isinstance(message.invocation.error, UnknownGroupError)  # the run's own error
    # one message per batch: the failed run fails the batch, which the handler reports by
    # raising (Powertools), and the event source keeps the message for another delivery
    assert message.response is None
    assert queue_depth(aws) == 1


def test_a_run_that_never_comes_is_missing_and_a_message_that_is_no_run_is_dropped(aws, sources):
    played = sources(46)
    tick = now_tick(played)
    landings = played.play_tick(tick)
    next(landings), next(landings)
    sqs = boto3.client("sqs", region_name=REGION)
    sqs.purge_queue(QueueUrl=aws.run_queue_url)  # fast's run of :50 is lost
    sqs.send_message(QueueUrl=aws.run_queue_url, MessageBody='{"group": "fast", "when": 1}')
    started = time.monotonic()
    [[dropped]] = list(landings)
    assert dropped.source == QUEUE and "unknown key(s)" in str(dropped.invocation.error)
    assert dropped.response == {"batchItemFailures": []}  # done with: the handler dropped it
    assert queue_depth(aws) == 0  # so the event source deleted it
    assert played.missing == [("fast", iso(tick.replace(second=50)))]
    assert time.monotonic() - started >= LATE_S  # it waited past the run's time first


def test_only_group_is_dispatched_and_watched(aws, sources):
    played = sources(30, only_group="core")
    landings = list(played.play_tick(now_tick(played)))
    assert landings[0][0].invocation.summary["dispatched"] == {"due": 1, "delayed": 0}
    assert [runs_of(landing) for landing in landings[1:]] == [[(QUEUE, "core", "00", None)]]
    assert queue_depth(aws) == 0
