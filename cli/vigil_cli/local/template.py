"""Dev-side tools around template.yaml (never used inside Lambda).

- ``load_template``: read a SAM/CloudFormation template with cfn-lint's own decoder,
  short tags included (``!Ref x`` -> ``{"Ref": "x"}``, ``!Sub s`` -> ``{"Fn::Sub": "s"}``).
- ``schedules`` / ``drift``: the groups the template's schedules invoke, and how
  they disagree with the groups of a check configuration; ``interval_findings``:
  checks whose ``interval`` is shorter than their group's schedule allows.
- ``create_local_resources`` / ``runner_environment``: the template's DynamoDB
  tables, SNS topics, SQS queues and Secrets Manager secrets (a generated value
  for ``GenerateSecretString``) created with boto3 (under moto), and the runner's
  environment resolved against them, so that what is tested is what is deployed.
"""

from __future__ import annotations

import contextlib
import datetime
import hashlib
import itertools
import json
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vigil.durations import format_duration

if TYPE_CHECKING:
    from vigil.config import GroupConfig

SCHEDULED_TIME_PLACEHOLDER = "<aws.scheduler.scheduled-time>"
RUNNER_FUNCTION = "RunnerFunction"
SCHEDULE_EVENT_TYPES = ("ScheduleV2", "Schedule")

# ---------------------------------------------------------------------------
# Loading
# ---------------------------------------------------------------------------


def _dates_as_text(value: Any) -> Any:
    """YAML timestamps back to their text: CloudFormation reads an unquoted
    ``AWSTemplateFormatVersion: 2010-09-09`` as the string, cfn-lint's loader as a date."""
    if isinstance(value, dict):
        for key, item in value.items():
            value[key] = _dates_as_text(item)
    elif isinstance(value, list):
        value[:] = [_dates_as_text(item) for item in value]
    elif isinstance(value, datetime.date):
        return value.isoformat()
    return value


