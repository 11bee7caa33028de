"""template.yaml's access rules: who may publish to each topic, which secrets each
function may read, what each role may do compared with what its code calls, the
Chatbot role, the ping function's public URL, and the functions' reserved concurrency.

moto enforces neither topic policies nor resource-scoped IAM statements, so
requests are decided by ``tests.support.iam_policy`` over the template resolved for
a set of parameters; the actions the code calls are recorded from real runs of the
handlers under moto (``tests.support.aws_calls``).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from tests.integration.conftest import minute
from tests.support.aws_calls import AwsCalls, record_aws_calls
from tests.support.iam_policy import (
    ACCOUNT,
    OTHER_ACCOUNT,
    PARTITION,
    REGION,
    STACK,
    Policy,
    Principal,
    ResolvedTemplate,
    allowed,
    arn_of,
)
from tests.support.ping_door import new_container, open_door
from vigil.pings import Ping
from vigil.store.pings import PingStore
from vigil.times import parse_time
from vigil_cli.local.template_file import load_template

REPO = Path(__file__).resolve().parents[2]
TOPICS = ("AlertTopic", "AlarmTopic", "ChatTopic")
# Who may publish to each topic, and nobody else.
PUBLISHERS = {
    "AlertTopic": {"RunnerRole", "NotifierRole"},
    "AlarmTopic": set(),  # CloudWatch alone (a service principal)
    "ChatTopic": {"NotifierRole"},
}
# The actions Lambda performs with a function's role on the function's behalf (its
# logs); no code of Vigil calls them, so no recording can show them.
LAMBDA_OWN_ACTIONS = {"logs:CreateLogStream", "logs:PutLogEvents"}

# Principals of this account that are not Vigil's, each allowed everything on SNS (or
# on everything) by its own IAM policy: the topic policies must still stop them.
ADMIN = Principal.role(
    f"arn:{PARTITION}:iam::{ACCOUNT}:role/Admin",
    Policy([{"Effect": "Allow", "Action": "*", "Resource": "*"}]),
)
INTRUDER = Principal.role(
    f"arn:{PARTITION}:iam::{ACCOUNT}:user/intruder",
    Policy([{"Effect": "Allow", "Action": "sns:*", "Resource": "*"}]),
)
# AWS Chatbot subscribes the chat topic through its service-linked role, whose AWS managed
# policy (AWSChatbotServiceLinkedRolePolicy) allows these on every topic.
CHATBOT_SERVICE_LINKED_ROLE = Principal.role(
    f"arn:{PARTITION}:iam::{ACCOUNT}:role/aws-service-role/management.chatbot.amazonaws.com/"
    "AWSServiceRoleForAWSChatbot",
    Policy(
        [
            {
                "Effect": "Allow",
                "Action": [
                    "sns:ListSubscriptionsByTopic",
                    "sns:ListTopics",
                    "sns:Unsubscribe",
                    "sns:Subscribe",
                    "sns:ListSubscriptions",
                ],
                "Resource": "*",
            }
        ]
    ),
)
OUTSIDER = Principal.role(
    f"arn:{PARTITION}:iam::{OTHER_ACCOUNT}:role/Admin",
    Policy([{"Effect": "Allow", "Action": "*", "Resource": "*"}]),
)


@pytest.fixture(scope="module")
def template() -> dict:
    return load_template(REPO / "template.yaml")


@pytest.fixture(scope="module")
def stack(template) -> ResolvedTemplate:
    """The template with its default parameters and every Chatbot channel configured."""
    return ResolvedTemplate(
        template,
        {
            "ChatbotSlackWorkspaceId": "T0123",
            "ChatbotSlackChannelId": "C0123",
            "ChatbotTeamsTenantId": "tenant",
            "ChatbotTeamsTeamId": "team",
            "ChatbotTeamsChannelId": "channel",
        },
    )


def role(stack: ResolvedTemplate, logical_id: str) -> Principal:
    return Principal.role(arn_of(logical_id, "AWS::IAM::Role"), stack.role_policy(logical_id))


def topic_arn(logical_id: str) -> str:
    return arn_of(logical_id, "AWS::SNS::Topic")


# --------------------------------------------------------------------------- topic policies


def test_every_topic_has_one_policy_about_itself_only(template, stack):
    topics = [k for k, v in template["Resources"].items() if v["Type"] == "AWS::SNS::Topic"]
    assert sorted(topics) == sorted(TOPICS)
    policies = stack.topic_policies()  # raises if a topic had two
    assert set(policies) == {topic_arn(t) for t in TOPICS}
    for arn, policy in policies.items():
        assert {s["Resource"] for s in policy.statements} == {arn}


@pytest.mark.parametrize("topic", TOPICS)
def test_only_the_named_roles_publish(stack, topic):
    policy = stack.topic_policies()[topic_arn(topic)]
    for logical_id in ("RunnerRole", "NotifierRole", "StatusRole", "ChatbotRole"):
        may = allowed(role(stack, logical_id), "sns:Publish", topic_arn(topic), policy)
        assert may == (logical_id in PUBLISHERS[topic]), (topic, logical_id)
    # Allowed Publish by their own IAM policy, in this account: the Deny stops them.
    for principal in (ADMIN, INTRUDER, CHATBOT_SERVICE_LINKED_ROLE, Principal.root()):
        assert not allowed(principal, "sns:Publish", topic_arn(topic), policy), principal.arn
        assert not allowed(principal, "SNS:publish", topic_arn(topic), policy), "case"
    assert not allowed(OUTSIDER, "sns:Publish", topic_arn(topic), policy)


def test_a_forged_recovery_cannot_reach_the_alert_topic(stack):
    """The incident: a principal allowed sns:Publish posted a `recovery` the notifier
    relayed as a PagerDuty resolve. Its IAM policy still allows it; the topic denies."""
    policy = stack.topic_policies()[topic_arn("AlertTopic")]
    assert allowed(INTRUDER, "sns:Publish", topic_arn("AlertTopic"))  # IAM alone: yes
    assert not allowed(INTRUDER, "sns:Publish", topic_arn("AlertTopic"), policy)
    deny = [s for s in policy.statements if s["Effect"] == "Deny"]
    assert [(s["Principal"], s["Action"]) for s in deny] == [("*", "sns:Publish")]


@pytest.mark.parametrize("topic", TOPICS)
def test_the_deny_spares_exactly_the_allowed_publishers(template, topic):
    """Adding a publisher means adding it to the Allow and to the Deny's list: both agree."""
    (policy,) = [
        r["Properties"]
        for r in template["Resources"].values()
        if r["Type"] == "AWS::SNS::TopicPolicy" and r["Properties"]["Topics"] == [{"Ref": topic}]
    ]
    statements = policy["PolicyDocument"]["Statement"]
    publish = [s for s in statements if "sns:Publish" in s["Action"]]
    (deny,) = [s for s in publish if s["Effect"] == "Deny"]
    assert deny["Principal"] == "*" and deny["Action"] == "sns:Publish"
    allows = [s for s in publish if s["Effect"] == "Allow"]
    roles = {
        principal["Fn::GetAtt"][0]
        for s in allows
        for principal in _as_list(s["Principal"].get("AWS", []))
    }
    assert roles == PUBLISHERS[topic]
    if roles:
        (spared,) = deny["Condition"]["ArnNotEquals"].values()
        assert deny["Condition"] == {"ArnNotEquals": {"aws:PrincipalArn": spared}}
        assert {arn["Fn::GetAtt"][0] for arn in _as_list(spared)} == roles
    else:
        assert deny["Condition"] == {
            "StringNotEquals": {"aws:PrincipalServiceName": "cloudwatch.amazonaws.com"}
        }
    # no Allow names anybody but those roles, CloudWatch or the account itself
    for statement in statements:
        if statement["Effect"] != "Allow":
            continue
        principal = statement["Principal"]
        if "Service" in principal:
            assert principal == {"Service": "cloudwatch.amazonaws.com"} and topic == "AlarmTopic"
            continue
        for name in _as_list(principal["AWS"]):
            assert name == {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"} or (
                name["Fn::GetAtt"][0] in PUBLISHERS[topic]
            ), name


