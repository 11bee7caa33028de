"""template.yaml's status function, its Function URL and role, and the dashboard.

(cfn-lint over the whole template runs in test_template.py.)
"""

from __future__ import annotations

import io
import json
import re
from contextlib import redirect_stdout
from pathlib import Path

import pytest

from vigil.config import parse_config
from vigil.metrics import emit_run_metrics
from vigil.results import CheckResult, Status
from vigil_cli.local.template_file import load_template

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def resources() -> dict:
    return load_template(REPO / "template.yaml")["Resources"]


@pytest.fixture(scope="module")
def template() -> dict:
    return load_template(REPO / "template.yaml")


def test_status_function_code_and_config_are_where_the_template_says(resources):
    props = resources["StatusFunction"]["Properties"]
    code = REPO / props["CodeUri"]
    module, _, function = props["Handler"].rpartition(".")
    assert (code / f"{module}.py").is_file() and function == "handler"
    assert (code / props["Environment"]["Variables"]["HEALTHCHECK_CONFIG"]).is_file()
    assert props["Environment"]["Variables"]["HEALTHCHECK_TABLE"] == {"Ref": "HealthCheckTable"}


def test_status_role_only_reads(resources):
    assert resources["StatusFunction"]["Properties"]["Role"] == {
        "Fn::GetAtt": ["StatusRole", "Arn"]
    }
    role = resources["StatusRole"]["Properties"]
    assert "ManagedPolicyArns" not in role
    statements = [s for p in role["Policies"] for s in p["PolicyDocument"]["Statement"]]
    actions = {a for s in statements for a in s["Action"]}
    assert actions == {
        "logs:CreateLogStream",
        "logs:PutLogEvents",
        "dynamodb:BatchGetItem",
        "dynamodb:Query",
    }
    (table,) = [s for s in statements if s["Action"][0].startswith("dynamodb:")]
    assert table["Resource"] == {"Fn::GetAtt": ["HealthCheckTable", "Arn"]}
    assert all("*" not in json.dumps(s["Resource"]) for s in statements)


def test_function_url_is_iam_unless_the_page_is_public(template, resources):
    parameter = template["Parameters"]["StatusPageAuth"]
    assert parameter["Default"] == "AWS_IAM" and parameter["AllowedValues"] == ["AWS_IAM", "NONE"]
    url = resources["StatusFunctionUrl"]["Properties"]
    assert url["AuthType"] == {"Ref": "StatusPageAuth"}
    assert url["TargetFunctionArn"] == {"Fn::GetAtt": ["StatusFunction", "Arn"]}
    assert template["Conditions"]["StatusPageIsPublic"] == {
        "Fn::Equals": [{"Ref": "StatusPageAuth"}, "NONE"]
    }
    public = {
        name: r["Properties"]
        for name, r in resources.items()
        if r["Type"] == "AWS::Lambda::Permission"
        and r["Properties"].get("Principal") == "*"
        and r["Properties"]["FunctionName"] == {"Ref": "StatusFunction"}  # the ping's: public
    }
    assert {p["Action"] for p in public.values()} == {
        "lambda:InvokeFunctionUrl",
        "lambda:InvokeFunction",
    }
    for name, props in public.items():
        assert resources[name]["Condition"] == "StatusPageIsPublic"
        assert props.get("FunctionUrlAuthType") == "NONE" or props.get("InvokedViaFunctionUrl")
    assert template["Outputs"]["StatusPageUrl"]["Value"] == {
        "Fn::GetAtt": ["StatusFunctionUrl", "FunctionUrl"]
    }


def dashboard(resources) -> dict:
    body = resources["Dashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]
    assert isinstance(body, str)
    names = set(re.findall(r"\$\{([^}]+)\}", body))
    assert names <= {"AWS::Region", "AWS::StackName", "RunnerLogGroup"}
    return json.loads(re.sub(r"\$\{[^}]+\}", "x", body))


def test_dashboard_shows_groups_runs_alerts_and_checks(resources):
    widgets = dashboard(resources)["widgets"]
    expressions = " ".join(
        m[0]["expression"]
        for w in widgets
        if w["type"] == "metric"
        for m in w["properties"]["metrics"]
    )
    for metric in (
        "HealthyChecks",
        "DegradedChecks",
        "UnhealthyChecks",
        "ErrorChecks",
        "RunDurationMs",
        "AlertsPending",
        "LatencyMs",
        "Healthy",
    ):
        assert f'MetricName="{metric}"' in expressions, metric
    # the namespace and dimensions are the ones the runner emits (Powertools adds service)
    assert "{Vigil,check,group,service}" in expressions
    assert "{Vigil,group,service}" in expressions


def test_logs_widget_reads_the_lines_of_checks_without_metrics(resources, capsys):
    (log_widget,) = [w for w in dashboard(resources)["widgets"] if w["type"] == "log"]
    query = log_widget["properties"]["query"]
    assert (
        "SOURCE '${RunnerLogGroup}'"
        in resources["Dashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]
    )
    config = parse_config(
        {
            "groups": {
                "core": {
                    "checks": [
                        {"name": "quiet", "type": "tcp", "host": "h", "port": 1, "metrics": False},
                        {"name": "loud", "type": "tcp", "host": "h", "port": 2},
                    ]
                }
            }
        }
    )
    out = io.StringIO()
    with redirect_stdout(out):
        emit_run_metrics(
            config.group("core"),
            [
                CheckResult("quiet", Status.DEGRADED, "slow", 812.34),
                CheckResult("loud", Status.HEALTHY, "ok", 3.0),
            ],
            run_duration_ms=10,
            alerts_pending=0,
        )
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    plain = [line for line in lines if "_aws" not in line]
    assert plain == [
        {
            "record": "check result",
            "group": "core",
            "check": "quiet",
            "status": "degraded",
            "latency_ms": 812.3,
            "healthy": 0,
        }
    ]
    # the check without metrics has no EMF document; the other one has (then the group's
    # document and the stack's)
    emf_checks = [line.get("check") for line in lines if "_aws" in line]
    assert emf_checks == ["loud", None, None]
    assert 'filter record = "check result"' in query
    for field in ("group", "check", "status", "latency_ms", "healthy"):
        assert field in query
