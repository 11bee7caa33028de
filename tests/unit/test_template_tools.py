"""vigil_cli.local.template without AWS: tag loading, schedule parsing, drift, env resolution."""

from __future__ import annotations

import json
import textwrap

import pytest

from vigil_cli.local.template import (
    SCHEDULED_TIME_PLACEHOLDER,
    LocalResources,
    ScheduleInfo,
    drift,
    interval_findings,
    load_template,
    loads_template,
    parse_rate,
    runner_environment,
    schedules,
    shortest_gap,
)


def _template(text: str) -> dict:
    return loads_template(textwrap.dedent(text))


def test_short_tags_become_long_forms():
    doc = _template(
        """
        a: !Ref Table
        b: !Sub ${AWS::StackName}-runner
        c: !GetAtt Table.Arn
        d: !GetAtt [Db, Endpoint.Address]
        e: !GetAtt Db.Endpoint.Address
        f: !If [HasVpc, !Ref Subnets, !Ref AWS::NoValue]
        g: !Not [!Equals [!Ref Email, ""]]
        h: !Select [0, !Split [",", !Join [",", [a, b]]]]
        i: !FindInMap [M, k, v]
        j: !Condition HasVpc
        k: !ImportValue other-stack-output
        l: !Base64 hello
        m: !Cidr [10.0.0.0/16, 4, 8]
        n: !GetAZs ""
        o: !And [!Condition A, !Or [!Condition B, !Condition C]]
        p: !Sub
          - ${X}-y
          - X: !Ref Thing
        """
    )
    assert doc["a"] == {"Ref": "Table"}
    assert doc["b"] == {"Fn::Sub": "${AWS::StackName}-runner"}
    assert doc["c"] == {"Fn::GetAtt": ["Table", "Arn"]}
    assert doc["d"] == {"Fn::GetAtt": ["Db", "Endpoint.Address"]}
    assert doc["e"] == {"Fn::GetAtt": ["Db", "Endpoint.Address"]}
    assert doc["f"] == {"Fn::If": ["HasVpc", {"Ref": "Subnets"}, {"Ref": "AWS::NoValue"}]}
    assert doc["g"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "Email"}, ""]}]}
    assert doc["h"] == {"Fn::Select": [0, {"Fn::Split": [",", {"Fn::Join": [",", ["a", "b"]]}]}]}
    assert doc["i"] == {"Fn::FindInMap": ["M", "k", "v"]}
    assert doc["j"] == {"Condition": "HasVpc"}
    assert doc["k"] == {"Fn::ImportValue": "other-stack-output"}
    assert doc["l"] == {"Fn::Base64": "hello"}
    assert doc["m"] == {"Fn::Cidr": ["10.0.0.0/16", 4, 8]}
    assert doc["n"] == {"Fn::GetAZs": ""}
    assert doc["o"] == {
        "Fn::And": [{"Condition": "A"}, {"Fn::Or": [{"Condition": "B"}, {"Condition": "C"}]}]
    }
    assert doc["p"] == {"Fn::Sub": ["${X}-y", {"X": {"Ref": "Thing"}}]}


def test_quoted_off_stays_a_string_and_tags_do_not_leak_into_safe_load(tmp_path):
    path = tmp_path / "t.yaml"
    path.write_text('Mode: "OFF"\nBare: OFF\nR: !Ref X\nVersion: 2010-09-09\n')
    doc = load_template(path)
    assert doc == {"Mode": "OFF", "Bare": False, "R": {"Ref": "X"}, "Version": "2010-09-09"}
    import yaml

    with pytest.raises(yaml.constructor.ConstructorError):
        yaml.safe_load("R: !Ref X")


def test_a_template_must_be_a_mapping():
    with pytest.raises(ValueError, match="mapping"):
        loads_template("- a\n- b\n")


def test_a_duplicate_key_is_refused_with_its_line():
    """cfn-lint's decoder refuses what a plain YAML loader silently lets the last one win."""
    import yaml

    with pytest.raises(yaml.YAMLError, match=r"Duplicate found 'Timeout' \(line 3\)"):
        loads_template("Resources:\n  F:\n    Timeout: 60\n    Timeout: 5\n")


def test_the_template_reads_as_cfn_lint_reads_it():
    from cfnlint.decode import decode

    from vigil_cli.local.local_aws import TEMPLATE

    linted, matches = decode(str(TEMPLATE))
    assert matches == []
    assert load_template(TEMPLATE) == linted


@pytest.mark.parametrize(
    ("expression", "seconds"),
    [
        ("rate(1 minute)", 60),
        ("rate(5 minutes)", 300),
        ("rate(2 hours)", 7200),
        ("rate(1 day)", 86400),
        ("cron(0/5 * * * ? *)", None),
        ("at(2026-01-01T00:00:00)", None),
    ],
)
def test_parse_rate(expression, seconds):
    assert parse_rate(expression) == seconds


@pytest.mark.parametrize("bad", ["rate(0 minutes)", "rate(5 seconds)", "rate(minute)", "rate(1)"])
def test_parse_rate_refuses_malformed_rates(bad):
    with pytest.raises(ValueError, match="rate"):
        parse_rate(bad)