def test_cloudwatch_publishes_alarms_of_this_account_only(stack):
    policies = stack.topic_policies()
    cloudwatch = Principal.aws_service("cloudwatch.amazonaws.com")
    foreign_cloudwatch = Principal.aws_service("cloudwatch.amazonaws.com", OTHER_ACCOUNT)
    alarms = policies[topic_arn("AlarmTopic")]
    assert allowed(cloudwatch, "sns:Publish", topic_arn("AlarmTopic"), alarms)
    assert not allowed(foreign_cloudwatch, "sns:Publish", topic_arn("AlarmTopic"), alarms)
    # another service of this account, and CloudWatch on the other topics: no
    events = Principal.aws_service("events.amazonaws.com")
    assert not allowed(events, "sns:Publish", topic_arn("AlarmTopic"), alarms)
    for topic in ("AlertTopic", "ChatTopic"):
        assert not allowed(cloudwatch, "sns:Publish", topic_arn(topic), policies[topic_arn(topic)])
    (grant,) = [
        s for s in alarms.statements if s["Principal"] != "*" and "Service" in s["Principal"]
    ]
    assert grant["Condition"] == {"StringEquals": {"aws:SourceAccount": ACCOUNT}}


@pytest.mark.parametrize("topic", TOPICS)
def test_the_account_still_manages_and_subscribes(stack, topic):
    policy = stack.topic_policies()[topic_arn(topic)]
    arn = topic_arn(topic)
    for action in (
        "sns:Subscribe",
        "sns:ListSubscriptionsByTopic",
        "sns:GetTopicAttributes",
        "sns:SetTopicAttributes",
        "sns:DeleteTopic",
    ):
        assert allowed(ADMIN, action, arn, policy), action  # deployers, CloudFormation
        assert allowed(Principal.root(), action, arn, policy), action
        assert not allowed(OUTSIDER, action, arn, policy), action
    # AWS Chatbot's service-linked role subscribes the chat topic (and may on the others)
    assert allowed(CHATBOT_SERVICE_LINKED_ROLE, "sns:Subscribe", arn, policy)
    # Vigil's own roles have no business managing topics
    for logical_id in ("RunnerRole", "NotifierRole", "StatusRole"):
        assert not allowed(role(stack, logical_id), "sns:Subscribe", arn, policy)