def load_template(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Parse a template file (YAML or JSON); short tags become their long JSON forms.

    Raises ``OSError``, ``yaml.YAMLError`` (cfn-lint's parse errors included, such
    as a duplicate key) or ``ValueError`` when the document is not a mapping.
    """
    with open(path, encoding="utf-8") as handle:
        return loads_template(handle.read())


# Decoded templates, by the SHA-256 of their text: importing cfn-lint's decoder costs
# about 60 MB and 0.5 s, which every process that embeds AWS (the demo, a bench
# worker) would otherwise pay for the same unchanged template.
DECODED_CACHE = Path(__file__).resolve().parents[3] / ".vigil" / "template-cache"


def loads_template(text: str) -> dict[str, Any]:
    """Like ``load_template``, from a string."""
    cached = DECODED_CACHE / f"{hashlib.sha256(text.encode()).hexdigest()}.json"
    try:
        return json.loads(cached.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        pass
    from cfnlint.decode import cfn_yaml  # cfn-lint's own template decoder

    document = cfn_yaml.loads(text)
    if not isinstance(document, dict):
        raise ValueError("a template must be a YAML mapping")
    document = _dates_as_text(document)
    with contextlib.suppress(OSError):  # a read-only checkout decodes every time
        cached.parent.mkdir(parents=True, exist_ok=True)
        partial = cached.with_suffix(f".{os.getpid()}.tmp")
        partial.write_text(json.dumps(document), encoding="utf-8")
        partial.replace(cached)
    return document


# ---------------------------------------------------------------------------
# Schedules and drift
# ---------------------------------------------------------------------------

_RATE_RE = re.compile(r"^rate\(\s*(\d+)\s+(minute|minutes|hour|hours|day|days)\s*\)$")
_UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}


def parse_rate(expression: str) -> int | None:
    """Seconds between runs of ``rate(N unit)``; None for ``cron(...)``/``at(...)``.

    Raises ``ValueError`` for a ``rate(...)`` that is not ``rate(<N> minute[s]|hour[s]|day[s])``.
    """
    expression = expression.strip()
    if not expression.startswith("rate("):
        return None
    match = _RATE_RE.match(expression)
    if not match or int(match.group(1)) < 1:
        raise ValueError(f"not a valid rate expression: {expression!r}")
    return int(match.group(1)) * _UNIT_SECONDS[match.group(2).rstrip("s")]


def _cron_field(text: str, low: int, high: int) -> set[int]:
    """The values of one cron field in [low, high]: ``*``, ``a``, ``a-b``, ``*/n``, ``a/n``,
    ``a-b/n`` and comma lists of them. Raises ``ValueError`` otherwise."""
    values: set[int] = set()
    for part in text.split(","):
        base, slash, step_text = part.partition("/")
        step = int(step_text) if slash else 1
        if base == "*":
            start, end = low, high
        elif "-" in base:
            first, _, last = base.partition("-")
            start, end = int(first), int(last)
        else:
            start = int(base)
            end = high if slash else start
        if not low <= start <= end <= high or step < 1:
            raise ValueError(f"{part!r} is not within {low}-{high}")
        values.update(range(start, end + 1, step))
    return values


def shortest_gap(expression: str) -> int | None:
    """The shortest time in seconds between two runs of ``rate(...)`` or ``cron(...)``.

    For ``cron(minutes hours day-of-month month day-of-week year)`` it is found from
    the minutes and hours fields: the days fields only leave days out, which makes
    gaps longer, never shorter (a run a day counts as 24 hours apart). None for
    ``at(...)`` and anything else. Raises ``ValueError`` for a malformed rate or cron.
    """
    expression = expression.strip()
    if expression.startswith("rate("):
        return parse_rate(expression)
    if not expression.startswith("cron("):
        return None
    fields = expression.removeprefix("cron(").removesuffix(")").split()
    if not expression.endswith(")") or len(fields) != 6:
        raise ValueError(f"not a valid cron expression (6 fields): {expression!r}")
    try:
        minutes = _cron_field(fields[0], 0, 59)
        hours = _cron_field(fields[1], 0, 23)
    except ValueError as exc:
        raise ValueError(f"not a valid cron expression: {expression!r}: {exc}") from None
    times = sorted(hour * 60 + minute for hour in hours for minute in minutes)
    gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
    gaps.append(24 * 60 - times[-1] + times[0])  # on to the next day's first run
    return min(gaps) * 60


@dataclass(frozen=True)
class ScheduleInfo:
    """One schedule event of a function that invokes a check group."""

    function: str  # logical id of the AWS::Serverless::Function
    event: str  # name of the event under Events
    expression: str  # rate(...) / cron(...) / at(...)
    group: str
    interval_seconds: int | None  # from rate(...); None for cron/at (or an invalid rate)
    event_type: str = "ScheduleV2"
    input: Mapping[str, Any] = field(default_factory=dict, compare=False)
    shortest_gap_seconds: int | None = None  # rate or cron; None for at (or invalid)

    @property
    def where(self) -> str:
        return f"{self.function}.Events.{self.event}"


def _input_document(raw: Any) -> dict[str, Any] | None:
    if isinstance(raw, dict) and isinstance(raw.get("Fn::Sub"), str):
        raw = raw["Fn::Sub"]  # the JSON stays parseable with ${...} inside strings
    if not isinstance(raw, str):
        return None
    try:
        document = json.loads(raw)
    except json.JSONDecodeError:
        return None
    return document if isinstance(document, dict) else None


def schedules(template: Mapping[str, Any]) -> list[ScheduleInfo]:
    """Every Schedule/ScheduleV2 event whose Input JSON names a ``group``, in template order."""
    found: list[ScheduleInfo] = []
    for logical_id, resource in (template.get("Resources") or {}).items():
        if not isinstance(resource, dict) or resource.get("Type") != "AWS::Serverless::Function":
            continue
        events = (resource.get("Properties") or {}).get("Events") or {}
        for event_name, event in events.items():
            if not isinstance(event, dict) or event.get("Type") not in SCHEDULE_EVENT_TYPES:
                continue
            props = event.get("Properties") or {}
            document = _input_document(props.get("Input"))
            if document is None or not isinstance(document.get("group"), str):
                continue
            key = "ScheduleExpression" if event["Type"] == "ScheduleV2" else "Schedule"
            expression = props.get(key)
            expression = expression if isinstance(expression, str) else ""
            try:
                interval = parse_rate(expression)
            except ValueError:
                interval = None
            try:
                gap = shortest_gap(expression)
            except ValueError:
                gap = None
            found.append(
                ScheduleInfo(
                    function=logical_id,
                    event=event_name,
                    expression=expression,
                    group=document["group"],
                    interval_seconds=interval,
                    event_type=event["Type"],
                    input=document,
                    shortest_gap_seconds=gap,
                )
            )
    return found


def drift(config_groups: Iterable[str], template: Mapping[str, Any]) -> list[str]:
    """Human-readable disagreements between a config's groups and the template's schedules.

    An empty list means none: every group has a schedule, every schedule names a
    known group, and every schedule passes ``scheduled_time``.
    """
    groups = sorted(set(config_groups))
    found = schedules(template)
    scheduled = {info.group for info in found}
    findings: list[str] = []
    for group in groups:
        if group not in scheduled:
            findings.append(
                f"group {group!r} is in the check configuration but no schedule in the "
                f'template invokes it (add a ScheduleV2 event with Input {{"group": "{group}", '
                f'"scheduled_time": "{SCHEDULED_TIME_PLACEHOLDER}"}})'
            )
    known = ", ".join(groups) or "none"
    for info in found:
        if info.group not in groups:
            findings.append(
                f"schedule {info.where} invokes group {info.group!r}, which the check "
                f"configuration does not define (known groups: {known})"
            )
        if info.event_type != "ScheduleV2":
            findings.append(
                f"schedule {info.where} is a {info.event_type} event (EventBridge rule), which "
                f"cannot pass scheduled_time; use a ScheduleV2 event"
            )
        elif info.input.get("scheduled_time") != SCHEDULED_TIME_PLACEHOLDER:
            findings.append(
                f"schedule {info.where} (group {info.group!r}): Input lacks "
                f'"scheduled_time": "{SCHEDULED_TIME_PLACEHOLDER}", so a retried delivery '
                f"cannot be recognised as a repeat"
            )
        if info.expression.startswith("rate(") and info.interval_seconds is None:
            findings.append(
                f"schedule {info.where}: {info.expression!r} is not a valid rate expression"
            )
        elif info.expression.startswith("cron(") and info.shortest_gap_seconds is None:
            findings.append(
                f"schedule {info.where}: {info.expression!r} is not a valid cron expression "
                f"(minutes hours day-of-month month day-of-week year)"
            )
    return findings


def interval_findings(
    groups: Mapping[str, GroupConfig], template: Mapping[str, Any]
) -> list[tuple[str, str]]:
    """``(key path, problem)`` for each check whose ``interval`` is shorter than its group's
    schedule: the runner only runs when invoked, so such a check would silently run less
    often than its configuration says. An ``interval`` equal to the schedule is fine (the
    check runs on every invocation, despite the scheduler's jitter). The group's shortest
    gap between runs counts (``shortest_gap``; several schedules: the shortest of all).
    """
    gaps: dict[str, list[ScheduleInfo]] = {}
    for info in schedules(template):
        if info.shortest_gap_seconds is not None:
            gaps.setdefault(info.group, []).append(info)
    findings: list[tuple[str, str]] = []
    for name, group in groups.items():
        if name not in gaps:
            continue
        tightest = min(gaps[name], key=lambda info: info.shortest_gap_seconds or 0)
        gap = tightest.shortest_gap_seconds or 0
        for index, check in enumerate(group.checks):
            if check.interval is None or check.interval >= gap:
                continue
            findings.append(
                (
                    f"groups.{name}.checks[{index}].interval",
                    f"check {check.name!r}: {format_duration(check.interval)} is shorter than "
                    f"the group's schedule {tightest.expression} ({tightest.where}), which "
                    f"invokes the group at most every {format_duration(gap)}; the check would "
                    f"run only that often. Use an interval of at least {format_duration(gap)}, "
                    f"or leave it out to run on every invocation",
                )
            )
    return findings


# ---------------------------------------------------------------------------
# Local resources (moto) and the runner's environment
# ---------------------------------------------------------------------------


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


def _resources_of(template: Mapping[str, Any], type_: str) -> list[tuple[str, dict[str, Any]]]:
    return [
        (logical_id, resource.get("Properties") or {})
        for logical_id, resource in (template.get("Resources") or {}).items()
        if isinstance(resource, dict) and resource.get("Type") == type_
    ]


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
    for logical_id, props in _resources_of(template, "AWS::DynamoDB::Table"):
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
    for logical_id, props in _resources_of(template, "AWS::SNS::Topic"):
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
        for logical_id, props in _resources_of(template, "AWS::SQS::Queue")
    }

    secretsmanager = boto3.client("secretsmanager", region_name=region)
    secrets = {
        logical_id: secretsmanager.create_secret(
            Name=_physical_name(props.get("Name"), stack_name, logical_id),
            SecretString=_secret_string(props),
        )["ARN"]
        for logical_id, props in _resources_of(template, "AWS::SecretsManager::Secret")
    }

    variables = _function_variables(template, RUNNER_FUNCTION)
    function_props = dict(_resources_of(template, "AWS::Serverless::Function")).get(
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
    functions = dict(_resources_of(template, "AWS::Serverless::Function"))
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