def _schedule_event(group: str | None, expression: str = "rate(1 minute)", **extra) -> dict:
    document = {"group": group, "scheduled_time": SCHEDULED_TIME_PLACEHOLDER} if group else {}
    document.update(extra)
    return {
        "Type": "ScheduleV2",
        "Properties": {"ScheduleExpression": expression, "Input": json.dumps(document)},
    }


def _function_template(events: dict, **more_resources) -> dict:
    return {
        "Resources": {
            "RunnerFunction": {
                "Type": "AWS::Serverless::Function",
                "Properties": {"Handler": "app.handler", "Events": events},
            },
            **more_resources,
        }
    }


def test_schedules_reads_group_events_only():
    template = _function_template(
        {
            "ScheduleCore": _schedule_event("core"),
            "ScheduleDatabases": _schedule_event("databases", "rate(5 minutes)"),
            "Nightly": _schedule_event("reports", "cron(0 3 * * ? *)"),
            "NoGroup": _schedule_event(None),
            "Api": {"Type": "Api", "Properties": {"Path": "/", "Method": "get"}},
            "Legacy": {
                "Type": "Schedule",
                "Properties": {"Schedule": "rate(1 hour)", "Input": '{"group": "hourly"}'},
            },
        },
        Table={"Type": "AWS::DynamoDB::Table", "Properties": {}},
    )
    found = schedules(template)
    assert [
        (s.event, s.group, s.expression, s.interval_seconds, s.shortest_gap_seconds) for s in found
    ] == [
        ("ScheduleCore", "core", "rate(1 minute)", 60, 60),
        ("ScheduleDatabases", "databases", "rate(5 minutes)", 300, 300),
        ("Nightly", "reports", "cron(0 3 * * ? *)", None, 86400),
        ("Legacy", "hourly", "rate(1 hour)", 3600, 3600),
    ]
    assert found[0] == ScheduleInfo(
        function="RunnerFunction",
        event="ScheduleCore",
        expression="rate(1 minute)",
        group="core",
        interval_seconds=60,
        shortest_gap_seconds=60,
    )
    assert found[0].input["scheduled_time"] == SCHEDULED_TIME_PLACEHOLDER
    assert found[3].event_type == "Schedule"


def test_schedules_understands_a_sub_input():
    template = _function_template(
        {
            "Core": {
                "Type": "ScheduleV2",
                "Properties": {
                    "ScheduleExpression": "rate(1 minute)",
                    "Input": {"Fn::Sub": '{"group": "core", "stack": "${AWS::StackName}"}'},
                },
            }
        }
    )
    assert [s.group for s in schedules(template)] == ["core"]


def test_no_drift_when_groups_and_schedules_agree():
    template = _function_template(
        {"A": _schedule_event("core"), "B": _schedule_event("databases", "rate(5 minutes)")}
    )
    assert drift(["core", "databases"], template) == []
    assert drift(iter({"databases", "core"}), template) == []


def test_drift_reports_a_group_without_schedule():
    template = _function_template({"A": _schedule_event("core")})
    [finding] = drift(["core", "databases"], template)
    assert "'databases'" in finding and "no schedule" in finding


def test_drift_reports_a_schedule_for_an_unknown_group():
    template = _function_template({"A": _schedule_event("core"), "B": _schedule_event("dbs")})
    [finding] = drift(["core"], template)
    assert "RunnerFunction.Events.B" in finding and "'dbs'" in finding
    assert "known groups: core" in finding


def test_drift_reports_a_missing_scheduled_time():
    event = {
        "Type": "ScheduleV2",
        "Properties": {"ScheduleExpression": "rate(1 minute)", "Input": '{"group": "core"}'},
    }
    [finding] = drift(["core"], _function_template({"A": event}))
    assert "scheduled_time" in finding and SCHEDULED_TIME_PLACEHOLDER in finding

    wrong = _schedule_event("core")
    wrong["Properties"]["Input"] = json.dumps({"group": "core", "scheduled_time": "now"})
    assert len(drift(["core"], _function_template({"A": wrong}))) == 1


def test_drift_reports_a_classic_schedule_and_a_bad_rate():
    legacy = {
        "Type": "Schedule",
        "Properties": {"Schedule": "rate(1 minute)", "Input": '{"group": "core"}'},
    }
    findings = drift(["core", "db"], _function_template({"Old": legacy}))
    assert any("ScheduleV2" in f for f in findings)
    assert any("'db'" in f for f in findings)

    bad = _schedule_event("core", "rate(1 fortnight)")
    [finding] = drift(["core"], _function_template({"A": bad}))
    assert "not a valid rate" in finding


def test_drift_with_everything_wrong_lists_every_problem():
    template = _function_template({"A": _schedule_event("ghost"), "B": _schedule_event(None)})
    findings = drift(["core"], template)
    assert len(findings) == 2