def test_subscriptions_stay_as_the_template_declares(stack):
    """Email and the notifier's own subscriptions are made by CloudFormation with the
    deployer's permissions (no Publish involved); they are still declared."""
    parameters = {"AlertEmail": "ops@example.com"}
    with_email = ResolvedTemplate(stack.template, parameters)
    email = with_email.properties("AlertEmailSubscription")
    assert email == {
        "TopicArn": topic_arn("AlertTopic"),
        "Protocol": "email",
        "Endpoint": "ops@example.com",
    }
    events = stack.properties("NotifierFunction")["Events"]
    assert {e["Properties"]["Topic"] for e in events.values()} == {
        topic_arn("AlertTopic"),
        topic_arn("AlarmTopic"),
    }
    for channel in ("ChatbotSlackChannel", "ChatbotTeamsChannel"):
        assert stack.properties(channel)["SnsTopicArns"] == [topic_arn("ChatTopic")]


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


# --------------------------------------------------------------------------- secrets


def secret_arn(name: str) -> str:
    # Secrets Manager appends a hyphen and six random characters to a secret's name.
    return f"arn:{PARTITION}:secretsmanager:{REGION}:{ACCOUNT}:secret:{name}-AbCdEf"


def reads(stack: ResolvedTemplate, logical_id: str, name: str) -> bool:
    return allowed(role(stack, logical_id), "secretsmanager:GetSecretValue", secret_arn(name))


def test_runner_never_reads_the_notifiers_secrets_with_the_default_prefixes(stack):
    assert stack.parameters["MonitoredSecretsPrefix"] == "vigil/"
    assert stack.parameters["NotificationSecretsPrefix"] == "vigil/notify/"
    for name in ("vigil/prod/db-monitor", "vigil/orders-mtls", "vigil/notifyx"):
        assert reads(stack, "RunnerRole", name), name
        assert not reads(stack, "NotifierRole", name), name
    for name in ("vigil/notify/x", "vigil/notify/ops-slack", "vigil/notify/"):
        assert not reads(stack, "RunnerRole", name), name
        assert reads(stack, "NotifierRole", name), name
        for action in ("secretsmanager:DescribeSecret", "secretsmanager:PutSecretValue"):
            assert not allowed(role(stack, "RunnerRole"), action, secret_arn(name))
    for name in ("prod/db", "rds!db-1234"):  # outside both prefixes
        assert not reads(stack, "RunnerRole", name) and not reads(stack, "NotifierRole", name)


prefixes = st.text(alphabet="ab/", min_size=1, max_size=4)


@given(monitored=prefixes, notification=prefixes, name=st.text(alphabet="ab/", max_size=6))
def test_no_secret_is_readable_by_both_whatever_the_prefixes(
    template, monitored, notification, name
):
    stack = ResolvedTemplate(
        template, {"MonitoredSecretsPrefix": monitored, "NotificationSecretsPrefix": notification}
    )
    assume(not stack.failed_rules())
    runner, notifier = reads(stack, "RunnerRole", name), reads(stack, "NotifierRole", name)
    assert not (runner and notifier)
    assert runner == (name.startswith(monitored) and not name.startswith(notification))
    assert notifier == name.startswith(notification)


def test_equal_prefixes_are_refused_before_deploying(template):
    same = ResolvedTemplate(
        template, {"MonitoredSecretsPrefix": "vigil/", "NotificationSecretsPrefix": "vigil/"}
    )
    assert any("must differ" in failure for failure in same.failed_rules())
    assert ResolvedTemplate(template).failed_rules() == []


# --------------------------------------------------------------------------- least privilege


# What Lambda's SQS event source calls with the function's role to deliver the run queue.
EVENT_SOURCE_ACTIONS = {"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"}


def granted(stack: ResolvedTemplate, logical_id: str, log_group: str) -> set[str]:
    """The actions the role allows, less Lambda's own (its logs, on its log group only)."""
    policy = stack.role_policy(logical_id)
    for statement in policy.statements:
        if statement["Effect"] == "Allow":
            assert "*" not in "".join(_as_list(statement["Action"])), statement
            assert statement["Resource"] != "*", statement
        if set(_as_list(statement["Action"])) & LAMBDA_OWN_ACTIONS:
            assert set(_as_list(statement["Action"])) == LAMBDA_OWN_ACTIONS
            assert statement["Resource"] == arn_of(log_group, "AWS::Logs::LogGroup")
    return policy.actions() - LAMBDA_OWN_ACTIONS


@pytest.fixture
def calls(monkeypatch) -> AwsCalls:
    return record_aws_calls(monkeypatch)


@pytest.fixture
def lambda_invokes(monkeypatch) -> None:
    """moto's Lambda answers Invoke without running a container."""
    from moto.core.config import default_user_config

    monkeypatch.setitem(default_user_config["lambda"], "use_docker", False)


