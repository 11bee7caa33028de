"""Helpers of the `vigil` command: EMF read-back, local state encoding, ticks and their
timing, the sub-minute cost, signals."""

from __future__ import annotations

import os
import signal
import threading
from datetime import UTC, datetime, timedelta

import pytest

from vigil.config import parse_config
from vigil.times import iso, parse_time
from vigil_cli.commands.demo import SCRIPT, live_offset, simulated_start
from vigil_cli.commands.interrupts import Interrupted, InterruptWatch
from vigil_cli.commands.run import next_scheduled_time, next_tick
from vigil_cli.commands.ticks import minute_plan, tick_line
from vigil_cli.commands.validate import schedule_line
from vigil_cli.costs import PRICES, RUNS_PER_MONTH, sub_minute_extra
from vigil_cli.local.event_sources import TICK, Delivery, LocalLambda, sqs_event
from vigil_cli.local.harness import Invocation, function_memory_mb, function_timeout
from vigil_cli.local.local_state import decode_value, encode_value
from vigil_cli.screen.emf import by_check, by_group, compact, metric_points

CHECK_DOC = {
    "_aws": {
        "Timestamp": 1,
        "CloudWatchMetrics": [
            {
                "Namespace": "Vigil",
                "Dimensions": [["group", "check", "service"]],
                "Metrics": [
                    {"Name": "Healthy", "Unit": "Count"},
                    {"Name": "LatencyMs", "Unit": "Milliseconds"},
                ],
            }
        ],
    },
    "group": "core",
    "check": "api",
    "service": "vigil",
    "Healthy": [1.0],
    "LatencyMs": [601.23],
}
GROUP_DOC = {
    "_aws": {
        "CloudWatchMetrics": [
            {
                "Namespace": "Vigil",
                "Dimensions": [["group", "service"]],
                "Metrics": [{"Name": "HealthyChecks", "Unit": "Count"}],
            }
        ]
    },
    "group": "core",
    "service": "vigil",
    "HealthyChecks": 3,
}


def test_emf_documents_read_back_as_points():
    points = metric_points(CHECK_DOC)
    assert [(p.name, p.value, p.unit) for p in points] == [
        ("Healthy", 1.0, "Count"),
        ("LatencyMs", 601.23, "Milliseconds"),
    ]
    assert points[0].dimensions == {"check": "api", "group": "core", "service": "vigil"}
    assert compact(points) == "Healthy=1 LatencyMs=601.2"
    group_points = metric_points(GROUP_DOC)
    assert by_check(points + group_points) == {("core", "api"): points}
    assert by_group(points + group_points) == {"core": group_points}
    assert metric_points({"level": "INFO", "message": "not EMF"}) == []


def test_local_state_round_trips_binary_and_nested_values():
    item = {
        "pk": {"S": "G#core#0"},
        "v": {"N": "3"},
        "blob": {"B": b"\x78\x9c\x00\xff"},
        "counts": {"M": {"h": {"N": "1"}, "raw": {"BS": [b"a", b"\x00"]}}},
        "list": {"L": [{"B": b"x"}, {"NULL": True}, {"BOOL": False}]},
    }
    encoded = {k: encode_value(v) for k, v in item.items()}
    assert encoded["blob"] == {"B": "eJwA/w=="}
    assert {k: decode_value(v) for k, v in encoded.items()} == item


def at(text: str) -> datetime:
    return parse_time(f"2026-11-28T{text}Z")


@pytest.mark.parametrize(
    ("previous", "now", "ticked", "expected"),
    [
        (None, "10:00:23.5", None, "10:00:00"),  # the first tick: this minute's, at once
        ("10:00:00", "10:00:41", None, "10:01:00"),  # then the next minute, when it begins
        (None, "10:00:23", "10:00:00", "10:01:00"),  # an earlier `vigil run` ticked this one
        (None, "10:00:23", "09:40:00", "10:00:00"),  # ... long ago
        ("10:00:00", "10:07:12", None, "10:07:00"),  # after a long wait: never a past minute
    ],
)
def test_the_next_tick(previous, now, ticked, expected):
    tick = next_tick(at(previous) if previous else None, at(now), at(ticked) if ticked else None)
    assert tick == at(expected)


def test_each_aws_cycle_gets_a_later_scheduled_time_in_whole_seconds():
    now = datetime(2026, 11, 28, 10, 0, 5, 700_000, tzinfo=UTC)
    first = next_scheduled_time(None, now)
    assert iso(first) == "2026-11-28T10:00:05Z"
    assert iso(next_scheduled_time(first, now)) == "2026-11-28T10:00:06Z"


