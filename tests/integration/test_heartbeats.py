"""Heartbeat checks through the real runner handler, over scripted times.

Pings are stored as the ping function stores them (``PingStore.count``); the runner's
runs are invoked at scheduled times, and what it alerts is read back from the topic.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.support.times import DAY, at
from vigil.pings import Ping, excerpt
from vigil.store.pings import PingStore
from vigil.times import iso, parse_time

START = parse_time(at("10:00"))


def t(minutes: float) -> datetime:
    return START + timedelta(minutes=minutes)


@pytest.fixture
def pinger(aws) -> Callable[..., None]:
    store = PingStore(aws.table_name)

    def ping(check: str, kind: str, when: datetime, *, rid=None, exit_status=None, body=None):
        moment = int(when.timestamp() * 1000)
        event = Ping("jobs", check, kind, exit_status, rid, moment, excerpt(body))
        store.count(event, int(when.timestamp()) + 86400)

    return ping


@pytest.fixture
def heartbeats(write_config) -> Callable[[str], None]:
    def configure(checks: str, extra: str = "") -> None:
        write_config(f"{extra}\ngroups:\n  jobs:\n    checks:\n{checks}")

    return configure


def run(invoke, minutes: float) -> dict[str, Any]:
    return {r["check"]: r for r in invoke("jobs", iso(t(minutes)))["results"]}


def alerts(aws) -> list[tuple[str, str, str, str]]:
    return [
        (a.document["check"], a.document["event"], a.document["status"], a.document["timestamp"])
        for a in aws.drain_alerts()
    ]


def test_on_time_late_and_missing_with_their_recoveries(aws, invoke, heartbeats, pinger):
    heartbeats(
        "      - {name: backup, type: heartbeat, period: 10m, grace: 5m, failure_threshold: 1}\n"
    )
    pinger("backup", "success", t(0))
    seen = {}
    for minute in range(0, 41):
        if minute in (9, 24):  # on time, then late (degraded at 21..24: due 20, grace 5)
            pinger("backup", "success", t(minute))
        result = run(invoke, minute)["backup"]
        seen[minute] = (result["status"], result["reason"])
    assert seen[5] == ("healthy", "on time")
    assert seen[19] == ("healthy", "on time")  # due at 19 (9 + 10): still on time
    assert seen[20][0] == "degraded" and seen[20][1].startswith("late: expected by")
    assert seen[24] == ("healthy", "on time")  # pinged at 24: recovered
    assert seen[34][0] == "healthy"
    assert seen[35][0] == "degraded"
    assert seen[39][0] == "degraded"  # due 34, grace 5 m: late up to 39 included
    assert seen[40] == ("unhealthy", f"no ping since {iso(t(24))}")
    assert alerts(aws) == [
        ("backup", "degraded", "degraded", iso(t(20))),
        ("backup", "recovery", "healthy", iso(t(24))),
        ("backup", "degraded", "degraded", iso(t(35))),
        ("backup", "failure", "unhealthy", iso(t(40))),
    ]


def test_fail_and_an_exit_status_fail_with_what_the_job_said(aws, invoke, heartbeats, pinger):
    heartbeats(
        "      - {name: etl, type: heartbeat, period: 1h, failure_threshold: 1}\n"
        "      - {name: sync, type: heartbeat, period: 1h, failure_threshold: 1}\n"
    )
    for check in ("etl", "sync"):
        pinger(check, "success", t(0))
    run(invoke, 1)
    pinger("etl", "fail", t(2), body=b"disk full on /var\nstack trace...")
    pinger("sync", "fail", t(2), exit_status=3)
    results = run(invoke, 3)
    assert results["etl"]["reason"] == "failed: disk full on /var"
    assert results["sync"]["reason"] == "failed (exit status 3)"
    assert results["sync"]["details"]["exit_status"] == 3
    pinger("sync", "success", t(4))
    assert run(invoke, 5)["sync"]["status"] == "healthy"
    assert alerts(aws) == [
        ("etl", "failure", "unhealthy", iso(t(3))),
        ("sync", "failure", "unhealthy", iso(t(3))),
        ("sync", "recovery", "healthy", iso(t(5))),
    ]


def test_a_start_without_an_end_fails_after_max_duration_and_rid_pairs_runs(
    aws, invoke, heartbeats, pinger
):
    heartbeats(
        "      - {name: report, type: heartbeat, period: 1h, max_duration: 10m,"
        " failure_threshold: 1}\n"
    )
    pinger("report", "start", t(0), rid="a")
    pinger("report", "start", t(1), rid="b")
    pinger("report", "success", t(4), rid="a")  # a ran 4 minutes, paired by its rid
    result = run(invoke, 5)["report"]
    assert result["status"] == "healthy" and result["latency_ms"] == 4 * 60_000
    pinger("report", "start", t(6), rid="c")  # newer than the last success, never finished
    assert run(invoke, 16)["report"]["status"] == "healthy"  # 10 minutes: not yet past
    stuck = run(invoke, 17)["report"]
    assert stuck["status"] == "unhealthy"
    assert stuck["reason"] == f"started at {iso(t(6))}, not finished within 10m"
    pinger("report", "success", t(18), rid="c")
    fine = run(invoke, 19)["report"]
    assert fine["status"] == "healthy" and fine["latency_ms"] == 12 * 60_000
    assert [(a[1], a[3]) for a in alerts(aws)] == [
        ("failure", iso(t(17))),
        ("recovery", iso(t(19))),
    ]


def test_a_check_never_pinged_fails_at_its_first_run_plus_period_and_grace(aws, invoke, heartbeats):
    heartbeats(
        "      - {name: new, type: heartbeat, period: 10m, grace: 5m, failure_threshold: 1}\n"
    )
    statuses = {m: run(invoke, m)["new"]["status"] for m in (0, 10, 11, 15, 16)}
    assert statuses == {
        0: "healthy",
        10: "healthy",
        11: "degraded",
        15: "degraded",
        16: "unhealthy",
    }
    assert alerts(aws)[-1] == ("new", "failure", "unhealthy", iso(t(16)))


def test_a_ping_after_the_runs_time_does_not_count_for_that_run(aws, invoke, heartbeats, pinger):
    """A late run (delivered again, or slow to start) judges what was pinged up to its
    scheduled time, not what arrived since."""
    heartbeats("      - {name: job, type: heartbeat, period: 10m, grace: 1m}\n")
    pinger("job", "success", t(0))
    run(invoke, 1)
    pinger("job", "success", t(12))  # arrives after the run of 11 is due
    late = run(invoke, 11)["job"]
    assert late["status"] == "degraded"  # at 11 the job was late: its ping came at 12
    assert run(invoke, 13)["job"]["status"] == "healthy"


def test_a_cron_heartbeat_across_a_dst_change(aws, invoke, write_config, pinger, monkeypatch):
    """A 02:30 daily job in Europe/Berlin on the night summer time ends (02:00-03:00
    happens twice): due once, at the first 02:30 (00:30 UTC), and the next night at
    02:30 CET (01:30 UTC)."""
    from tests.integration.test_ticks import last_autumn_change

    change = last_autumn_change()  # 01:00 UTC on the last Sunday of October
    monkeypatch.setenv("HEALTHCHECK_HISTORY_DAYS", str((datetime.now(UTC) - change).days + 3))
    write_config(
        "groups:\n  jobs:\n    checks:\n"
        '      - {name: nightly, type: heartbeat, cron: "30 2 * * *",'
        " timezone: Europe/Berlin, grace: 30m, failure_threshold: 1}\n"
    )
    before = change - timedelta(days=1)  # the night before, 02:30 CEST = 00:30 UTC
    pinger("nightly", "success", before - timedelta(minutes=30))

    def status(moment: datetime) -> str:
        return invoke("jobs", iso(moment))["results"][0]["status"]

    assert status(change - timedelta(minutes=31)) == "healthy"  # 00:29 UTC
    assert status(change - timedelta(minutes=29)) == "degraded"  # 00:31: due at 00:30
    pinger("nightly", "success", change - timedelta(minutes=28))
    assert status(change - timedelta(minutes=27)) == "healthy"
    # not due again at 02:30 CET that same night (01:30 UTC): once a night
    assert status(change + timedelta(minutes=31)) == "healthy"
    nxt = change + timedelta(days=1, minutes=30)  # 02:30 CET the next night = 01:30 UTC
    assert status(nxt - timedelta(minutes=1)) == "healthy"
    assert status(nxt + timedelta(minutes=1)) == "degraded"
    assert status(nxt + timedelta(minutes=31)) == "unhealthy"


def test_a_heartbeat_in_a_maintenance_window_alerts_nothing_until_it_ends(
    aws, invoke, heartbeats, pinger
):
    window = (
        "maintenance:\n  - {name: backup-move, checks: [jobs/*],"
        f" start: '{DAY}T10:05:00+00:00', end: '{DAY}T10:30:00+00:00'}}"
    )
    heartbeats(
        "      - {name: backup, type: heartbeat, period: 10m, grace: 5m, failure_threshold: 1}\n",
        extra=window,
    )
    pinger("backup", "success", t(0))
    results = {m: run(invoke, m)["backup"] for m in (1, 16, 29, 30)}
    assert results[16]["status"] == "unhealthy" and results[16].get("maintenance") is True
    assert results[30]["status"] == "unhealthy"
    events = alerts(aws)
    assert events == [("backup", "failure", "unhealthy", iso(t(30)))]  # once, when it ended


def test_the_status_api_and_page_show_last_ping_expected_by_and_duration(
    aws, invoke, heartbeats, pinger
):
    from vigil_cli.local.status_server import (
        StatusContext,
        function_url_event,
        load_status_function,
    )

    heartbeats(
        "      - {name: backup, type: heartbeat, period: 1d}\n"
        "      - {name: quiet, type: heartbeat, period: 1h}\n"
    )
    pinger("backup", "start", t(0), rid="r1")
    pinger("backup", "success", t(42), rid="r1")
    run(invoke, 43)
    status = load_status_function()

    def get(path: str) -> dict:
        answer = status.handler(function_url_event("GET", path), StatusContext())
        assert answer["statusCode"] == 200, answer
        return answer

    import json

    (group,) = json.loads(get("/api/status")["body"])["groups"]
    by_name = {c["check"]: c for c in group["checks"]}
    assert by_name["backup"]["heartbeat"] == {
        "last_ping": iso(t(42)),
        "last_success": iso(t(42)),
        "expected_by": iso(t(42) + timedelta(days=1)),
        "last_duration_ms": 42 * 60_000,
    }
    assert by_name["quiet"]["heartbeat"] == {  # never pinged: due an hour after its first run
        "last_ping": None,
        "last_success": None,
        "expected_by": iso(t(43) + timedelta(hours=1)),
        "last_duration_ms": None,
    }
    detail = json.loads(get("/api/checks/jobs/backup")["body"])
    assert detail["heartbeat"]["expected_by"] == iso(t(42) + timedelta(days=1))
    page = get("/checks/jobs/backup")["body"]
    assert f"last ping {iso(t(42))}" in page and "last run took 42 min" in page


@pytest.mark.parametrize(
    ("operation", "late_ping"),
    [("dynamodb.BatchGetItem", False), ("dynamodb.Query", True)],
    ids=["summaries", "late-run-replay"],
)
def test_pings_that_cannot_be_read_make_heartbeats_errors_and_the_group_runs_on(
    aws, invoke, runner_app, heartbeats, pinger, refused, no_botocore_sleep, operation, late_ping
):
    """DynamoDB throttles the read of the pings past botocore's retries (the summaries,
    or a late run's replay): the heartbeat checks are errors saying so, the group's
    other check is judged and alerted, and the next run reads the pings again."""
    from tests.support.faults import FaultInjector
    from vigil.environment.runner import runner_from_environment

    heartbeats(
        "      - {name: backup, type: heartbeat, period: 10m, grace: 5m}\n"
        f"      - {{name: db, type: tcp, host: 127.0.0.1, port: {refused}, failure_threshold: 1}}\n"
    )
    pinger("backup", "success", t(1) if late_ping else t(0))
    runner = runner_from_environment(runner_app.DEFAULT_CONFIG, function_timeout_s=30)
    injector = FaultInjector({(operation, 1): "throttled"}).attach(runner.pings.client)

    results = run(invoke, 0)
    assert {a for *_, a, _ in injector.injected} >= {1, 2, 3}, "botocore retried"
    assert results["backup"]["status"] == "error"
    assert results["backup"]["reason"] == "the pings of this heartbeat check could not be read"
    assert results["db"]["status"] == "unhealthy"
    assert alerts(aws) == [("db", "failure", "unhealthy", iso(t(0)))]
    assert run(invoke, 2)["backup"]["status"] == "healthy"