def test_runner_role_allows_exactly_what_the_runner_calls(
    stack, aws, invoke, write_config, refused, http_target, lambda_invokes, calls, monkeypatch
):
    """Every path of a run: a secret read, a failure alerted, a repeated delivery
    fenced, an hour closed (rollups written), a sharded group fanned out, a late run
    replaying a heartbeat's pings; each DynamoDB request within its statement's keys."""
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", f"{stack.ref('AWS::StackName')}-runner")
    aws.put_secret("vigil/api-token", "t0ken")
    write_config(
        f"""
        groups:
          core:
            checks:
              - name: api
                type: http
                url: "{http_target.url("/ok")}"
                headers: {{Authorization: {{secret: vigil/api-token}}}}
              - {{name: db, type: tcp, host: 127.0.0.1, port: {refused}, failure_threshold: 1}}
              - {{name: nightly, type: heartbeat, period: 1d}}
          big:
            shards: 2
            checks:
              - {{name: a, type: tcp, host: 127.0.0.1, port: {refused}}}
              - {{name: b, type: tcp, host: 127.0.0.1, port: {refused}}}
        """
    )
    # Pinged after 10:59: the run of 10:59 replays the pings up to its own time.
    pinged = int(parse_time(minute(59)).timestamp() * 1000) + 30_000
    PingStore(aws.table_name).count(Ping("core", "nightly", "success", 0, None, pinged), 0)
    calls.reset()
    first = invoke("core", minute(59))
    assert [a["check"] for a in first["alerted"]] == ["db"]
    assert invoke("core", minute(59)).get("duplicate") is True
    assert invoke("core", minute(60))["results"]  # 11:00 closes the 10:00 hour
    assert invoke("big", minute(60))["fanned_out"] is True
    assert invoke("big", minute(60), shard=1)["shard"] == 1
    tick = invoke(None, tick=minute(61))  # every group's runs queued, every group watched
    assert tick["dispatched"]["due"] == 2
    # The run queue's event source receives and deletes with the function's role: those
    # calls are Lambda's, not the code's (the role allows them on the run queue only).
    runner_role = granted(stack, "RunnerRole", "RunnerLogGroup")
    assert runner_role & EVENT_SOURCE_ACTIONS == EVENT_SOURCE_ACTIONS
    assert calls.actions == runner_role - EVENT_SOURCE_ACTIONS - PROBE_ONLY_ACTIONS
    assert calls.actions == {
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "dynamodb:BatchWriteItem",
        "dynamodb:BatchGetItem",
        "dynamodb:Query",
        "sns:Publish",
        "secretsmanager:GetSecretValue",
        "lambda:InvokeFunction",
        "sqs:SendMessage",
    }
    runner, table_arn = (
        role(stack, "RunnerRole"),
        arn_of("HealthCheckTable", "AWS::DynamoDB::Table"),
    )
    for request in calls.requests:
        if request.action.startswith("dynamodb:"):
            context = dynamodb_context(request.params)
            assert allowed(runner, request.action, table_arn, extra_context=context), request
    replay = {"ExpressionAttributeValues": {":pk": {"S": "G#core#0"}}}  # not a heartbeat's
    assert not allowed(runner, "dynamodb:Query", table_arn, extra_context=dynamodb_context(replay))


HOME_REGION = "eu-west-1"
# Only a probe of locations calls it (the test of a probe below records it).
PROBE_ONLY_ACTIONS = {"cloudformation:DescribeStackResource"}


def home_arn(table: str) -> str:
    return f"arn:{PARTITION}:dynamodb:{HOME_REGION}:{ACCOUNT}:table/{table}"


def dynamodb_context(params: dict[str, Any]) -> dict[str, Any]:
    """The DynamoDB condition keys of a request, as IAM sees them: the partition keys it
    touches, the attributes it writes or names, and (a read) whether it asks for all of
    the item (no projection: ``Select`` is all attributes)."""
    if "Item" in params:  # PutItem
        return {
            "dynamodb:LeadingKeys": [params["Item"]["pk"]["S"]],
            "dynamodb:Attributes": sorted(params["Item"]),
        }
    if "RequestItems" in params:  # BatchGetItem or BatchWriteItem, one table
        ((_, read),) = params["RequestItems"].items()
        if isinstance(read, list):  # BatchWriteItem: puts
            items = [request["PutRequest"]["Item"] for request in read]
            return {
                "dynamodb:LeadingKeys": sorted({item["pk"]["S"] for item in items}),
                "dynamodb:Attributes": sorted({name for item in items for name in item}),
            }
    else:  # GetItem, Query
        read = params
    keys = read.get("Keys") or [read.get("Key") or {}]
    context: dict[str, Any] = {
        "dynamodb:LeadingKeys": [key["pk"]["S"] for key in keys if "pk" in key]
        or [read.get("ExpressionAttributeValues", {}).get(":pk", {}).get("S", "")]
    }
    projection = read.get("ProjectionExpression")
    if projection:
        names = read.get("ExpressionAttributeNames") or {}
        context["dynamodb:Attributes"] = [
            names.get(name.strip(), name.strip()) for name in projection.split(",")
        ]
        context["dynamodb:Select"] = "SPECIFIC_ATTRIBUTES"
    else:
        context["dynamodb:Select"] = "ALL_ATTRIBUTES"
    return context


