"""The notifier on embedded AWS (moto), for the tests and ``vigil demo``.

``LocalNotifier`` sets up what the notifier needs from template.yaml itself: the
tables and topics (``create_local_resources``), the SQS queues, and the
notifier's environment resolved against them, so the function runs with exactly
the variables it is deployed with. ``invoke`` calls the real handler through
``RunnerHarness`` (output captured); ``sns_event`` builds the event SNS sends.
"""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from vigil_cli.local.environ import environ_set
from vigil_cli.local.harness import RunnerHarness, function_timeout
from vigil_cli.local.local_aws import FAKE_CREDENTIALS, REGION, TEMPLATE
from vigil_cli.local.resources import (
    LocalResources,
    create_local_resources,
    runner_environment,
)
from vigil_cli.local.template_file import load_template

NOTIFIER_FUNCTION = "NotifierFunction"
ACCOUNT = "123456789012"


def notifier_environment(template: Mapping[str, Any], resources: LocalResources) -> dict[str, str]:
    """The notifier's variables as Lambda would see them (a ``!Ref`` to a queue = its URL)."""
    return runner_environment(template, resources, function=NOTIFIER_FUNCTION)


def existing_resources(
    template: Mapping[str, Any], stack_name: str = "vigil-local"
) -> LocalResources:
    """The ``LocalResources`` that ``create_local_resources`` made earlier in this moto."""
    tables = {
        logical_id: f"{stack_name}-{logical_id}"
        for logical_id, resource in template["Resources"].items()
        if resource.get("Type") == "AWS::DynamoDB::Table"
    }
    topics = {
        logical_id: f"arn:aws:sns:{REGION}:{ACCOUNT}:{stack_name}-{logical_id}"
        for logical_id, resource in template["Resources"].items()
        if resource.get("Type") == "AWS::SNS::Topic"
    }
    import boto3

    sqs = boto3.client("sqs", region_name=REGION)
    queues = {
        logical_id: sqs.get_queue_url(QueueName=f"{stack_name}-{logical_id}")["QueueUrl"]
        for logical_id, resource in template["Resources"].items()
        if resource.get("Type") == "AWS::SQS::Queue"
    }
    return LocalResources(
        table_name=tables["HealthCheckTable"],
        topic_arn=topics["AlertTopic"],
        function_name=f"{stack_name}-notifier",
        tables=tables,
        topics=topics,
        queues=queues,
        region=REGION,
        stack_name=stack_name,
    )


def sns_event(topic_arn: str, message: str, *, message_id: str | None = None) -> dict[str, Any]:
    """The Lambda event SNS sends for one message (``message_id`` the same on a redelivery)."""
    return {
        "Records": [
            {
                "EventSource": "aws:sns",
                "EventVersion": "1.0",
                "EventSubscriptionArn": f"{topic_arn}:{uuid.uuid4()}",
                "Sns": {
                    "Type": "Notification",
                    "MessageId": message_id or str(uuid.uuid4()),
                    "TopicArn": topic_arn,
                    "Subject": None,
                    "Message": message,
                    "Timestamp": datetime.now(UTC).isoformat(timespec="milliseconds"),
                    "MessageAttributes": {},
                },
            }
        ]
    }


def cold_start() -> None:
    """Forget the notifier's warm-start cache (a new Lambda container)."""
    import vigil.environment.notifier

    vigil.environment.notifier.clear_cache()


class LocalNotifier:
    """Context manager: the notifier's AWS resources and environment, on moto.

    ``existing=True`` uses the moto already running (``LocalAws`` made the tables
    and topics from the same template) and only adds the queues.
    """

    def __init__(self, config: Path, *, template: Path = TEMPLATE, existing: bool = False):
        self.config = config
        self.template = load_template(template)
        self.existing = existing
        self._undo = contextlib.ExitStack()
        self.environment: dict[str, str] = {}
        self.queues: dict[str, str] = {}
        self.resources: LocalResources | None = None

    def __enter__(self) -> LocalNotifier:
        from moto import mock_aws

        with contextlib.ExitStack() as undo:
            if not self.existing:
                undo.enter_context(environ_set(FAKE_CREDENTIALS))
                undo.enter_context(mock_aws())
                self.resources = create_local_resources(self.template, region=REGION)
            else:
                self.resources = existing_resources(self.template)
            self.queues = dict(self.resources.queues)
            env = notifier_environment(self.template, self.resources)
            env["HEALTHCHECK_CONFIG"] = str(self.config)
            self.environment = env
            undo.enter_context(environ_set(env))
            cold_start()
            self._undo = undo.pop_all()
        return self

    def __exit__(self, *exc_info: object) -> None:
        cold_start()
        self._undo.close()

    @property
    def topics(self) -> Mapping[str, str]:
        assert self.resources is not None
        return self.resources.topics

    def harness(self) -> RunnerHarness:
        """A fresh handler import: a cold start (warm-start caches forgotten)."""
        cold_start()
        return RunnerHarness(function_timeout(self.template, NOTIFIER_FUNCTION), "notifier")

    def put_secret(self, name: str, value: Mapping[str, str]) -> None:
        import boto3

        boto3.client("secretsmanager", region_name=REGION).create_secret(
            Name=name, SecretString=json.dumps(dict(value))
        )

    def subscribe_queue(self, topic: str, filter_policy: Mapping[str, Any] | None = None) -> str:
        """A new SQS queue subscribed to the template topic ``topic``; returns its URL."""
        import boto3

        sqs = boto3.client("sqs", region_name=REGION)
        url = sqs.create_queue(QueueName=f"vigil-local-inbox-{uuid.uuid4().hex[:8]}")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        attributes = {"FilterPolicy": json.dumps(filter_policy)} if filter_policy else {}
        boto3.client("sns", region_name=REGION).subscribe(
            TopicArn=self.topics[topic], Protocol="sqs", Endpoint=arn, Attributes=attributes
        )
        return url

    def drain(self, queue_url: str) -> list[dict[str, Any]]:
        """Every message body of a queue (decoded JSON), removing them."""
        import boto3

        sqs = boto3.client("sqs", region_name=REGION)
        bodies: list[dict[str, Any]] = []
        while True:
            messages = sqs.receive_message(
                QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0
            ).get("Messages", [])
            if not messages:
                return bodies
            for message in messages:
                bodies.append(json.loads(message["Body"]))
                sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])

    def dead_letters(self) -> list[dict[str, Any]]:
        return self.drain(self.queues["NotifierDeadLetterQueue"])
