"""template.yaml against cfn-lint, the check configuration, the sample events and moto."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from vigil_cli.local.template import (
    SCHEDULED_TIME_PLACEHOLDER,
    create_local_resources,
    drift,
    load_template,
    runner_environment,
    schedules,
)

REPO = Path(__file__).resolve().parents[2]
TEMPLATE_PATH = REPO / "template.yaml"
CONFIG_PATH = REPO / "functions" / "runner" / "checks.yaml"
EVENTS = REPO / "events"


@pytest.fixture(scope="module")
def template() -> dict:
    return load_template(TEMPLATE_PATH)


@pytest.fixture(scope="module")
def config_groups() -> list[str]:
    return list(yaml.safe_load(CONFIG_PATH.read_text())["groups"])


def _cfn_lint_command() -> list[str]:
    script = Path(sys.executable).with_name("cfn-lint")
    if script.exists():
        return [str(script)]
    if shutil.which("cfn-lint"):
        return ["cfn-lint"]
    return [sys.executable, "-m", "cfnlint"]


def test_cfn_lint_finds_nothing():
    env = {**os.environ, "AWS_DEFAULT_REGION": os.environ.get("AWS_DEFAULT_REGION", "us-east-1")}
    result = subprocess.run(
        [*_cfn_lint_command(), str(TEMPLATE_PATH)],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=env,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == ""


def test_no_drift_between_checks_yaml_and_schedules(template, config_groups):
    assert config_groups, "checks.yaml defines no group"
    assert drift(config_groups, template) == []


def test_example_config_is_valid_for_the_runner():
    config = pytest.importorskip("vigil.config")
    loaded = config.load_config(CONFIG_PATH)
    assert set(loaded.groups) == {"core", "databases"}


def test_schedules_drop_late_runs_and_never_jitter(template):
    found = schedules(template)
    assert found
    resources = template["Resources"]
    for info in found:
        props = resources[info.function]["Properties"]["Events"][info.event]["Properties"]
        assert info.event_type == "ScheduleV2"
        assert props["FlexibleTimeWindow"] == {"Mode": "OFF"}
        assert info.interval_seconds is not None, info.expression
        # never deliver a run older than one interval (60 s is Scheduler's minimum)
        assert props["RetryPolicy"]["MaximumEventAgeInSeconds"] == max(60, info.interval_seconds)
        assert info.input["scheduled_time"] == SCHEDULED_TIME_PLACEHOLDER


def test_async_invocations_are_retried_once_and_never_late(template):
    """Scheduler and the shard fan-out invoke asynchronously: bounded like the schedules."""
    resources = template["Resources"]
    for info in schedules(template):
        function = resources[info.function]["Properties"]
        invoke = function["EventInvokeConfig"]
        assert invoke["MaximumRetryAttempts"] <= 1
        assert invoke["MaximumEventAgeInSeconds"] <= max(60, info.interval_seconds)
    statements = resources["RunnerRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    (fan_out,) = [s for s in statements if s.get("Action") == "lambda:InvokeFunction"]
    assert fan_out["Resource"]["Fn::Sub"].endswith(":function:${AWS::StackName}-runner")
    runner_name = resources["RunnerFunction"]["Properties"]["FunctionName"]
    assert runner_name["Fn::Sub"] == "${AWS::StackName}-runner"


def test_every_group_has_a_stopped_reporting_alarm(template, config_groups):
    watched = set()
    for resource in template["Resources"].values():
        if resource["Type"] != "AWS::CloudWatch::Alarm":
            continue
        props = resource["Properties"]
        if props.get("Namespace") == "Vigil" and props.get("MetricName") == "RunDurationMs":
            assert props["TreatMissingData"] == "breaching"
            dimensions = {d["Name"]: d["Value"] for d in props["Dimensions"]}
            # Powertools adds service=<POWERTOOLS_SERVICE_NAME> to every metric
            service = template["Globals"]["Function"]["Environment"]["Variables"]
            assert dimensions["service"] == service["POWERTOOLS_SERVICE_NAME"]
            watched.add(dimensions["group"])
    assert watched == set(config_groups)


def test_sample_events_name_configured_groups(config_groups):
    paths = sorted(EVENTS.glob("runner-*.json"))
    assert paths
    for path in paths:
        event = json.loads(path.read_text())
        assert event["group"] in config_groups, path.name
        assert event["scheduled_time"].endswith("Z")


def test_local_resources_match_the_template(template, monkeypatch):
    moto = pytest.importorskip("moto")
    import boto3

    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.setenv(key, "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    table_props = template["Resources"]["HealthCheckTable"]["Properties"]

    with moto.mock_aws():
        resources = create_local_resources(template, region="us-east-1", stack_name="vigil-test")
        assert resources.table_name == "vigil-test-HealthCheckTable"
        assert resources.function_name == "vigil-test-runner"

        dynamodb = boto3.client("dynamodb", region_name="us-east-1")
        table = dynamodb.describe_table(TableName=resources.table_name)["Table"]
        assert table["KeySchema"] == table_props["KeySchema"]
        assert sorted(table["AttributeDefinitions"], key=lambda a: a["AttributeName"]) == sorted(
            table_props["AttributeDefinitions"], key=lambda a: a["AttributeName"]
        )
        assert table["BillingModeSummary"]["BillingMode"] == table_props["BillingMode"]
        for indexes in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes"):
            assert [i["IndexName"] for i in table.get(indexes) or []] == [
                i["IndexName"] for i in table_props.get(indexes) or []
            ]
        ttl = dynamodb.describe_time_to_live(TableName=resources.table_name)
        assert ttl["TimeToLiveDescription"] == {
            "TimeToLiveStatus": "ENABLED",
            "AttributeName": table_props["TimeToLiveSpecification"]["AttributeName"],
        }

        sns = boto3.client("sns", region_name="us-east-1")
        topics = [t["TopicArn"] for t in sns.list_topics()["Topics"]]
        assert sorted(topics) == sorted(resources.topics.values())  # alert, alarm, chat
        assert resources.topic_arn == resources.topics["AlertTopic"]

        env = runner_environment(template, resources)
        assert env["HEALTHCHECK_TABLE"] == resources.table_name
        assert env["HEALTHCHECK_TOPIC_ARN"] == resources.topic_arn
        assert env["HEALTHCHECK_CONFIG"] == "checks.yaml"
        assert env["HEALTHCHECK_HISTORY_DAYS"] == "30"
        assert env["POWERTOOLS_SERVICE_NAME"] == "vigil"
        assert env["POWERTOOLS_METRICS_NAMESPACE"] == "Vigil"
        assert all(isinstance(v, str) for v in env.values())


def _alarms(template: dict) -> dict[str, dict]:
    return {
        logical_id: resource["Properties"]
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] == "AWS::CloudWatch::Alarm"
    }


def _runner_statements(template: dict) -> list:
    role = template["Resources"]["RunnerRole"]["Properties"]
    return role["Policies"][0]["PolicyDocument"]["Statement"]


def test_secrets_prefix_allows_every_secrets_manager_name_character(template):
    import re

    pattern = re.compile(template["Parameters"]["MonitoredSecretsPrefix"]["AllowedPattern"])
    for prefix in ("vigil/", "rds!", "rds!db-", "prod/db_monitor+x=y.z@corp-1/"):
        assert pattern.fullmatch(prefix), prefix
    for refused in ("", "vigil/*", "vigil/?", "a b", "arn:aws:secretsmanager"):
        assert not pattern.fullmatch(refused), refused


def test_kms_decrypt_only_with_keys_given_and_only_through_secrets_manager(template):
    parameter = template["Parameters"]["MonitoredSecretsKmsKeyArns"]
    assert parameter["Type"] == "CommaDelimitedList" and parameter["Default"] == ""
    condition = template["Conditions"]["HasSecretsKmsKeys"]
    assert condition == {
        "Fn::Not": [{"Fn::Equals": [{"Fn::Join": ["", {"Ref": "MonitoredSecretsKmsKeyArns"}]}, ""]}]
    }
    (conditional,) = [
        s for s in _runner_statements(template) if s.get("Fn::If", [""])[0] == "HasSecretsKmsKeys"
    ]
    name, granted, otherwise = conditional["Fn::If"]
    assert name == "HasSecretsKmsKeys" and otherwise == {"Ref": "AWS::NoValue"}
    assert granted["Action"] == "kms:Decrypt" and granted["Effect"] == "Allow"
    assert granted["Resource"] == {"Ref": "MonitoredSecretsKmsKeyArns"}
    assert granted["Condition"] == {
        "StringEquals": {
            "kms:ViaService": {"Fn::Sub": "secretsmanager.${AWS::Region}.amazonaws.com"}
        }
    }
    # no other statement grants anything on KMS
    others = [s for s in _runner_statements(template) if s is not conditional]
    assert not any("kms:" in str(s) for s in others)


def test_dead_letter_alarm_counts_letters_sent_not_the_queue_depth(template):
    alarm = _alarms(template)["ScheduleDeadLetterAlarm"]
    assert (alarm["Namespace"], alarm["MetricName"]) == ("AWS/SQS", "NumberOfMessagesSent")
    assert alarm["Dimensions"] == [
        {"Name": "QueueName", "Value": {"Fn::GetAtt": ["ScheduleDeadLetterQueue", "QueueName"]}}
    ]
    assert alarm["Statistic"] == "Sum" and alarm["Threshold"] == 1
    assert alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
    # one datapoint raises it; it returns to OK once the window is quiet, ready for the next
    assert alarm["DatapointsToAlarm"] == 1
    assert alarm["Period"] * alarm["EvaluationPeriods"] <= 15 * 60
    assert alarm["TreatMissingData"] == "notBreaching"
    assert alarm["OKActions"] == alarm["AlarmActions"] == [{"Ref": "AlarmTopic"}]
    queue = template["Resources"]["ScheduleDeadLetterQueue"]["Properties"]
    assert "RedrivePolicy" not in queue  # a redrive's moves would escape NumberOfMessagesSent


@pytest.mark.parametrize("metric", ["ErrorChecks", "AlertsPending"])
def test_every_group_alarms_on_error_checks_and_pending_alerts(template, config_groups, metric):
    service = template["Globals"]["Function"]["Environment"]["Variables"]["POWERTOOLS_SERVICE_NAME"]
    rates = {info.group: info.interval_seconds for info in schedules(template)}
    watched = set()
    for alarm in _alarms(template).values():
        if (alarm.get("Namespace"), alarm.get("MetricName")) != ("Vigil", metric):
            continue
        dimensions = {d["Name"]: d["Value"] for d in alarm["Dimensions"]}
        assert dimensions["service"] == service
        group = dimensions["group"]
        watched.add(group)
        # every run of the window had one (Minimum), over at least 3 runs of the group
        assert alarm["Statistic"] == "Minimum" and alarm["Threshold"] == 1
        assert alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
        assert alarm["DatapointsToAlarm"] == alarm["EvaluationPeriods"]
        assert alarm["Period"] >= rates[group]
        assert alarm["Period"] * alarm["EvaluationPeriods"] >= 3 * rates[group]
        assert alarm["TreatMissingData"] == "notBreaching"  # silence has its own alarm
        assert alarm["OKActions"] == alarm["AlarmActions"] == [{"Ref": "AlarmTopic"}]
        assert alarm["AlarmName"]["Fn::Sub"].startswith("${AWS::StackName}-" + group)
    assert watched == set(config_groups)