def request_resource(request: Any) -> str:
    """The ARN a recorded request acts on (a table, or the stack it looks up)."""
    if request.action.startswith("cloudformation:"):
        return f"arn:{PARTITION}:cloudformation:{request.region}:{ACCOUNT}:stack/{STACK}/id"
    params = request.params
    table = params.get("TableName") or next(iter(params.get("RequestItems", {})))
    return f"arn:{PARTITION}:dynamodb:{request.region}:{ACCOUNT}:table/{table}"


def create_home_stack(region: str) -> str:
    """The home stack's table, made by CloudFormation (moto) under the stack's name: its
    generated name, as a probe looks it up."""
    import boto3

    body = {
        "Resources": {
            "HealthCheckTable": {
                "Type": "AWS::DynamoDB::Table",
                "Properties": {
                    "BillingMode": "PAY_PER_REQUEST",
                    "AttributeDefinitions": [
                        {"AttributeName": "pk", "AttributeType": "S"},
                        {"AttributeName": "sk", "AttributeType": "S"},
                    ],
                    "KeySchema": [
                        {"AttributeName": "pk", "KeyType": "HASH"},
                        {"AttributeName": "sk", "KeyType": "RANGE"},
                    ],
                },
            }
        }
    }
    cloudformation = boto3.client("cloudformation", region_name=region)
    cloudformation.create_stack(StackName=STACK, TemplateBody=json.dumps(body))
    found = cloudformation.describe_stack_resource(
        StackName=STACK, LogicalResourceId="HealthCheckTable"
    )
    return found["StackResourceDetail"]["PhysicalResourceId"]


def test_a_probe_may_write_only_its_own_observations_into_the_homes_table(
    template, aws, invoke, write_config, refused, calls, monkeypatch
):
    """A probe stack runs a group and ticks: it finds the home's table (the stack of its
    name in the home region), and every request it makes there is allowed by its role;
    the requests that would forge another location's observations, the home's state or a
    heartbeat, or read whole items, are not. A stack alone may touch no other table."""
    table = create_home_stack(HOME_REGION)
    assert table.startswith(f"{STACK}-HealthCheckTable-")
    monkeypatch.setenv("HEALTHCHECK_STACK_NAME", STACK)
    monkeypatch.setenv("HEALTHCHECK_HOME_TABLE", "")
    write_config(
        f"""
        locations: {{home: {HOME_REGION}, probes: [{REGION}, ap-southeast-2]}}
        groups:
          edge:
            checks:
              - {{name: db, type: tcp, host: 127.0.0.1, port: {refused}}}
        """
    )
    calls.reset()
    assert invoke("edge", minute(0))["location"]["role"] == "probe"
    assert invoke(None, tick=minute(1))["tick"] == minute(1)
    at_home = [r for r in calls.requests if r.region == HOME_REGION]
    assert {r.action for r in at_home} == {
        "cloudformation:DescribeStackResource",  # once: the runner is cached
        "dynamodb:PutItem",
        "dynamodb:BatchGetItem",
    }
    assert {request_resource(r) for r in at_home if r.action.startswith("dynamodb")} == {
        home_arn(table)
    }
    probe = role(ResolvedTemplate(template, {}), "RunnerRole")
    for request in at_home:
        context = dynamodb_context(request.params) if "dynamodb" in request.action else {}
        assert allowed(probe, request.action, request_resource(request), extra_context=context)

    def put(pk: str) -> dict[str, Any]:
        return {"Item": {"pk": {"S": pk}, "sk": {"S": "x"}, "blob": {"B": b""}}}

    def read(projection: str | None, pk: str = "G#edge#0") -> dict[str, Any]:
        keys = {"Keys": [{"pk": {"S": pk}, "sk": {"S": "STATE"}}]}
        if projection:
            keys["ProjectionExpression"] = projection
        return {"RequestItems": {table: keys}}

    forged = [
        ("dynamodb:PutItem", put("OBS#ap-southeast-2#edge#0")),  # another probe's
        ("dynamodb:PutItem", put(f"OBS#{HOME_REGION}#edge#0")),  # the home's own
        ("dynamodb:PutItem", put("LOC#ap-southeast-2")),
        ("dynamodb:PutItem", put("G#edge#0")),  # the home's state and runs
        ("dynamodb:PutItem", put("HB#edge/db")),  # a heartbeat
        ("dynamodb:BatchGetItem", read(None)),  # the whole state item
        ("dynamodb:BatchGetItem", read("pk, sk, blob")),
        ("dynamodb:BatchGetItem", read("pk, sk, last_run", pk="HB#edge/db")),
        ("dynamodb:GetItem", {"Key": {"pk": {"S": "G#edge#0"}, "sk": {"S": "STATE"}}}),
        ("dynamodb:Query", {"ExpressionAttributeValues": {":pk": {"S": "G#edge#0"}}}),
        ("dynamodb:DeleteItem", {"Key": {"pk": {"S": f"OBS#{REGION}#edge#0"}}}),
        ("dynamodb:UpdateItem", {"Key": {"pk": {"S": f"OBS#{REGION}#edge#0"}}}),
    ]
    for action, params in forged:
        context = dynamodb_context(params)
        assert not allowed(probe, action, home_arn(table), extra_context=context), params
    # Another stack's table, whatever the keys.
    own = dynamodb_context(put(f"OBS#{REGION}#edge#0"))
    assert allowed(probe, "dynamodb:PutItem", home_arn(table), extra_context=own)
    assert not allowed(probe, "dynamodb:PutItem", home_arn("billing"), extra_context=own)
    assert not allowed(
        probe, "dynamodb:PutItem", home_arn("other-HealthCheckTable-X"), extra_context=own
    )
    # HomeTableName names the table instead (and no stack is looked up).
    named = role(ResolvedTemplate(template, {"HomeTableName": "vigil-home"}), "RunnerRole")
    assert allowed(named, "dynamodb:PutItem", home_arn("vigil-home"), extra_context=own)
    assert not allowed(named, "dynamodb:PutItem", home_arn(table), extra_context=own)
    stack_arn = request_resource(next(r for r in at_home if "cloudformation" in r.action))
    assert not allowed(named, "cloudformation:DescribeStackResource", stack_arn)


