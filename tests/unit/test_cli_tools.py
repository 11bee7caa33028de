"""Helpers of the `vigil` command: EMF read-back, local state encoding, scheduling, signals."""

from __future__ import annotations

import os
import signal
import threading
from datetime import UTC, datetime

import pytest

from vigil.times import iso
from vigil_cli.commands.interrupts import Interrupted, InterruptWatch
from vigil_cli.commands.run import next_scheduled_time
from vigil_cli.local.harness import function_memory_mb, function_timeout
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


def test_each_cycle_gets_a_later_scheduled_time_in_whole_seconds():
    now = datetime(2026, 11, 28, 10, 0, 5, 700_000, tzinfo=UTC)
    first = next_scheduled_time(None, now)
    assert iso(first) == "2026-11-28T10:00:05Z"
    assert iso(next_scheduled_time(first, now)) == "2026-11-28T10:00:06Z"


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