def test_runner_environment_merges_globals_and_resolves_refs():
    template = _template(
        """
        Parameters:
          HistoryRetentionDays: {Type: Number, Default: 30}
        Globals:
          Function:
            Environment:
              Variables:
                POWERTOOLS_SERVICE_NAME: vigil
                SHARED: from-globals
        Resources:
          Table: {Type: AWS::DynamoDB::Table, Properties: {}}
          Topic: {Type: AWS::SNS::Topic}
          RunnerFunction:
            Type: AWS::Serverless::Function
            Properties:
              Environment:
                Variables:
                  SHARED: from-function
                  HEALTHCHECK_TABLE: !Ref Table
                  HEALTHCHECK_TOPIC_ARN: !Ref Topic
                  HEALTHCHECK_HISTORY_DAYS: !Ref HistoryRetentionDays
                  NAME: !Sub ${AWS::StackName}-runner
                  FLAG: true
        """
    )
    resources = LocalResources(
        table_name="t", topic_arn="arn:aws:sns:us-east-1:123456789012:x", function_name="f"
    )
    assert runner_environment(template, resources) == {
        "POWERTOOLS_SERVICE_NAME": "vigil",
        "SHARED": "from-function",
        "HEALTHCHECK_TABLE": "t",
        "HEALTHCHECK_TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:x",
        "HEALTHCHECK_HISTORY_DAYS": "30",
        "NAME": "vigil-local-runner",
        "FLAG": "true",
    }


def test_runner_environment_refuses_what_it_cannot_resolve():
    template = _function_template({})
    template["Resources"]["RunnerFunction"]["Properties"]["Environment"] = {
        "Variables": {"X": {"Fn::GetAtt": ["Elsewhere", "Arn"]}}
    }
    resources = LocalResources(table_name="t", topic_arn="a", function_name="f")
    with pytest.raises(ValueError, match="cannot resolve"):
        runner_environment(template, resources)


@pytest.mark.parametrize(
    "expression, seconds",
    [
        ("rate(1 minute)", 60),
        ("rate(5 minutes)", 300),
        ("cron(0/5 * * * ? *)", 300),
        ("cron(*/10 * * * ? *)", 600),
        ("cron(15,45 * * * ? *)", 1800),
        ("cron(0,50 * * * ? *)", 600),  # 0 and 50: 10 minutes from :50 to the next :00
        ("cron(0 9-17 ? * MON-FRI *)", 3600),  # days left out only make gaps longer
        ("cron(30 9 * * ? *)", 86400),  # once a day
        ("cron(0 0/6 * * ? *)", 6 * 3600),
        ("at(2026-01-01T00:00:00)", None),
    ],
)
def test_shortest_gap_of_rate_and_cron(expression, seconds):
    assert shortest_gap(expression) == seconds


@pytest.mark.parametrize(
    "bad", ["cron(61 * * * ? *)", "cron(* 24 * * ? *)", "cron(* * *)", "cron(x * * * ? *)"]
)
def test_shortest_gap_refuses_malformed_cron(bad):
    with pytest.raises(ValueError, match="cron"):
        shortest_gap(bad)


def test_drift_reports_a_malformed_cron():
    template = _function_template({"A": _schedule_event("core", "cron(0 25 * * ? *)")})
    [finding] = drift(["core"], template)
    assert "RunnerFunction.Events.A" in finding and "not a valid cron expression" in finding


def test_interval_findings_for_checks_shorter_than_their_schedule():
    from vigil.config import parse_config

    config = parse_config(
        {
            "groups": {
                "core": {
                    "checks": [
                        {"name": "a", "type": "tcp", "host": "h", "port": 1, "interval": "30s"},
                        {"name": "b", "type": "tcp", "host": "h", "port": 1, "interval": "1m"},
                        {"name": "c", "type": "tcp", "host": "h", "port": 1},
                    ]
                },
                "nightly": {
                    "checks": [
                        {"name": "d", "type": "tcp", "host": "h", "port": 1, "interval": "1h"},
                        {"name": "e", "type": "tcp", "host": "h", "port": 1, "interval": "1d"},
                    ]
                },
            }
        }
    )
    template = _function_template(
        {
            "Core": _schedule_event("core"),
            "Nightly": _schedule_event("nightly", "cron(0 2 * * ? *)"),
        }
    )
    findings = interval_findings(config.groups, template)
    assert [path for path, _ in findings] == [
        "groups.core.checks[0].interval",
        "groups.nightly.checks[0].interval",
    ]
    assert findings[0][1].startswith(
        "check 'a': 30s is shorter than the group's schedule rate(1 minute) "
        "(RunnerFunction.Events.Core), which invokes the group at most every 1m"
    )
    assert "cron(0 2 * * ? *)" in findings[1][1] and "at most every 1d" in findings[1][1]
    # a second, faster schedule for the same group: the shortest gap counts
    template["Resources"]["RunnerFunction"]["Properties"]["Events"]["Fast"] = _schedule_event(
        "nightly", "rate(1 hour)"
    )
    assert [path for path, _ in interval_findings(config.groups, template)] == [
        "groups.core.checks[0].interval"
    ]