def test_status_role_allows_exactly_what_the_status_function_calls(
    stack, aws, invoke, write_config, refused, calls
):
    from vigil_cli.local.status_server import (
        StatusContext,
        function_url_event,
        load_status_function,
    )

    write_config(
        f"""
        groups:
          core:
            checks:
              - {{name: db, type: tcp, host: 127.0.0.1, port: {refused}, failure_threshold: 1}}
        """
    )
    for n in (58, 59, 60):
        invoke("core", minute(n))
    module = load_status_function()
    calls.reset()
    paths = ("/api/status", "/api/checks/core/db", "/api/checks/core/db/history", "/")
    for path in (*paths, "/checks/core/db"):
        response = module.handler(function_url_event("GET", path), StatusContext())
        assert response["statusCode"] == 200, (path, response)
    assert calls.actions == granted(stack, "StatusRole", "StatusLogGroup")
    assert calls.actions == {"dynamodb:BatchGetItem", "dynamodb:Query"}


NOTIFIER_CONFIG = """\
groups:
  core:
    checks:
      - {name: api, type: tcp, host: 127.0.0.1, port: 9}
notifications:
  - {name: audit, type: webhook, secret: vigil/notify/audit, allow_private: true}
  - {name: refused, type: webhook, secret: vigil/notify/refused, allow_private: true}
  - {name: chat, type: chatbot}
"""


def _failure_alert(alert_id: str) -> str:
    from vigil.alerts.document import AlertDocument, AlertEvent

    return json.dumps(
        AlertDocument(
            event=AlertEvent("failure"),
            group="core",
            check="api",
            status="unhealthy",
            previous_status="healthy",
            timestamp="2026-11-29T08:00:00Z",
            reason="connection refused",
            alert_id=alert_id,
            details={},
        ).to_dict()
    )


def _alarm(state: str) -> str:
    return json.dumps(
        {
            "AlarmName": "vigil-local-runner-errors",
            "AlarmDescription": "The Vigil runner raised an error.",
            "AWSAccountId": ACCOUNT,
            "NewStateValue": state,
            "NewStateReason": "Threshold Crossed",
            "StateChangeTime": "2026-11-29T08:05:00.123+0000",
            "Region": "US East (N. Virginia)",
            "AlarmArn": f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:vigil-local-runner-errors",
            "OldStateValue": "OK",
            "Trigger": {"MetricName": "Errors", "Namespace": "AWS/Lambda"},
        }
    )


def _dynamodb_error(request: Any, code: str, message: str) -> Any:
    """DynamoDB's answer with error ``code`` (and nothing else: no item)."""
    from botocore.awsrequest import AWSResponse

    class Body:
        def __init__(self, body: bytes):
            self._body = body

        def stream(self, **_: object):
            yield self._body

    body = json.dumps({"__type": f"com.amazonaws.dynamodb.v20120810#{code}", "message": message})
    headers = {"Content-Type": "application/x-amz-json-1.0", "x-amzn-RequestId": "injected"}
    return AWSResponse(request.url, 400, headers, Body(body.encode()))


