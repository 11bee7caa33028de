"""The run's EMF documents: each check's is what Powertools itself prints for it."""

from __future__ import annotations

import json

import pytest

from vigil.config import GroupConfig, parse_config
from vigil.metrics import _metrics, emit_run_metrics
from vigil.results import CheckResult, Status

RESULTS = [
    CheckResult("api", Status.HEALTHY, "HTTP 200", 12.34),
    CheckResult("web", Status.DEGRADED, "slow", 1234.56),
    CheckResult("db", Status.UNHEALTHY, "refused", 3.0),  # no latency metric when failing
    CheckResult("dns", Status.ERROR, "cannot build check"),
    CheckResult("quiet", Status.HEALTHY, "HTTP 200", 5.0),
    CheckResult("late", Status.HEALTHY, "HTTP 200", None),
]


@pytest.fixture
def group() -> GroupConfig:
    checks = [
        {"name": r.check, "type": "tcp", "host": "h", "port": 1, "metrics": r.check != "quiet"}
        for r in RESULTS
    ]
    return parse_config({"groups": {"core": {"checks": checks}}}).group("core")


def powertools_document(group: str, result: CheckResult) -> dict:
    """One check's document printed through Powertools' own add and flush."""
    from aws_lambda_powertools.metrics import MetricUnit

    metrics = _metrics()
    metrics.add_dimension(name="group", value=group)
    metrics.add_dimension(name="check", value=result.check)
    metrics.add_metric(
        name="Healthy", unit=MetricUnit.Count, value=int(result.status == Status.HEALTHY)
    )
    if result.latency_ms is not None and result.status in (Status.HEALTHY, Status.DEGRADED):
        metrics.add_metric(
            name="LatencyMs", unit=MetricUnit.Milliseconds, value=round(result.latency_ms, 1)
        )
    return metrics.serialize_metric_set()


def without_timestamp(document: dict) -> dict:
    return {**document, "_aws": {**document["_aws"], "Timestamp": None}}


def test_each_check_gets_the_document_powertools_prints_for_it(group, capsys, monkeypatch):
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "vigil")
    monkeypatch.delenv("POWERTOOLS_METRICS_DISABLED", raising=False)
    monkeypatch.delenv("POWERTOOLS_DEV", raising=False)
    printed = emit_run_metrics(group, RESULTS, run_duration_ms=812.4, alerts_pending=1)
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    per_check = [d for d in lines if "_aws" in d and "check" in d]
    expected = [powertools_document("core", r) for r in RESULTS if r.check != "quiet"]
    assert [without_timestamp(d) for d in per_check] == [without_timestamp(d) for d in expected]
    assert [d["check"] for d in per_check] == ["api", "web", "db", "dns", "late"]
    assert per_check[1]["LatencyMs"] == [1234.6] and "LatencyMs" not in per_check[2]
    # a check with metrics: false gets its plain line, in its place among the others
    assert [d.get("check") for d in lines[:6]] == ["api", "web", "db", "dns", "quiet", "late"]
    assert lines[4]["record"] == "check result" and lines[4]["latency_ms"] == 5.0
    run = next(d for d in lines if "RunDurationMs" in d)
    assert (run["HealthyChecks"], run["DegradedChecks"], run["ErrorChecks"]) == (
        [3.0],
        [1.0],
        [1.0],
    )
    assert printed == 5 + 2


def test_disabled_metrics_print_only_the_plain_lines(group, capsys, monkeypatch):
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "true")
    emit_run_metrics(group, RESULTS, run_duration_ms=812.4, alerts_pending=0)
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [d["check"] for d in lines] == ["quiet"]
