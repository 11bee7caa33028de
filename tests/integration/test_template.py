"""template.yaml against cfn-lint, the check configuration, the sample events and moto.

Nothing in the template is per group (a group and its schedule live in checks.yaml):
one schedule, the tick, and the run queue its later runs go through.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from vigil_cli.local.resources import create_local_resources, runner_environment
from vigil_cli.local.template_file import load_template

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


TICK_INPUT = {"tick": "<aws.scheduler.scheduled-time>"}
SCHEDULE_EVENTS = ("ScheduleV2", "Schedule")


def _events(template: dict, *types: str) -> list[tuple[str, str, dict]]:
    """``(function, event name, event)`` of every function event of one of ``types``."""
    found = []
    for logical_id, resource in template["Resources"].items():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        for name, event in (resource["Properties"].get("Events") or {}).items():
            if event["Type"] in types:
                found.append((logical_id, name, event))
    return found


def _strings(value) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [text for item in value.values() for text in _strings(item)]
    if isinstance(value, list):
        return [text for item in value for text in _strings(item)]
    return []


def test_the_one_schedule_is_the_tick(template):
    """One schedule for every group: the tick, every minute, on time, its time passed on."""
    [(function, name, event)] = _events(template, *SCHEDULE_EVENTS)
    assert (function, name, event["Type"]) == ("RunnerFunction", "Tick", "ScheduleV2")
    props = event["Properties"]
    assert json.loads(props["Input"]) == TICK_INPUT
    assert props["ScheduleExpression"] == "rate(1 minute)"
    assert props["FlexibleTimeWindow"] == {"Mode": "OFF"}  # no jitter
    # a tick later than its minute would dispatch runs the next tick dispatches
    assert props["RetryPolicy"]["MaximumEventAgeInSeconds"] == 60
    scheduler = [
        r for r in template["Resources"].values() if r["Type"].startswith("AWS::Scheduler")
    ]
    assert scheduler == []  # no schedule outside the function's events either


def test_the_run_queue_feeds_the_runner_one_run_at_a_time(template):
    [(function, name, event)] = _events(template, "SQS")
    assert (function, name) == ("RunnerFunction", "RunQueue")
    props = event["Properties"]
    assert props["Queue"] == {"Fn::GetAtt": ["RunQueue", "Arn"]}
    assert props["BatchSize"] == 1  # a slow run never holds another back
    assert props["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    runner = template["Resources"]["RunnerFunction"]["Properties"]
    assert runner["Environment"]["Variables"]["HEALTHCHECK_RUN_QUEUE_URL"] == {"Ref": "RunQueue"}
    queue = template["Resources"]["RunQueue"]["Properties"]
    # a run is not delivered again while it may still be running
    assert queue["VisibilityTimeout"] >= runner["Timeout"]


def test_no_resource_is_per_group(template, config_groups):
    """Adding a group is an edit of checks.yaml: nothing in the template names one."""
    for group in config_groups:
        word = re.compile(rf"(?i)(^|[^a-z]){re.escape(group)}($|[^a-z])")
        named = [i for i in template["Resources"] if group.lower() in i.lower()]
        assert named == [], f"resources named after group {group!r}: {named}"
        for logical_id, resource in template["Resources"].items():
            props = resource.get("Properties") or {}
            names = [v for k, v in props.items() if k.endswith("Name")]
            assert not [t for t in _strings(names) if word.search(t)], logical_id
    every_string = _strings(template)
    assert not [t for t in every_string if '"group"' in t]  # no event Input names a group
    dimensions = [
        d["Name"]
        for resource in template["Resources"].values()
        for d in (resource.get("Properties") or {}).get("Dimensions") or []
    ]
    assert "group" not in dimensions  # no alarm watches one group


def test_example_config_is_valid_for_the_runner():
    config = pytest.importorskip("vigil.config")
    loaded = config.load_config(CONFIG_PATH)
    assert set(loaded.groups) == {"core", "databases"}


def test_async_invocations_are_retried_once_and_never_late(template):
    """The tick's runs and the shard fan-out are asynchronous invocations: bounded like the
    tick (a run older than a minute is the next tick's business)."""
    resources = template["Resources"]
    invoke = resources["RunnerFunction"]["Properties"]["EventInvokeConfig"]
    assert invoke["MaximumRetryAttempts"] <= 1
    assert invoke["MaximumEventAgeInSeconds"] <= 60
    statements = resources["RunnerRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    (fan_out,) = [s for s in statements if s.get("Action") == "lambda:InvokeFunction"]
    assert fan_out["Resource"]["Fn::Sub"].endswith(":function:${AWS::StackName}-runner")
    runner_name = resources["RunnerFunction"]["Properties"]["FunctionName"]
    assert runner_name["Fn::Sub"] == "${AWS::StackName}-runner"


def test_silent_ticks_raise_an_alarm(template):
    """Each group's silence is the tick's to alert; the ticks' own silence is an alarm's."""
    alarm = _alarms(template)["TicksStoppedAlarm"]
    assert (alarm["Namespace"], alarm["MetricName"]) == ("Vigil", "Ticks")
    service = template["Globals"]["Function"]["Environment"]["Variables"]
    # Powertools adds service=<POWERTOOLS_SERVICE_NAME> to every metric
    assert alarm["Dimensions"] == [{"Name": "service", "Value": service["POWERTOOLS_SERVICE_NAME"]}]
    assert alarm["TreatMissingData"] == "breaching"  # no tick at all is the alarm
    assert alarm["Period"] * alarm["EvaluationPeriods"] == 180
    assert alarm["OKActions"] == alarm["AlarmActions"] == [{"Ref": "AlarmTopic"}]


def test_sample_events_are_runner_events_naming_configured_groups(config_groups):
    """``sam local invoke RunnerFunction -e events/runner-<name>.json``: a tick, or a run
    of a group of the shipped checks.yaml."""
    from vigil.run.event import RunRequest, TickRequest, parse_event
    from vigil.times import parse_time

    kinds = set()
    for path in sorted(EVENTS.glob("runner-*.json")):
        event = json.loads(path.read_text())
        moment = event.get("scheduled_time") or event.get("tick")
        assert moment.endswith("Z"), path.name
        request = parse_event(event, now=parse_time(moment).timestamp(), retention_days=30)
        kinds.add(type(request))
        if isinstance(request, RunRequest):
            assert request.group in config_groups, path.name
    assert kinds == {RunRequest, TickRequest}


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
        sqs = boto3.client("sqs", region_name="us-east-1")
        assert sorted(sqs.list_queues()["QueueUrls"]) == sorted(resources.queues.values())
        assert env["HEALTHCHECK_RUN_QUEUE_URL"] == resources.queues["RunQueue"]
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
def test_error_checks_and_pending_alerts_alarm_for_every_group_at_once(template, metric):
    service = template["Globals"]["Function"]["Environment"]["Variables"]["POWERTOOLS_SERVICE_NAME"]
    [alarm] = [
        a
        for a in _alarms(template).values()
        if (a.get("Namespace"), a.get("MetricName")) == ("Vigil", metric)
    ]
    assert alarm["Dimensions"] == [{"Name": "service", "Value": service}]
    # some run in every period of the window had one, over 15 minutes
    assert alarm["Statistic"] == "Maximum" and alarm["Threshold"] == 1
    assert alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
    assert alarm["DatapointsToAlarm"] == alarm["EvaluationPeriods"]
    assert alarm["Period"] * alarm["EvaluationPeriods"] >= 15 * 60
    assert alarm["TreatMissingData"] == "notBreaching"  # silence has its own alarm
    assert alarm["OKActions"] == alarm["AlarmActions"] == [{"Ref": "AlarmTopic"}]
