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
