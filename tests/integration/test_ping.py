"""The ping function, end to end: the real handler (``functions/ping/app.py``) on moto,
with the table and the ping key secret made from template.yaml.

What a job sees (status, headers, body), what is written (each DynamoDB write request
counted by a botocore hook, the table scanned) and what is logged (the handler's
Powertools output, every logger's records, the process's stdout and stderr).
"""

from __future__ import annotations

import base64
import json
import logging
import os
import time
from typing import Any

import boto3
import pytest

from tests.support.ping_door import (
    T0_MS,
    Door,
    new_container,
    open_door,
    ping_secret_arn,
    set_ping_key,
)
from vigil.pings import EXCERPT_CHARS, Ping, token
from vigil.store.pings import COUNT_ATTEMPTS, PingNotCounted, PingStore
from vigil_cli.local.harness import RunnerHarness
from vigil_cli.local.local_aws import REPO
from vigil_cli.local.status_server import function_url_event

CONFIG = """
groups:
  jobs:
    checks:
      - {name: nightly-backup, type: heartbeat, period: 1d, grace: 1h}
      - {name: report, type: heartbeat, cron: "0 3 * * *", timezone: Europe/Paris}
      - {name: api, type: tcp, host: 127.0.0.1, port: 9}
  other:
    checks:
      - {name: sync, type: heartbeat, period: 1h}
"""
# The key the sample events (events/ping-*.json) were made with: not a deployed one.
SAMPLE_KEY = "sample-ping-key-of-events-folder-not-a-real-one1"
HEADERS = {
    "content-type": "text/plain; charset=utf-8",
    "cache-control": "no-store",
    "x-content-type-options": "nosniff",
}
NOT_FOUND = {"statusCode": 404, "headers": HEADERS, "body": "not found", "isBase64Encoded": False}


@pytest.fixture
def door(aws, write_config) -> Door:
    write_config(CONFIG)
    yield open_door(aws.table_name)
    new_container()


# --------------------------------------------------------------------------- accepted


def test_a_ping_is_two_writes_at_the_events_time(door):
    answer = door.ping(door.path("jobs", "nightly-backup"))
    assert answer.summary == {
        "statusCode": 200,
        "headers": HEADERS,
        "body": "OK",
        "isBase64Encoded": False,
    }
    assert door.writes.operations == ["PutItem", "PutItem"]
    summary = door.summary()
    assert summary.success_ms == summary.last_ping_ms == T0_MS
    (event,) = door.events()
    assert event["sk"].startswith(f"E#{T0_MS:013d}#") and event["k"] == "success"
    assert int(event["ttl"]["N"]) == T0_MS // 1000 + 30 * 86400  # HEALTHCHECK_HISTORY_DAYS


@pytest.mark.parametrize(
    ("suffix", "kind", "exit_status"),
    [
        (None, "success", None),
        ("start", "start", None),
        ("fail", "fail", None),
        ("log", "log", None),
        ("0", "success", 0),
        ("1", "fail", 1),
        ("255", "fail", 255),
    ],
)
def test_what_each_ping_says_is_recorded(door, suffix, kind, exit_status):
    assert door.ping(door.path("jobs", "report", suffix)).summary["statusCode"] == 200
    assert door.writes.requests == 2
    (event,) = door.events()
    assert (event["k"], event.get("x")) == (kind, exit_status)
    summary = door.summary("jobs", "report")
    assert summary.last_kind == kind
    if kind == "fail":
        assert (summary.failure_ms, summary.exit_status) == (T0_MS, exit_status)


@pytest.mark.parametrize("method", ["GET", "HEAD", "POST"])
def test_get_head_and_post_ping(door, method):
    answer = door.ping(door.path("other", "sync"), method)
    assert answer.summary["statusCode"] == 200
    assert answer.summary["body"] == ("" if method == "HEAD" else "OK")
    assert answer.summary["headers"] == HEADERS
    assert door.summary("other", "sync").success_ms == T0_MS


@pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH", "OPTIONS", ""])
def test_other_methods_are_405_and_write_nothing(door, method):
    answer = door.ping(door.path("jobs", "nightly-backup"), method)
    assert answer.summary["statusCode"] == 405
    assert answer.summary["headers"]["allow"] == "GET, HEAD, POST"
    assert door.writes.requests == 0 and door.items() == []


