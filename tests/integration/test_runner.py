"""The runner handler end to end: moto, real loopback servers, resources from template.yaml."""

from __future__ import annotations

import json

import pytest

from tests.integration.conftest import minute
from tests.support.times import DAY, NEXT_DAY, at
from vigil.exceptions import ConfigError, UnknownGroupError


def test_scenario_blip_outage_recovery_slow(aws, invoke, write_config, http_target):
    """failure_threshold 2 / success_threshold 1: exactly the alerts the thresholds imply."""
    write_config(f"""
    defaults:
      timeout: 2s
      failure_threshold: 2
      success_threshold: 1
    groups:
      core:
        checks:
          - name: api
            type: http
            url: {http_target.base_url}/scripted/api
            degraded_after: 150ms
    """)
    script = [
        ("healthy", "healthy"),
        ("failing:500", "unhealthy"),  # blip: one failure, no alert
        ("healthy", "healthy"),
        ("failing:500", "unhealthy"),  # outage starts
        ("failing:500", "unhealthy"),  # confirmed -> failure alert
        ("down", "unhealthy"),  # still down, no repeat
        ("healthy", "healthy"),  # recovery alert
        ("slow:400", "degraded"),
        ("slow:400", "degraded"),  # confirmed -> degraded alert
        ("slow:400", "degraded"),
    ]
    seen = []
    for n, (mode, expected) in enumerate(script):
        http_target.script("api", mode)
        summary = invoke("core", minute(n))
        seen.append(summary["results"][0]["status"])
        assert summary["results"][0]["status"] == expected, (n, summary)
    alerts = aws.drain_alerts()
    assert [
        (
            a.document["event"],
            a.document["status"],
            a.document["previous_status"],
            a.document["severity"],
            a.attributes["severity"],
            a.document["timestamp"],
        )
        for a in alerts
    ] == [
        ("failure", "unhealthy", "healthy", "critical", "critical", minute(4)),
        ("recovery", "healthy", "unhealthy", "info", "info", minute(6)),
        ("degraded", "degraded", "healthy", "warning", "warning", minute(8)),
    ]
    assert alerts[0].subject == "[FAILURE] core/api is unhealthy"
    assert alerts[0].attributes == {
        "event": "failure",
        "group": "core",
        "check": "api",
        "severity": "critical",
    }
    assert alerts[0].document["reason"] == "HTTP 500, expected 2xx"


def test_summary_contract_and_neighbours_unaffected(
    aws, invoke, write_config, http_target, refused
):
    write_config(f"""
    groups:
      core:
        checks:
          - {{name: up, type: http, url: "{http_target.base_url}/ok", body_contains: ok}}
          - {{name: broken, type: http, url: "{http_target.base_url}/status/500"}}
          - {{name: refused, type: tcp, host: 127.0.0.1, port: {refused}}}
          - {{name: nosecret, type: postgres, host: 127.0.0.1, port: {refused}, database: app,
              user: monitor, password_secret: vigil/absent}}
    """)
    summary = invoke("core", minute(0))
    json.dumps(summary)  # JSON-serialisable
    assert summary["group"] == "core" and summary["scheduled_time"] == minute(0)
    by_name = {r["check"]: r for r in summary["results"]}
    assert {n: r["status"] for n, r in by_name.items()} == {
        "up": "healthy",
        "broken": "unhealthy",
        "refused": "unhealthy",
        "nosecret": "error",
    }
    assert by_name["up"]["latency_ms"] > 0
    assert "vigil/absent" in by_name["nosecret"]["reason"]
    assert by_name["refused"]["reason"] == "connection refused"


def test_unknown_group_raises_naming_known_groups(aws, invoke, write_config):
    write_config("""
    groups:
      core: {checks: [{name: a, type: tcp, host: 127.0.0.1, port: 1}]}
      databases: {checks: [{name: b, type: tcp, host: 127.0.0.1, port: 1}]}
    """)
    with pytest.raises(UnknownGroupError, match="core, databases"):
        invoke("nope", minute(0))


def test_invalid_config_is_refused_before_anything_is_written(
    aws, invoke, write_config, capsys, caplog
):
    write_config("""
    groups:
      core:
        checks:
          - {name: a, type: http, url: "not a url"}
          - {name: b, type: tcp, host: 127.0.0.1}
    """)
    with pytest.raises(ConfigError) as caught:
        invoke("core", minute(0))
    assert "groups.core.checks[0].url" in str(caught.value)
    assert "groups.core.checks[1].port" in str(caught.value)
    assert aws.count_items() == 0
    assert aws.drain_alerts() == []
    logged = [r for r in caplog.records if r.levelname == "ERROR"]
    assert logged and "groups.core.checks[0].url" in logged[0].getMessage()
    out = capsys.readouterr().out
    emf = [json.loads(line) for line in out.splitlines() if '"ConfigErrors"' in line]
    assert emf and emf[0]["ConfigErrors"] == [1.0]