def test_the_sqs_event_of_a_message_is_what_lambdas_event_source_sends():
    message = {
        "MessageId": "m-1",
        "ReceiptHandle": "r-1",
        "Body": '{"group": "fast", "scheduled_time": "2026-11-28T10:00:10Z"}',
        "MD5OfBody": "abc",
        "Attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "1"},
    }
    event = sqs_event(message, "arn:aws:sqs:us-east-1:123456789012:q", "us-east-1")
    [record] = event["Records"]
    assert record == {
        "messageId": "m-1",
        "receiptHandle": "r-1",
        "body": message["Body"],
        "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "1"},
        "messageAttributes": {},
        "md5OfBody": "abc",
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:q",
        "awsRegion": "us-east-1",
    }
    from aws_lambda_powertools.utilities.data_classes import SQSEvent

    from vigil.run.event import QueueBatch, parse_event

    assert isinstance(parse_event(event), QueueBatch)  # the runner takes it as its queue's
    parsed = next(SQSEvent(event).records)
    assert (parsed.message_id, parsed.body) == ("m-1", message["Body"])


def test_the_local_lambda_keeps_asynchronous_invocations_only():
    from vigil.fanout import LambdaFanOut

    service = LocalLambda()
    LambdaFanOut("runner", client=service).invoke([{"group": "g", "shard": 0}, {"group": "g"}])
    assert list(service.pending) == [{"group": "g", "shard": 0}, {"group": "g"}]
    with pytest.raises(ValueError, match="only asynchronous"):
        service.invoke(FunctionName="runner", InvocationType="RequestResponse", Payload=b"{}")


CONFIG = parse_config(
    {
        "groups": {
            "core": {"checks": [{"name": "a", "type": "tcp", "host": "h", "port": 1}]},
            "fast": {
                "every": "10s",
                "checks": [{"name": "b", "type": "tcp", "host": "h", "port": 1}],
            },
            "databases": {
                "every": "5m",
                "checks": [{"name": "c", "type": "tcp", "host": "h", "port": 1}],
            },
        }
    }
)


def test_what_runs_in_a_minute():
    groups = CONFIG.groups.values()
    assert minute_plan(groups, at("10:05:00")) == "core 1 run, fast 6 runs, databases 1 run"
    assert minute_plan(groups, at("10:06:00")) == (
        "core 1 run, fast 6 runs; not this minute: databases (every 5m)"
    )


def test_the_tick_line_says_what_went_out_and_what_is_stalled():
    summary = {
        "tick": "2026-11-28T10:05:00Z",
        "dispatched": {"due": 1, "delayed": 5},
        "stalled": ["databases"],
    }
    invocation = Invocation({"tick": summary["tick"]}, summary, None, 0.1)
    sent = at("10:05:23.4").timestamp()
    tick = Delivery(TICK, {"tick": summary["tick"]}, invocation, summary, sent, sent)
    assert tick_line(tick) == (
        "tick 10:05:00Z (sent 10:05:23.4, 23 s into its minute): 1 run due and 5 delayed on "
        "the run queue; stalled: databases"
    )
    assert tick_line(tick, show_wall_clock=False).startswith("tick 10:05:00Z: 1 run due")


def test_what_a_sub_minute_group_adds_a_month():
    cost = sub_minute_extra(10, memory_mb=256, cpu_ms=30)
    assert cost is not None and cost.extra_runs_per_minute == 5
    runs = 5 * RUNS_PER_MONTH  # 219,000
    seconds = 0.030 * 1769 / 256  # 30 ms of a full core at 256/1769 of a vCPU
    assert cost.lambda_usd == pytest.approx(
        runs * (PRICES["lambda_request"] + seconds * 0.25 * PRICES["lambda_gb_second_arm64"])
    )
    # a tenth of a SendMessageBatch, a receive and a delete per run
    assert cost.sqs_usd == pytest.approx(runs * (0.1 + 2) * 0.40 / 1e6)
    assert cost.dynamodb_usd == pytest.approx(runs * (2 * 0.625 + 0.125) / 1e6)
    assert round(cost.total_usd, 2) == 0.68
    assert sub_minute_extra(60, memory_mb=256) is None  # a whole minute adds nothing
    assert sub_minute_extra(30, memory_mb=256).extra_runs_per_minute == 1
    assert sub_minute_extra(15, memory_mb=256).extra_runs_per_minute == 3
    sharded = sub_minute_extra(10, memory_mb=256, cpu_ms=30, shards=4)
    assert sharded.dynamodb_usd == pytest.approx(4 * cost.dynamodb_usd)  # writes per shard
    assert sharded.sqs_usd == pytest.approx(cost.sqs_usd)  # one message per run
    assert sharded.lambda_usd > 4 * cost.lambda_usd  # four runs and the fan-out