def test_every_accepted_ping_is_exactly_two_write_requests(door):
    paths = [door.path("jobs", "nightly-backup", s) for s in (None, "start", "fail", "log", "7")]
    for n, path in enumerate(paths * 4):
        door.writes.reset()
        assert door.ping(path, "POST", body="x", at_ms=T0_MS + n).summary["statusCode"] == 200
        assert door.writes.requests == 2, path
    assert len(door.events()) == 20


def test_rid_pairs_a_start_with_its_end_and_the_duration_is_stored(door):
    start, done = door.path("jobs", "nightly-backup", "start"), door.path("jobs", "nightly-backup")
    door.ping(start, rid="run-1", at_ms=T0_MS)
    door.ping(start, rid="run-2", at_ms=T0_MS + 1_000)
    door.ping(done, rid="run-1", at_ms=T0_MS + 65_000)
    summary = door.summary()
    assert summary.duration_ms == 65_000 and summary.success_ms == T0_MS + 65_000
    assert summary.starts == (("run-2", T0_MS + 1_000),)  # still running
    door.ping(door.path("jobs", "nightly-backup", "0"), rid="run-2", at_ms=T0_MS + 91_000)
    assert door.summary().duration_ms == 90_000 and door.summary().starts == ()
    assert [e.get("r") for e in door.events()] == ["run-1", "run-2", "run-1", "run-2"]


def test_history_days_sets_when_a_pings_event_expires(aws, write_config, monkeypatch):
    write_config(CONFIG)
    monkeypatch.setenv("HEALTHCHECK_HISTORY_DAYS", "7")
    door = open_door(aws.table_name)
    door.ping(door.path("jobs", "nightly-backup"), at_ms=T0_MS + 999)
    (event,) = door.events()
    assert int(event["ttl"]["N"]) == T0_MS // 1000 + 7 * 86400
    new_container()


# --------------------------------------------------------------------------- refused


def test_wrong_token_unknown_check_and_unknown_group_get_the_same_404(door):
    """Told apart by nothing: even a token rightly made for a check that is not a
    heartbeat check (``api``, a tcp check) or does not exist is refused the same way."""
    right = token(door.key, "jobs", "nightly-backup")
    paths = [
        "/jobs/nightly-backup/" + right[:-1] + ("A" if right[-1] != "A" else "B"),
        door.path("jobs", "nightly-backup", key=b"another key of at least 32 chars!"),
        door.path("jobs", "nightly-backup").replace("/jobs/", "/other/"),  # token of jobs/...
        door.path("jobs", "unknown"),
        door.path("nogroup", "nightly-backup"),
        door.path("jobs", "api"),  # exists, but is no heartbeat check
        door.path("jobs", "api", "start"),
        "/jobs/nightly-backup/" + right.upper(),
    ]
    answers = [door.ping(path, method).summary for path in paths for method in ("GET", "POST")]
    assert answers == [NOT_FOUND] * len(answers)
    heads = [door.ping(path, "HEAD").summary for path in paths]
    assert heads == [{**NOT_FOUND, "body": ""}] * len(paths)
    assert door.writes.requests == 0 and door.items() == []


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/jobs/nightly-backup",
        "/jobs/nightly-backup/short",
        "/jobs/nightly-backup/" + "a" * 33,
        "/jobs/nightly-backup/" + "a" * 32 + "/start/again",
        "/jobs/../" + "a" * 32,
        "/jobs/nightly-backup/" + "é" * 32,
    ],
)
def test_a_path_that_is_no_ping_url_is_the_same_404(door, path):
    assert door.ping(path).summary == NOT_FOUND
    assert door.writes.requests == 0


@pytest.mark.parametrize("suffix", ["256", "-1", "0255", "finish", "START", "1.0"])
def test_a_bad_last_segment_is_400_and_writes_nothing(door, suffix):
    answer = door.ping(door.path("jobs", "nightly-backup", suffix)).summary
    assert answer["statusCode"] == 400 and answer["headers"] == HEADERS
    assert "start, fail, log or an exit status 0-255" in answer["body"]
    assert door.writes.requests == 0 and door.items() == []


