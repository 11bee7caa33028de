"""PostgreSQL checks through the handler: a real server, the password from Secrets Manager."""

from __future__ import annotations

import json

import pytest

from tests.integration.conftest import minute

pytestmark = pytest.mark.postgres


def pg_config(server, secret="vigil/db/monitor", **extra):
    fields = "".join(f"\n            {k}: {v}" for k, v in extra.items())
    return f"""
    groups:
      databases:
        checks:
          - name: app-db
            type: postgres
            host: {server.host}
            port: {server.port}
            database: app
            user: monitor
            password_secret: {secret}
            timeout: 3s
            failure_threshold: 1{fields}
    """


def test_good_password_is_healthy(aws, invoke, write_config, postgres_server, capsys):
    aws.put_secret("vigil/db/monitor", postgres_server.monitor_password)
    write_config(pg_config(postgres_server))
    summary = invoke("databases", minute(0))
    result = summary["results"][0]
    assert (result["status"], result["reason"]) == ("healthy", "query succeeded")
    assert result["latency_ms"] > 0
    assert postgres_server.monitor_password not in json.dumps(summary)
    assert postgres_server.monitor_password not in capsys.readouterr().out


def test_secret_in_rds_json_format(aws, invoke, write_config, postgres_server):
    aws.put_secret(
        "vigil/db/rds",
        json.dumps(
            {
                "username": "monitor",
                "password": postgres_server.monitor_password,
                "engine": "postgres",
            }
        ),
    )
    write_config(pg_config(postgres_server, secret="vigil/db/rds"))
    assert invoke("databases", minute(0))["results"][0]["status"] == "healthy"


def test_wrong_password_is_unhealthy_and_alerts_without_the_secret(
    aws, invoke, write_config, postgres_server, capsys
):
    aws.put_secret("vigil/db/monitor", "wrong-password-123")
    write_config(pg_config(postgres_server))
    result = invoke("databases", minute(0))["results"][0]
    assert result["status"] == "unhealthy"
    assert "password authentication failed" in result["reason"]
    alerts = aws.drain_alerts()
    assert [a.document["event"] for a in alerts] == ["failure"]
    everything = json.dumps([a.document for a in alerts]) + capsys.readouterr().out
    assert "wrong-password-123" not in everything


def test_failing_query_is_unhealthy(aws, invoke, write_config, postgres_server):
    aws.put_secret("vigil/db/monitor", postgres_server.monitor_password)
    write_config(pg_config(postgres_server, query="SELECT * FROM no_such_table"))
    result = invoke("databases", minute(0))["results"][0]
    assert result["status"] == "unhealthy" and result["reason"].startswith("query failed")


def test_missing_secret_is_error(aws, invoke, write_config, postgres_server):
    write_config(pg_config(postgres_server, secret="vigil/db/absent"))
    result = invoke("databases", minute(0))["results"][0]
    assert result["status"] == "error"
    assert result["reason"].startswith("secret 'vigil/db/absent': not found")
    assert "GetParameterError" not in result["reason"]


def test_stopped_server_is_unhealthy_then_recovers(aws, invoke, write_config, postgres_server):
    aws.put_secret("vigil/db/monitor", postgres_server.monitor_password)
    write_config(pg_config(postgres_server))
    assert invoke("databases", minute(0))["results"][0]["status"] == "healthy"
    postgres_server.stop()
    try:
        down = invoke("databases", minute(1))["results"][0]
    finally:
        postgres_server.start()
    assert down["status"] == "unhealthy"
    assert down["reason"] == "connection failed: connection refused"
    assert invoke("databases", minute(2))["results"][0]["status"] == "healthy"
    events = [a.document["event"] for a in aws.drain_alerts()]
    assert events == ["failure", "recovery"]


def test_sslmode_require_against_a_server_without_tls_is_unhealthy(
    aws, invoke, write_config, postgres_server
):
    aws.put_secret("vigil/db/monitor", postgres_server.monitor_password)
    write_config(pg_config(postgres_server, sslmode="require"))
    result = invoke("databases", minute(0))["results"][0]
    assert result["status"] == "unhealthy"
    assert result["reason"].startswith("connection failed")


EXPECT_CASES = {
    # name: (query, expect, status, reason)
    "int-ok": ("SELECT 42", "{equals: 42}", "healthy", "query succeeded: first value 42"),
    "int-vs-text": (
        "SELECT '42'",
        "{equals: 42}",
        "unhealthy",
        'first value is "42" (a string), expected 42 (a number)',
    ),
    "numeric": ("SELECT 1.50::numeric", "{less_than: 2}", "healthy", None),
    "lag-too-high": (
        "SELECT interval '90 seconds'",
        "{less_than: 30}",
        "unhealthy",
        "first value is 90.0, expected less than 30",
    ),
    "depth": ("SELECT count(*) FROM pg_stat_activity", "{greater_than: 0}", "healthy", None),
    "bool": ("SELECT true", "{equals: true}", "healthy", None),
    "bool-vs-int": ("SELECT 1", "{equals: true}", "unhealthy", None),
    "version": ("SELECT version()", "{matches: '^PostgreSQL [0-9]+'}", "healthy", None),
    "jsonb": ("""SELECT '{"a": [1, "x"]}'::jsonb""", "{equals: {a: [1, x]}}", "healthy", None),
    "null-exists": (
        "SELECT NULL",
        "{exists: true}",
        "unhealthy",
        "first value is null, expected to exist",
    ),
    "no-rows": (
        "SELECT 1 WHERE false",
        "{equals: 1}",
        "unhealthy",
        "query returned no rows, expected 1",
    ),
    "no-rows-ok": ("SELECT 1 WHERE false", "{exists: false}", "healthy", None),
    "date": ("SELECT date '2026-01-02'", "{equals: 2026-01-02}", "healthy", None),
}


def test_expect_judges_the_first_value_by_json_type(aws, invoke, write_config, postgres_server):
    aws.put_secret("vigil/db/monitor", postgres_server.monitor_password)
    checks = "".join(
        f"""
          - name: {name}
            type: postgres
            host: {postgres_server.host}
            port: {postgres_server.port}
            database: app
            user: monitor
            password_secret: vigil/db/monitor
            query: {json.dumps(query)}
            expect: {expect}"""
        for name, (query, expect, _, _) in EXPECT_CASES.items()
    )
    write_config(f"groups:\n  databases:\n    checks:{checks}\n")
    results = {r["check"]: r for r in invoke("databases", minute(0))["results"]}
    for name, (_, _, status, reason) in EXPECT_CASES.items():
        assert results[name]["status"] == status, (name, results[name])
        if reason is not None:
            assert results[name]["reason"] == reason, name