def test_the_schedule_line_of_validate():
    fast, core = CONFIG.groups["fast"], CONFIG.groups["core"]
    assert schedule_line(core, None) == "group core: every 1m"
    line = schedule_line(fast, sub_minute_extra(10, memory_mb=256))
    assert line == (
        "group fast: every 10s - 5 more runs a minute than every 1m: about $0.68 a month "
        "(Lambda $0.20, SQS $0.18, DynamoDB $0.30)"
    )


@pytest.mark.parametrize("now", ["10:00:30", "10:09:59", "10:10:00", "10:59:59", "10:30:00"])
def test_the_demo_plays_the_past_and_crosses_an_hour(now):
    """Its minutes are all in the past (a run 5 minutes ahead is refused), and the
    time-lapse crosses an hour, so an hourly rollup is written."""
    moment = at(now)
    start = simulated_start(moment)
    minutes = len(SCRIPT) - 1  # the last step repeats the last tick
    last = start + timedelta(minutes=minutes - 1)
    live = last + timedelta(minutes=1)
    assert live <= moment
    assert start.minute > last.minute  # an hour boundary inside
    offset = live_offset(live, moment.timestamp())
    begins = live.timestamp() + offset  # the live minute, on the wall clock
    assert 1 <= begins - moment.timestamp() <= 11 and begins % 10 == 0


def test_function_timeout_from_the_function_then_globals():
    function = {"Type": "AWS::Serverless::Function", "Properties": {"Timeout": 60}}
    assert function_timeout({"Resources": {"RunnerFunction": function}}) == 60
    assert (
        function_timeout(
            {
                "Globals": {"Function": {"Timeout": 30}},
                "Resources": {"RunnerFunction": {"Properties": {}}},
            }
        )
        == 30
    )
    assert function_timeout({"Resources": {}}) == 3


def test_function_memory_from_the_function_then_globals():
    function = {"Type": "AWS::Serverless::Function", "Properties": {"MemorySize": 256}}
    assert function_memory_mb({"Resources": {"RunnerFunction": function}}) == 256
    globals_only = {
        "Globals": {"Function": {"MemorySize": 512}},
        "Resources": {"RunnerFunction": {"Properties": {}}},
    }
    assert function_memory_mb(globals_only) == 512
    assert function_memory_mb({"Resources": {}}) == 128


# ---------------------------------------------------------------- Ctrl-C and SIGTERM


def test_a_signal_inside_an_awscrt_callback_is_not_lost():
    """The cause of a flaky demo test: botocore signs with awscrt, whose C signer calls back
    into Python and drops any exception raised there. The watch records the signal instead,
    and ``check`` raises it afterwards, at a safe point."""
    import awscrt.auth
    import awscrt.http

    delivered = []

    def should_sign_header(name: str, **kwargs: object) -> bool:
        if not delivered:  # the handler runs here, inside the C signer's callback
            delivered.append(name)
            os.kill(os.getpid(), signal.SIGINT)
        return True

    credentials = awscrt.auth.AwsCredentialsProvider.new_static("AKIDEXAMPLE", "not-a-secret")
    config = awscrt.auth.AwsSigningConfig(
        algorithm=awscrt.auth.AwsSigningAlgorithm.V4,
        signature_type=awscrt.auth.AwsSignatureType.HTTP_REQUEST_HEADERS,
        credentials_provider=credentials,
        region="us-east-1",
        service="dynamodb",
        should_sign_header=should_sign_header,
        date=datetime.now(UTC),
    )
    request = awscrt.http.HttpRequest("POST", "/", awscrt.http.HttpHeaders([("host", "h")]))
    with InterruptWatch() as watch:
        awscrt.auth.aws_sign_request(request, config).result(timeout=10)
        assert delivered and watch.received == signal.SIGINT
        with pytest.raises(Interrupted) as raised:
            watch.check()
    assert raised.value.exit_code == 130 and raised.value.name == "Ctrl-C"


def test_a_pause_ends_when_a_signal_arrives_and_handlers_are_restored():
    before = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    sender = threading.Timer(0.05, os.kill, (os.getpid(), signal.SIGTERM))
    with InterruptWatch() as watch:
        watch.pause(0)  # nothing received yet: returns
        sender.start()
        with pytest.raises(Interrupted) as raised:
            watch.pause(120)  # woken by the signal, long before its end
        sender.join()
    assert raised.value.exit_code == 143 and raised.value.name == "SIGTERM"
    assert {sig: signal.getsignal(sig) for sig in before} == before