@pytest.mark.parametrize("rid", ["", "a b", "a/b", "x" * 65, "é", "a,b", "run-1\n", "\nrun"])
def test_a_bad_rid_is_400_and_writes_nothing(door, rid):
    answer = door.ping(door.path("jobs", "nightly-backup", "start"), rid=rid).summary
    assert answer["statusCode"] == 400 and "rid must be 1-64 of" in answer["body"]
    assert door.writes.requests == 0 and door.items() == []


def test_a_good_rid_is_kept(door):
    rid = "host-1:2026-01-01T04.00_run" + "x" * 37  # 64 characters
    assert (
        door.ping(door.path("jobs", "nightly-backup", "start"), rid=rid).summary["statusCode"]
        == 200
    )
    assert door.events()[0]["r"] == rid


def test_an_event_without_its_time_is_refused(door):
    event = function_url_event("GET", door.path("jobs", "nightly-backup"))
    del event["requestContext"]["timeEpoch"]
    answer = door.harness.invoke(event).summary
    assert answer["statusCode"] == 400 and "timeEpoch" in answer["body"]
    assert door.writes.requests == 0


# --------------------------------------------------------------------------- bodies


def test_a_100_kib_body_is_kept_as_its_first_1000_characters(door):
    body = "".join(f"line {n}: ✓ backup of table {n} done\n" for n in range(4000))
    assert len(body.encode()) > 100 * 1024
    assert (
        door.ping(door.path("jobs", "nightly-backup", "log"), "POST", body=body).summary[
            "statusCode"
        ]
        == 200
    )
    (event,) = door.events()
    assert event["e"] == body[:EXCERPT_CHARS] and len(event["e"]) == EXCERPT_CHARS
    assert door.summary().excerpt == body[:EXCERPT_CHARS]
    assert door.summary().success_ms is None  # a log changes no status


def test_a_fail_keeps_its_body_as_the_failure_excerpt(door):
    door.ping(door.path("jobs", "nightly-backup", "2"), "POST", body="pg_dump: error\nmore")
    summary = door.summary()
    assert summary.failure_excerpt == "pg_dump: error\nmore" and summary.exit_status == 2


def test_a_body_sent_with_get_is_not_kept(door):
    door.ping(door.path("jobs", "nightly-backup"), "GET", body="ignored")
    assert "e" not in door.events()[0] and door.summary().excerpt is None


def test_a_base64_body_is_decoded_with_replacement(door):
    raw = b"exit: \xff\xfe caf\xc3\xa9 " + "✓".encode() * 2000
    encoded = base64.b64encode(raw).decode()
    door.ping(door.path("jobs", "nightly-backup", "log"), "POST", body=encoded, base64_encoded=True)
    expected = raw.decode("utf-8", errors="replace")[:EXCERPT_CHARS]
    assert door.events()[0]["e"] == expected and len(expected) == EXCERPT_CHARS
    assert expected.startswith("exit: \ufffd\ufffd café ✓")