def test_run_stops_before_the_lambda_deadline_and_keeps_what_it_measured(
    aws, invoke, write_config, http_target, runner_app
):
    """A run that starts with less time than usual (5 s of a 60 s function)."""
    from vigil.environment.runner import runner_from_environment

    write_config(f"""
    groups:
      core:
        checks:
          - {{name: fast, type: http, url: "{http_target.base_url}/ok"}}
          - {{name: hung, type: http, url: "{http_target.base_url}/slow?ms=20000", timeout: 30s}}
    """)
    import time

    runner_from_environment(runner_app.DEFAULT_CONFIG, function_timeout_s=60)  # the cold start
    started = time.monotonic()
    summary = invoke("core", minute(0), remaining_ms=5_000)  # 1.25 s reserve, 3.5 s for checks
    elapsed = time.monotonic() - started
    # The contract, not a speed target: Lambda would have killed the invocation at 5 s.
    assert elapsed < 5.0
    by_name = {r["check"]: r for r in summary["results"]}
    assert by_name["fast"]["status"] == "healthy"
    assert by_name["hung"]["status"] == "error" and by_name["hung"]["counted"] is False
    from vigil.store.dynamodb import DynamoDBStore

    store = DynamoDBStore(aws.table_name)
    record = store.get_run("core", 0, minute(0))
    assert [r.check for r in record.results] == ["fast", "hung"]
    hung = store.load_state("core").checks["hung"]  # a first cut does not count...
    assert (hung.status, hung.streak, hung.cuts) == ("unknown", 0, 1)  # ...but is remembered


def test_interval_is_honoured(aws, invoke, write_config, http_target):
    write_config(f"""
    groups:
      core:
        checks:
          - {{name: every, type: http, url: "{http_target.base_url}/ok", interval: 1m}}
          - {{name: sometimes, type: http, url: "{http_target.base_url}/ok", interval: 3m}}
    """)
    ran = []
    for n in range(7):
        summary = invoke("core", minute(n))
        ran.append(sorted(r["check"] for r in summary["results"]))
    assert ran == [
        ["every", "sometimes"],
        ["every"],
        ["every"],
        ["every", "sometimes"],
        ["every"],
        ["every"],
        ["every", "sometimes"],
    ]


def test_metrics_are_emf_lines_with_group_and_check_dimensions(
    aws, invoke, write_config, http_target, capsys
):
    write_config(f"""
    groups:
      core:
        checks:
          - {{name: api, type: http, url: "{http_target.base_url}/ok"}}
          - {{name: quiet, type: http, url: "{http_target.base_url}/status/503", metrics: false}}
    """)
    capsys.readouterr()
    invoke("core", minute(0))
    docs = [
        json.loads(line)
        for line in capsys.readouterr().out.splitlines()
        if line.startswith('{"_aws"')
    ]
    per_check = [d for d in docs if "check" in d]
    assert [d["check"] for d in per_check] == ["api"]  # quiet has per-check metrics off
    api = per_check[0]
    assert api["Healthy"] == [1.0] and api["LatencyMs"][0] > 0
    assert api["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "Vigil"
    assert ["group", "check", "service"] in api["_aws"]["CloudWatchMetrics"][0]["Dimensions"]
    group = next(d for d in docs if "RunDurationMs" in d)
    assert (group["HealthyChecks"], group["UnhealthyChecks"]) == ([1.0], [1.0])
    assert group["group"] == "core"


def test_rollups_close_hours_and_days(aws, invoke, write_config, http_target, refused):
    write_config(f"""
    groups:
      core:
        checks:
          - {{name: api, type: http, url: "{http_target.base_url}/ok"}}
          - {{name: down, type: tcp, host: 127.0.0.1, port: {refused}}}
    """)
    for scheduled in [at("22:58"), at("22:59"), at("23:00"), at("00:00", NEXT_DAY)]:
        invoke("core", scheduled)
    from vigil.store.dynamodb import DynamoDBStore

    store = DynamoDBStore(aws.table_name)
    hours = store.get_rollups("core", 0, "hour", f"{DAY}T00")
    assert [h.period for h in hours] == [f"{DAY}T22", f"{DAY}T23"]
    assert hours[0].checks["api"].runs == 2 and hours[0].checks["api"].healthy == 2
    assert hours[0].checks["down"].failures == 2
    assert hours[0].checks["api"].quantile(0.95) > 0
    days = store.get_rollups("core", 0, "day", DAY[:8] + "01")
    assert [d.period for d in days] == [DAY] and days[0].checks["api"].runs == 3
    state = store.load_state("core")
    assert state.hour.period == f"{NEXT_DAY}T00" and state.day.checks["api"].runs == 1