def test_notifier_role_allows_exactly_what_the_notifier_calls(stack, tmp_path, calls):
    """Every path of the notifier: deliveries (a secret, a webhook, a refusal dead-
    lettered, the chat topic), a redelivery replayed from the ledger, the ledger's read
    when a failed conditional put returns no item, an alarm relayed, and a relay whose
    publish failed (its ledger record deleted, to be tried again)."""
    import vigil.environment.notifier
    from vigil_cli.local.notify import LocalNotifier, sns_event
    from vigil_cli.targets.receivers import Receiver, Reply

    config = tmp_path / "checks.yaml"
    config.write_text(NOTIFIER_CONFIG)
    with (
        Receiver("audit", default=Reply(204, b"")) as audit,
        Receiver("refused", default=Reply(400, b"no")) as refusing,
        LocalNotifier(config) as local,
    ):
        local.put_secret("vigil/notify/audit", {"url": audit.url})
        local.put_secret("vigil/notify/refused", {"url": refusing.url})
        harness = local.harness()
        alert_topic, alarm_topic = local.topics["AlertTopic"], local.topics["AlarmTopic"]
        delivery = sns_event(alert_topic, _failure_alert("core/api/failure@2026-11-29T08:00:00Z"))
        calls.reset()

        assert harness.invoke(delivery).ok
        with calls.paused():
            assert len(audit.requests) == 1 and len(local.dead_letters()) == 1
        replayed = harness.invoke(delivery)
        assert replayed.ok and len(audit.requests) == 1

        notifier = vigil.environment.notifier.notifier_from_environment(config)
        ledger_client = notifier.ledger.persistence.client

        def no_item_returned(request: Any, **_: object) -> Any:
            return _dynamodb_error(
                request, "ConditionalCheckFailedException", "The conditional request failed"
            )

        ledger_client.meta.events.register_first("before-send.dynamodb.PutItem", no_item_returned)
        try:
            assert harness.invoke(delivery).ok  # replayed from the record it read
        finally:
            ledger_client.meta.events.unregister("before-send.dynamodb.PutItem", no_item_returned)
        assert len(audit.requests) == 1

        def publish_fails(request: Any, **_: object) -> None:
            raise ConnectionError("injected: SNS unreachable")

        sns_client = notifier.transport.sns
        sns_client.meta.events.register_first("before-send.sns.Publish", publish_fails)
        try:
            assert harness.invoke(sns_event(alarm_topic, _alarm("ALARM"))).error is not None
        finally:
            sns_client.meta.events.unregister("before-send.sns.Publish", publish_fails)
        relayed = harness.invoke(sns_event(alarm_topic, _alarm("ALARM")))
        assert relayed.ok and relayed.summary["records"][0]["relayed"] is True

    assert calls.actions == granted(stack, "NotifierRole", "NotifierLogGroup")
    assert calls.actions == {
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
        "dynamodb:GetItem",
        "dynamodb:DeleteItem",
        "secretsmanager:GetSecretValue",
        "sns:Publish",
        "sqs:SendMessage",
    }


PING_CONFIG = """
groups:
  jobs:
    checks:
      - {name: backup, type: heartbeat, period: 1d}
      - {name: api, type: tcp, host: 127.0.0.1, port: 9}
"""


def test_ping_role_allows_exactly_what_the_ping_function_calls(stack, aws, write_config, calls):
    """Every path of a ping: the key read (a new container), a summary read, an event and
    the summary put; pings of each kind, with a body, refused ones. Only heartbeat items
    (partition keys HB#...), which the role's condition enforces."""
    write_config(PING_CONFIG)
    door = open_door(aws.table_name)
    keys: list[tuple[str, str]] = []

    def leading_key(params: dict[str, Any], model: Any, **_: Any) -> None:
        item = params.get("Key") or params.get("Item") or {}
        keys.append((model.name, item["pk"]["S"]))

    import vigil.environment.ping

    built = vigil.environment.ping.door_from_environment(REPO / "functions/runner/checks.yaml")
    built.store.client.meta.events.register("before-parameter-build.dynamodb", leading_key)
    calls.reset()
    for path, method, body in (
        (door.path("jobs", "backup", "start"), "GET", None),
        (door.path("jobs", "backup", "log"), "POST", "disk 80% full"),
        (door.path("jobs", "backup", "3"), "POST", "failed"),
        (door.path("jobs", "backup"), "HEAD", None),
        (door.path("jobs", "api"), "GET", None),  # refused: no heartbeat check
        (door.path("jobs", "backup", "finish"), "GET", None),  # refused: bad segment
    ):
        door.ping(path, method, body=body)
    new_container()
    assert calls.actions == granted(stack, "PingRole", "PingLogGroup")
    assert calls.actions == {
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "secretsmanager:GetSecretValue",
    }
    ping_role, table = role(stack, "PingRole"), arn_of("HealthCheckTable", "AWS::DynamoDB::Table")
    assert len(keys) == 4 * 3 and {operation for operation, _ in keys} == {"GetItem", "PutItem"}
    for operation, key in keys:
        context = {"dynamodb:LeadingKeys": key}
        assert allowed(ping_role, f"dynamodb:{operation}", table, extra_context=context), key
    # a group's state, its runs, the tick's records: never the ping function's
    for key in ("core#0", "RUN#core", "TICK"):
        for action in ("dynamodb:GetItem", "dynamodb:PutItem"):
            assert not allowed(
                ping_role, action, table, extra_context={"dynamodb:LeadingKeys": key}
            )
    for action in ("dynamodb:Query", "dynamodb:Scan", "dynamodb:DeleteItem", "dynamodb:UpdateItem"):
        assert not allowed(ping_role, action, table, extra_context={"dynamodb:LeadingKeys": "HB#a"})


@pytest.mark.parametrize("monitored", ["vigil/", "vigil", "vigil-", f"{STACK}-PingKeySecret", "v"])
def test_only_the_ping_function_reads_the_ping_key(template, monitored):
    """Even with a MonitoredSecretsPrefix that covers the key's name, the runner never
    reads it; the ping function reads it and no other secret."""
    stack = ResolvedTemplate(template, {"MonitoredSecretsPrefix": monitored})
    assert not stack.failed_rules()
    key = stack.ref("PingKeySecret")
    assert key == arn_of("PingKeySecret", "AWS::SecretsManager::Secret")
    for logical_id in ("RunnerRole", "NotifierRole", "StatusRole"):
        for action in ("secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"):
            assert not allowed(role(stack, logical_id), action, key), (logical_id, action)
    ping = role(stack, "PingRole")
    assert allowed(ping, "secretsmanager:GetSecretValue", key)
    assert not allowed(ping, "secretsmanager:PutSecretValue", key)
    for name in ("vigil/db", "vigil/notify/slack", "PingKeySecret"):
        assert not allowed(ping, "secretsmanager:GetSecretValue", secret_arn(name)), name
    # both functions are told where the key is; only one may read it
    for function in ("PingFunction", "RunnerFunction"):
        variables = stack.properties(function)["Environment"]["Variables"]
        assert variables["HEALTHCHECK_PING_KEY_SECRET"] == key, function