def test_only_the_start_of_a_6_mb_base64_body_is_decoded(door):
    """Past its first few KB the body is not base64 at all: decoding it whole would
    fail. It is accepted, and its excerpt kept, because only the prefix is read."""
    head = base64.b64encode(b"A" * 3000 + "é".encode() * 1000).decode()
    body = head + "!not base64!" * (6 * 1024 * 1024 // 12)
    started = time.perf_counter()
    answer = door.ping(
        door.path("jobs", "nightly-backup", "log"), "POST", body=body, base64_encoded=True
    )
    assert answer.summary["statusCode"] == 200
    assert door.events()[0]["e"] == "A" * EXCERPT_CHARS
    assert time.perf_counter() - started < 5  # generous: a bound on the work, not a benchmark


def test_a_body_that_is_not_base64_keeps_no_excerpt_and_is_still_a_ping(door):
    answer = door.ping(
        door.path("jobs", "nightly-backup"), "POST", body="%%%%", base64_encoded=True
    )
    assert answer.summary["statusCode"] == 200
    assert "e" not in door.events()[0] and door.summary().success_ms == T0_MS


# --------------------------------------------------------------------------- secrets


def test_the_token_is_never_logged_stored_or_written(door, caplog, capfd):
    caplog.set_level(logging.DEBUG)  # every logger, libraries included
    right = token(door.key, "jobs", "nightly-backup")
    pings = [
        door.ping(door.path("jobs", "nightly-backup", "start"), rid="r1"),
        door.ping(door.path("jobs", "nightly-backup"), "POST", rid="r1", body="done"),
        door.ping("/jobs/nightly-backup/" + right[:-1] + "x"),  # a near miss
        door.ping(door.path("jobs", "nightly-backup", "finish")),  # 400
        door.ping(door.path("jobs", "nightly-backup"), "PUT"),  # 405
        door.ping(f"/jobs/{right}/{right}"),  # a token where the check goes
        door.ping(f"/{right}/nightly-backup/{right}"),
        door.ping(door.path("jobs", "api")),
    ]
    assert [p.summary["statusCode"] for p in pings] == [200, 200, 404, 400, 405, 404, 404, 404]
    written: list[str] = []
    for invocation in pings:
        written += [json.dumps(record) for record in invocation.logs]
        written += invocation.other_output
        written.append(json.dumps(invocation.summary))
    written += [
        record.getMessage() + json.dumps(record.__dict__, default=str) for record in caplog.records
    ]
    written += [json.dumps(item) for item in door.items()]
    captured = capfd.readouterr()
    written += [captured.out, captured.err]
    secrets = {
        right,
        right[:-1],
        token(door.key, "jobs", "api"),
        door.key.decode(),
        base64.b64encode(right.encode()).decode(),
    }
    for text in written:
        for secret in secrets:
            assert secret not in text, f"{secret[:6]}... leaked into: {text[:200]}"
    assert any(p.logs for p in pings)


def test_one_log_line_per_ping_names_the_check_and_what_it_said(door):
    accepted = door.ping(door.path("jobs", "nightly-backup", "3"), rid="run-9")
    (line,) = accepted.logs
    assert line["message"] == "ping" and line["level"] == "INFO"
    assert (line["group"], line["check"], line["kind"], line["exit_status"], line["rid"]) == (
        "jobs",
        "nightly-backup",
        "fail",
        3,
        "run-9",
    )
    wrong = door.ping("/jobs/nightly-backup/" + "B" * 32)
    (line,) = wrong.logs
    assert line["message"] == "ping refused" and line["reason"] == "wrong token"
    assert (line["group"], line["check"], line["status"]) == ("jobs", "nightly-backup", 404)
    unknown = door.ping(door.path("jobs", "nope"))
    (line,) = unknown.logs
    assert line["reason"] == "unknown check" and "check" not in line and "group" not in line


# --------------------------------------------------------------------------- the key


def test_a_new_key_revokes_every_url_in_a_new_container(aws, door):
    old = door.path("jobs", "nightly-backup")
    assert door.ping(old).summary["statusCode"] == 200
    set_ping_key("k" * 48)
    # A warm container keeps the key it read for KEY_MAX_AGE_S (5 minutes)...
    assert door.ping(old).summary["statusCode"] == 200
    # ...a new one reads the new key: the old URLs are refused, the new ones admitted.
    rotated = open_door(aws.table_name)
    assert rotated.key == b"k" * 48
    assert rotated.ping(old).summary == NOT_FOUND
    assert rotated.ping(rotated.path("jobs", "nightly-backup")).summary["statusCode"] == 200


@pytest.mark.parametrize("value", [None, "Sh0rtKey", "Q" * 31])
def test_a_key_too_short_to_be_safe_serves_nobody(aws, write_config, value):
    """A short key would make tokens guessable; a binary one is not the contract's."""
    write_config(CONFIG)
    if value is None:
        boto3.client("secretsmanager").put_secret_value(
            SecretId=ping_secret_arn(), SecretBinary=b"\x00" * 48
        )
    else:
        set_ping_key(value)
    new_container()
    harness = RunnerHarness(10, function="ping")
    guessed = token((value or "").encode(), "jobs", "nightly-backup")  # made with that key
    answer = harness.invoke(function_url_event("GET", f"/jobs/nightly-backup/{guessed}"))
    assert answer.summary["statusCode"] == 503
    (error,) = answer.log_lines(logging.ERROR)
    assert "ping function cannot read its setup" in error
    logged = json.dumps(answer.logs)
    assert ("no SecretString" if value is None else "too short: at least 32 characters") in logged
    assert value is None or value not in logged
    new_container()


def test_an_unreadable_key_is_a_503_that_names_the_secret_not_its_value(
    aws, write_config, monkeypatch
):
    write_config(CONFIG)
    missing = ping_secret_arn()[:-6] + "gone00"
    monkeypatch.setenv("HEALTHCHECK_PING_KEY_SECRET", missing)
    new_container()
    harness = RunnerHarness(10, function="ping")
    answer = harness.invoke(function_url_event("GET", "/jobs/nightly-backup/" + "a" * 32))
    assert answer.summary["statusCode"] == 503
    assert answer.summary["body"] == "unavailable: the ping was not recorded, try again"
    (error,) = answer.log_lines(logging.ERROR)
    assert "ping function cannot read its setup" in error
    assert "not found" in json.dumps(answer.logs) and missing in json.dumps(answer.logs)
    new_container()


# --------------------------------------------------------------------------- the config


def test_the_config_is_reread_when_it_changes(door):
    path = door.path("other", "late-addition")  # the file's last group
    assert door.ping(path).summary == NOT_FOUND
    config = os.environ["HEALTHCHECK_CONFIG"]
    with open(config, "a", encoding="utf-8") as handle:
        handle.write("      - {name: late-addition, type: heartbeat, period: 1h}\n")
    stat = os.stat(config)
    os.utime(config, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    assert door.ping(path).summary["statusCode"] == 200


def test_a_config_the_runner_would_refuse_still_opens_the_door_to_its_heartbeats(aws, write_config):
    """Only YAML is needed: a job's pings are not lost while the file is being fixed."""
    write_config(
        """
        groups:
          jobs:
            unknown_key: 1
            checks:
              - {name: nightly-backup, type: heartbeat, period: not-a-duration}
              - name: nightly-backup
                type: heartbeat
              - {type: heartbeat}
              - [not, a, check]
          broken: 7
        """
    )
    door = open_door(aws.table_name)
    assert door.ping(door.path("jobs", "nightly-backup")).summary["statusCode"] == 200
    assert door.ping(door.path("broken", "x")).summary == NOT_FOUND
    new_container()


@pytest.mark.parametrize("text", ["groups: [unclosed\n", "groups:\n  jobs: {checks: [}\n"])
def test_a_config_that_is_not_yaml_serves_nobody_and_says_where(aws, write_config, text):
    write_config(text)
    door = open_door(aws.table_name)
    answer = door.ping(door.path("jobs", "nightly-backup"))
    assert answer.summary["statusCode"] == 503
    assert door.writes.requests == 0
    assert "the configuration is not YAML: line" in json.dumps(answer.logs)
    new_container()


@pytest.mark.parametrize("text", ["", "just text\n", "- a\n- b\n", "groups: 3\n"])
def test_a_config_without_groups_knows_no_heartbeat(aws, write_config, text):
    write_config(text)
    door = open_door(aws.table_name)
    assert door.ping(door.path("jobs", "nightly-backup")).summary == NOT_FOUND
    new_container()


# --------------------------------------------------------------------------- faults


def test_dynamodb_failing_is_a_503_and_the_ping_can_be_sent_again(door):
    from botocore.awsrequest import AWSResponse

    class Body:
        def stream(self, **_: object):
            yield json.dumps(
                {"__type": "com.amazonaws.dynamodb.v20120810#InternalServerError", "message": "x"}
            ).encode()

    def failing(request: Any, **_: object) -> Any:
        headers = {"Content-Type": "application/x-amz-json-1.0", "x-amzn-RequestId": "injected"}
        return AWSResponse(request.url, 500, headers, Body())

    import vigil.environment.ping

    client = vigil.environment.ping.door_from_environment(
        REPO / "functions/runner/checks.yaml"
    ).store.client
    client.meta.events.register_first("before-send.dynamodb.GetItem", failing)
    try:
        answer = door.ping(door.path("jobs", "nightly-backup"))
    finally:
        client.meta.events.unregister("before-send.dynamodb.GetItem", failing)
    assert answer.summary["statusCode"] == 503 and door.items() == []
    (error,) = answer.log_lines(logging.ERROR)
    assert "DynamoDB failed" in error
    assert door.ping(door.path("jobs", "nightly-backup")).summary["statusCode"] == 200


# --------------------------------------------------------------------------- samples


@pytest.mark.parametrize(
    ("name", "status"),
    [
        ("ping-start", 200),
        ("ping-success", 200),
        ("ping-exit-status", 200),
        ("ping-log-base64", 200),
        ("ping-wrong-token", 404),
    ],
)
def test_sample_events_are_answered(aws, write_config, name, status):
    """``sam local invoke PingFunction -e events/<name>.json``: the events' tokens were
    made with ``SAMPLE_KEY``."""
    write_config(CONFIG)
    set_ping_key(SAMPLE_KEY)
    door = open_door(aws.table_name)
    event = json.loads((REPO / "events" / f"{name}.json").read_text())
    assert door.harness.invoke(event).summary["statusCode"] == status
    assert door.writes.requests == (2 if status == 200 else 0)
    new_container()


def test_the_sample_events_tell_a_run(aws, write_config):
    write_config(CONFIG)
    set_ping_key(SAMPLE_KEY)
    door = open_door(aws.table_name)
    for name in ("ping-start", "ping-exit-status", "ping-log-base64"):
        event = json.loads((REPO / "events" / f"{name}.json").read_text())
        assert door.harness.invoke(event).summary["statusCode"] == 200
    summary = door.summary()
    assert summary.exit_status == 2 and summary.starts == ()
    assert summary.failure_excerpt.startswith("pg_dump: error")
    assert summary.excerpt == "backup: 1.2 GB written ✓\n"
    new_container()


# --------------------------------------------------------------------------- races


def _interfering(store: PingStore, times: int, other: Ping) -> list[int]:
    """Before each of the first ``times`` conditional summary writes of ``store``, another
    ping of the same check is counted (by another client, as a concurrent container)."""
    rival = PingStore(store.table_name, client=boto3.client("dynamodb"))
    done: list[int] = []

    def count_first(params: dict[str, Any], **_: object) -> None:
        if params.get("ConditionExpression") and len(done) < times:
            done.append(1)
            rival.count(other._replace(at_ms=other.at_ms + len(done)), 0)

    store.client.meta.events.register("provide-client-params.dynamodb.PutItem", count_first)
    return done


def test_two_pings_counted_at_the_same_moment_are_both_in_the_summary(aws):
    """A start and the success of the run before it, counted by two containers at once:
    the second writer finds the summary rewritten, reads it again and counts in."""
    store = PingStore(aws.table_name, client=boto3.client("dynamodb"))
    start = Ping("jobs", "backup", "start", None, None, T0_MS + 5_000)
    rivals = _interfering(store, 1, Ping("jobs", "backup", "success", 0, None, T0_MS))
    written = store.count(start, 0)
    assert rivals == [1]
    summary = PingStore(aws.table_name).summary("jobs", "backup")
    assert summary == written
    assert summary.success_ms == T0_MS + 1 and summary.starts == (("", T0_MS + 5_000),)
    assert summary.last_ping_ms == T0_MS + 5_000 and summary.last_kind == "start"


def test_a_summary_rewritten_at_every_attempt_is_a_fault_not_a_lost_ping(aws):
    store = PingStore(aws.table_name, client=boto3.client("dynamodb"))
    rivals = _interfering(store, COUNT_ATTEMPTS, Ping("jobs", "backup", "log", None, None, T0_MS))
    with pytest.raises(PingNotCounted, match="jobs/backup: the summary was rewritten"):
        store.count(Ping("jobs", "backup", "success", 0, None, T0_MS + 9_000), 0)
    assert len(rivals) == COUNT_ATTEMPTS
    # the rivals' pings are all counted; this one's event is kept for a late run's replay
    assert PingStore(aws.table_name).summary("jobs", "backup").last_kind == "log"
    assert PingStore(aws.table_name).replay("jobs", "backup", T0_MS + 9_000).success_ms == (
        T0_MS + 9_000
    )
