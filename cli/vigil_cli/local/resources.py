"""Local AWS resources made from template.yaml, and the functions' environment (dev only).

``create_local_resources`` creates the template's DynamoDB tables, SNS topics, SQS
queues and Secrets Manager secrets (a generated value for ``GenerateSecretString``)
with boto3 (under moto), with the template's key schema, indexes and TTL, so
that what is tested is what is deployed. ``runner_environment`` is a function's
environment as Lambda would see it, resolved against those resources.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from vigil_cli.local.template_file import RUNNER_FUNCTION, resources_of


@dataclass(frozen=True)
class LocalResources:
    """What ``create_local_resources`` made; names keyed by template logical id too."""

    table_name: str
    topic_arn: str
    function_name: str
    tables: Mapping[str, str] = field(default_factory=dict)  # logical id -> table name
    topics: Mapping[str, str] = field(default_factory=dict)  # logical id -> topic ARN
    queues: Mapping[str, str] = field(default_factory=dict)  # logical id -> queue URL
    region: str = "us-east-1"
    stack_name: str = "vigil-local"
    secrets: Mapping[str, str] = field(default_factory=dict)  # logical id -> secret ARN


def _physical_name(value: Any, stack_name: str, logical_id: str) -> str:
    return value if isinstance(value, str) else f"{stack_name}-{logical_id}"


_INDEX_KEYS = ("IndexName", "KeySchema", "Projection", "ProvisionedThroughput")


def _table_request(name: str, props: Mapping[str, Any]) -> dict[str, Any]:
    request: dict[str, Any] = {
        "TableName": name,
        "KeySchema": props["KeySchema"],
        "AttributeDefinitions": props["AttributeDefinitions"],
        "BillingMode": props.get("BillingMode", "PROVISIONED"),
    }
    if request["BillingMode"] == "PROVISIONED":
        request["ProvisionedThroughput"] = props.get(
            "ProvisionedThroughput", {"ReadCapacityUnits": 5, "WriteCapacityUnits": 5}
        )
    for key, allowed in (
        ("GlobalSecondaryIndexes", _INDEX_KEYS),
        ("LocalSecondaryIndexes", _INDEX_KEYS[:3]),
    ):
        if props.get(key):
            request[key] = [{k: v for k, v in ix.items() if k in allowed} for ix in props[key]]
    stream = props.get("StreamSpecification")
    if isinstance(stream, dict) and stream.get("StreamViewType"):
        request["StreamSpecification"] = {
            "StreamEnabled": True,
            "StreamViewType": stream["StreamViewType"],
        }
    return request


def create_local_resources(
    template: Mapping[str, Any], *, region: str = "us-east-1", stack_name: str = "vigil-local"
) -> LocalResources:
    """Create every DynamoDB table, SNS topic and SQS queue of the template with boto3.

    Meant for moto (the caller has started ``moto.mock_aws()``). Tables get the
    template's KeySchema, AttributeDefinitions, BillingMode, secondary indexes and
    TTL; names are the TableName/TopicName when it is a plain string, else
    ``f"{stack_name}-{logical_id}"``. ``table_name``/``topic_arn`` are the ones the
    runner's environment references (or the only ones).
    """
    import boto3

    dynamodb = boto3.client("dynamodb", region_name=region)
    sns = boto3.client("sns", region_name=region)

    tables: dict[str, str] = {}
    for logical_id, props in resources_of(template, "AWS::DynamoDB::Table"):
        name = _physical_name(props.get("TableName"), stack_name, logical_id)
        dynamodb.create_table(**_table_request(name, props))
        ttl = props.get("TimeToLiveSpecification")
        if isinstance(ttl, dict) and ttl.get("AttributeName"):
            dynamodb.update_time_to_live(
                TableName=name,
                TimeToLiveSpecification={
                    "AttributeName": ttl["AttributeName"],
                    "Enabled": bool(ttl.get("Enabled", True)),
                },
            )
        tables[logical_id] = name

    topics: dict[str, str] = {}
    for logical_id, props in resources_of(template, "AWS::SNS::Topic"):
        name = _physical_name(props.get("TopicName"), stack_name, logical_id)
        attributes: dict[str, str] = {}
        if props.get("FifoTopic") is True:
            attributes["FifoTopic"] = "true"
            if not name.endswith(".fifo"):
                name += ".fifo"
            if props.get("ContentBasedDeduplication") is True:
                attributes["ContentBasedDeduplication"] = "true"
        if isinstance(props.get("DisplayName"), str):
            attributes["DisplayName"] = props["DisplayName"]
        topics[logical_id] = sns.create_topic(Name=name, Attributes=attributes)["TopicArn"]

    sqs = boto3.client("sqs", region_name=region)
    queues = {
        logical_id: sqs.create_queue(
            QueueName=_physical_name(props.get("QueueName"), stack_name, logical_id)
        )["QueueUrl"]
        for logical_id, props in resources_of(template, "AWS::SQS::Queue")
    }

    secretsmanager = boto3.client("secretsmanager", region_name=region)
    secrets = {
        logical_id: secretsmanager.create_secret(
            Name=_physical_name(props.get("Name"), stack_name, logical_id),
            SecretString=_secret_string(props),
        )["ARN"]
        for logical_id, props in resources_of(template, "AWS::SecretsManager::Secret")
    }

    variables = _function_variables(template, RUNNER_FUNCTION)
    function_props = dict(resources_of(template, "AWS::Serverless::Function")).get(
        RUNNER_FUNCTION, {}
    )
    context = _Context(template, tables, topics, region, stack_name, queues, secrets)
    function_name = function_props.get("FunctionName")
    return LocalResources(
        table_name=_primary(tables, variables.get("HEALTHCHECK_TABLE"), "table"),
        topic_arn=_primary(topics, variables.get("HEALTHCHECK_TOPIC_ARN"), "topic"),
        function_name=(
            context.resolve(function_name)
            if function_name is not None
            else f"{stack_name}-{RUNNER_FUNCTION}"
        ),
        tables=tables,
        topics=topics,
        queues=queues,
        region=region,
        stack_name=stack_name,
        secrets=secrets,
    )


def _secret_string(props: Mapping[str, Any]) -> str:
    """A secret's SecretString, or the value GenerateSecretString would make: its
    PasswordLength (default 32) of letters and digits, whatever else it excludes."""
    if isinstance(props.get("SecretString"), str):
        return props["SecretString"]
    import secrets
    import string

    length = int((props.get("GenerateSecretString") or {}).get("PasswordLength", 32))
    return "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(length))


def _primary(created: Mapping[str, str], reference: Any, what: str) -> str:
    if isinstance(reference, dict) and reference.get("Ref") in created:
        return created[reference["Ref"]]
    if len(created) == 1:
        return next(iter(created.values()))
    raise ValueError(
        f"cannot tell which {what} the runner uses: {len(created)} in the template "
        f"and no !Ref to one of them in {RUNNER_FUNCTION}'s environment"
    )


def _function_variables(template: Mapping[str, Any], function: str) -> dict[str, Any]:
    """Globals' Environment Variables overlaid with the function's own (as SAM merges them)."""
    globals_env = ((template.get("Globals") or {}).get("Function") or {}).get("Environment") or {}
    functions = dict(resources_of(template, "AWS::Serverless::Function"))
    if function not in functions:
        raise KeyError(f"no AWS::Serverless::Function {function!r} in the template")
    own_env = functions[function].get("Environment") or {}
    return {**(globals_env.get("Variables") or {}), **(own_env.get("Variables") or {})}


_SUB_RE = re.compile(r"\$\{([^}!]+)\}")


@dataclass
class _Context:
    template: Mapping[str, Any]
    tables: Mapping[str, str]
    topics: Mapping[str, str]
    region: str
    stack_name: str
    queues: Mapping[str, str] = field(default_factory=dict)
    secrets: Mapping[str, str] = field(default_factory=dict)

    def ref(self, name: str) -> str:
        pseudo = {
            "AWS::Region": self.region,
            "AWS::StackName": self.stack_name,
            "AWS::AccountId": "123456789012",
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
        }
        if name in pseudo:
            return pseudo[name]
        if name in self.tables:
            return self.tables[name]
        if name in self.topics:
            return self.topics[name]
        if name in self.queues:
            return self.queues[name]
        if name in self.secrets:
            return self.secrets[name]
        parameter = (self.template.get("Parameters") or {}).get(name)
        if isinstance(parameter, dict) and "Default" in parameter:
            return _text(parameter["Default"])
        raise ValueError(f"cannot resolve !Ref {name} locally")

    def resolve(self, value: Any) -> str:
        if isinstance(value, dict) and len(value) == 1:
            ((key, arg),) = value.items()
            if key == "Ref" and isinstance(arg, str):
                return self.ref(arg)
            if key == "Fn::Sub" and isinstance(arg, str):
                return _SUB_RE.sub(lambda m: self.ref(m.group(1).strip()), arg)
            raise ValueError(f"cannot resolve {key} locally: {value!r}")
        if isinstance(value, (dict, list)):
            raise ValueError(f"cannot resolve {value!r} locally")
        return _text(value)


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def runner_environment(
    template: Mapping[str, Any], resources: LocalResources, *, function: str = RUNNER_FUNCTION
) -> dict[str, str]:
    """The function's environment as Lambda would see it, against the local resources.

    Globals and the function's own Variables are merged; ``!Ref`` to a table or
    topic becomes the local name/ARN, ``!Ref`` to a parameter its Default, and
    ``!Sub`` of those is expanded. Plain values are kept (as strings). A ``!Ref`` to
    a secret ``resources`` does not hold (a deployed stack's) is left out. Anything
    else raises ``ValueError`` rather than being guessed.
    """
    context = _Context(
        template,
        resources.tables,
        resources.topics,
        resources.region,
        resources.stack_name,
        resources.queues,
        resources.secrets,
    )
    environment: dict[str, str] = {}
    for name, value in _function_variables(template, function).items():
        ref = value.get("Ref") if isinstance(value, dict) and len(value) == 1 else None
        # A LocalResources built by hand (no per-logical-id maps): use its primary names.
        if ref not in context.tables and _resource_type(template, ref) == "AWS::DynamoDB::Table":
            environment[name] = resources.table_name
        elif ref not in context.topics and _resource_type(template, ref) == "AWS::SNS::Topic":
            environment[name] = resources.topic_arn
        elif (
            ref not in context.secrets
            and _resource_type(template, ref) == "AWS::SecretsManager::Secret"
        ):
            continue  # a deployed stack's secret (its ARN unknown here): left out
        else:
            environment[name] = context.resolve(value)
    return environment


def _resource_type(template: Mapping[str, Any], logical_id: Any) -> str | None:
    if not isinstance(logical_id, str):
        return None
    resource = (template.get("Resources") or {}).get(logical_id)
    return resource.get("Type") if isinstance(resource, dict) else None
