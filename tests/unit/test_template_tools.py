"""The template tools without AWS: loading (``template_file``) and environment resolution
(``resources``)."""

from __future__ import annotations

import textwrap

import pytest

from vigil_cli.local.resources import LocalResources, runner_environment
from vigil_cli.local.template_file import load_template, loads_template, resources_of


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


def test_resources_of_one_type_in_template_order():
    template = _function_template(
        {},
        Queue={"Type": "AWS::SQS::Queue", "Properties": {"VisibilityTimeout": 60}},
        Table={"Type": "AWS::DynamoDB::Table"},
        Later={"Type": "AWS::SQS::Queue"},
        Odd="not a resource",
    )
    assert resources_of(template, "AWS::SQS::Queue") == [
        ("Queue", {"VisibilityTimeout": 60}),
        ("Later", {}),
    ]
    assert resources_of({}, "AWS::SQS::Queue") == []


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
          Queue: {Type: AWS::SQS::Queue}
          RunnerFunction:
            Type: AWS::Serverless::Function
            Properties:
              Environment:
                Variables:
                  SHARED: from-function
                  HEALTHCHECK_TABLE: !Ref Table
                  HEALTHCHECK_TOPIC_ARN: !Ref Topic
                  HEALTHCHECK_HISTORY_DAYS: !Ref HistoryRetentionDays
                  HEALTHCHECK_RUN_QUEUE_URL: !Ref Queue
                  NAME: !Sub ${AWS::StackName}-runner
                  FLAG: true
        """
    )
    queue = "https://sqs.us-east-1.amazonaws.com/123456789012/q"
    resources = LocalResources(
        table_name="t",
        topic_arn="arn:aws:sns:us-east-1:123456789012:x",
        function_name="f",
        queues={"Queue": queue},
    )
    assert runner_environment(template, resources) == {
        "POWERTOOLS_SERVICE_NAME": "vigil",
        "SHARED": "from-function",
        "HEALTHCHECK_TABLE": "t",
        "HEALTHCHECK_TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:x",
        "HEALTHCHECK_HISTORY_DAYS": "30",
        "HEALTHCHECK_RUN_QUEUE_URL": queue,
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
    # a queue the local resources do not have (a stack read without its queue's output)
    template["Resources"]["Queue"] = {"Type": "AWS::SQS::Queue"}
    template["Resources"]["RunnerFunction"]["Properties"]["Environment"] = {
        "Variables": {"Q": {"Ref": "Queue"}}
    }
    with pytest.raises(ValueError, match="cannot resolve !Ref Queue locally"):
        runner_environment(template, resources)