def test_the_ping_key_is_generated_by_the_stack(template):
    props = template["Resources"]["PingKeySecret"]["Properties"]
    assert "SecretString" not in props
    generated = props["GenerateSecretString"]
    assert generated["PasswordLength"] >= 32 and generated["ExcludePunctuation"] is True


def test_the_ping_url_is_public_and_opens_the_ping_function_only(template, stack):
    url = stack.properties("PingFunctionUrl")
    assert url == {
        "TargetFunctionArn": arn_of("PingFunction", "AWS::Serverless::Function"),
        "AuthType": "NONE",
    }
    public = {
        logical_id: stack.properties(logical_id)
        for logical_id, resource in stack.resources.items()
        if resource["Type"] == "AWS::Lambda::Permission"
        and stack.properties(logical_id)["Principal"] == "*"
        and stack.properties(logical_id)["FunctionName"] == stack.ref("PingFunction")
    }
    assert sorted(public.values(), key=lambda p: p["Action"]) == [
        {
            "FunctionName": stack.ref("PingFunction"),
            "Action": "lambda:InvokeFunction",
            "Principal": "*",
            "InvokedViaFunctionUrl": True,  # through its URL only, never a direct Invoke
        },
        {
            "FunctionName": stack.ref("PingFunction"),
            "Action": "lambda:InvokeFunctionUrl",
            "Principal": "*",
            "FunctionUrlAuthType": "NONE",
        },
    ]
    for logical_id in public:  # whatever the parameters: the job's door is always open
        assert "Condition" not in template["Resources"][logical_id]
    assert template["Outputs"]["PingUrl"]["Value"] == {
        "Fn::GetAtt": ["PingFunctionUrl", "FunctionUrl"]
    }


def test_chatbot_role_can_do_nothing(template, stack):
    props = stack.properties("ChatbotRole")
    assert "Policies" not in props and "ManagedPolicyArns" not in props
    assert "PermissionsBoundary" not in props
    assert props["AssumeRolePolicyDocument"]["Statement"] == [
        {
            "Effect": "Allow",
            "Principal": {"Service": "chatbot.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ]
    for channel in ("ChatbotSlackChannel", "ChatbotTeamsChannel"):
        channel_props = stack.properties(channel)
        assert channel_props["IamRoleArn"] == arn_of("ChatbotRole", "AWS::IAM::Role")
        assert channel_props["GuardrailPolicies"] == [f"arn:{PARTITION}:iam::aws:policy/AWSDenyAll"]
    # nothing else refers to the role (no policy attached to it from elsewhere)
    referring = {
        logical_id
        for logical_id, resource in template["Resources"].items()
        if '"ChatbotRole"' in json.dumps(resource)
    }
    assert referring == {"ChatbotSlackChannel", "ChatbotTeamsChannel"}


# --------------------------------------------------------------------------- concurrency


@pytest.mark.parametrize(
    "parameter",
    ["StatusConcurrency", "PingConcurrency", "RunnerConcurrency", "NotifierConcurrency"],
)
def test_concurrency_parameters_refuse_zero(template, parameter):
    pattern = re.compile(template["Parameters"][parameter]["AllowedPattern"])
    for accepted in ("", "1", "10", "250", "9999"):
        assert pattern.fullmatch(accepted), accepted
    for refused_value in ("0", "00", "010", "-1", "10000", "1.5", "ten", " 5"):
        assert not pattern.fullmatch(refused_value), refused_value


@pytest.mark.parametrize(
    ("parameters", "status", "ping", "runner", "notifier"),
    [
        ({}, 10, 10, None, None),  # the defaults: the public functions are capped
        ({"StatusConcurrency": "3", "PingConcurrency": "4"}, 3, 4, None, None),
        ({"StatusConcurrency": "", "PingConcurrency": ""}, None, None, None, None),
        ({"RunnerConcurrency": "20", "NotifierConcurrency": "5"}, 10, 10, 20, 5),
    ],
)
def test_reserved_concurrency_follows_the_parameters(
    template, parameters, status, ping, runner, notifier
):
    stack = ResolvedTemplate(template, parameters)
    assert template["Parameters"]["StatusConcurrency"]["Default"] == "10"
    assert template["Parameters"]["PingConcurrency"]["Default"] == "10"
    for function, expected in (
        ("StatusFunction", status),
        ("PingFunction", ping),
        ("RunnerFunction", runner),
        ("NotifierFunction", notifier),
    ):
        found = stack.properties(function).get("ReservedConcurrentExecutions")
        assert (None if found is None else int(found)) == expected, function
