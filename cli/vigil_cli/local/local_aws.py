"""Embedded AWS for tests, the demo and the benchmark: moto, with the tables, topics
and queues created from template.yaml itself (the runner's run queue among them), and
an SQS queue subscribed to the alert topic so that alerts are read back the way a real
subscriber receives them.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vigil_cli.local.environ import environ_set
from vigil_cli.local.resources import create_local_resources, runner_environment
from vigil_cli.local.template_file import load_template

REPO = Path(__file__).resolve().parents[3]  # cli/vigil_cli/local/local_aws.py
TEMPLATE = REPO / "template.yaml"
DEFAULT_CONFIG = REPO / "functions" / "runner" / "checks.yaml"  # the runner's own
REGION = "us-east-1"

FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SECURITY_TOKEN": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
}


def scan_items(client: Any, table: str) -> list[dict[str, Any]]:
    """Every item of ``table``, in low-level form (``client``: a DynamoDB client)."""
    pages = client.get_paginator("scan").paginate(TableName=table)
    return [item for page in pages for item in page.get("Items", [])]


@dataclass(frozen=True)
class DeliveredAlert:
    """One alert as the SQS subscriber received it."""

    document: dict[str, Any]
    attributes: dict[str, str]
    subject: str | None


class LocalAws:
    """Context manager: moto running, resources from the template, env vars set.

    ``environment`` holds the runner's variables (table, topic, Powertools) as
    they would be in Lambda; they are also put into ``os.environ`` while active
    and restored afterwards.
    """

    def __init__(self, template: Path = TEMPLATE, *, config: Path | None = None):
        self.template_path = template
        self.config = config
        self._undo = contextlib.ExitStack()
        self.environment: dict[str, str] = {}
        self.table_name = ""
        self.topic_arn = ""
        self.queue_url = ""  # the alert subscriber's inbox
        self.function_name = ""

    def __enter__(self) -> LocalAws:
        import boto3
        from moto import mock_aws

        with contextlib.ExitStack() as undo:
            undo.enter_context(environ_set(FAKE_CREDENTIALS))
            undo.enter_context(mock_aws())
            template = load_template(self.template_path)
            resources = create_local_resources(template, region=REGION)
            self.table_name, self.topic_arn = resources.table_name, resources.topic_arn
            self.function_name = resources.function_name
            env = runner_environment(template, resources)
            if self.config is not None:
                env["HEALTHCHECK_CONFIG"] = str(self.config)
            self.environment = env
            undo.enter_context(environ_set(env))
            sqs = boto3.client("sqs", region_name=REGION)
            self.queue_url = sqs.create_queue(QueueName="vigil-alerts-inbox")["QueueUrl"]
            queue_arn = sqs.get_queue_attributes(
                QueueUrl=self.queue_url, AttributeNames=["QueueArn"]
            )["Attributes"]["QueueArn"]
            boto3.client("sns", region_name=REGION).subscribe(
                TopicArn=self.topic_arn, Protocol="sqs", Endpoint=queue_arn
            )
            self._undo = undo.pop_all()  # kept for __exit__; a failure above undoes it all
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._undo.close()  # moto stopped, os.environ as it was before __enter__

    @property
    def run_queue_url(self) -> str:
        """The runner's run queue (``HEALTHCHECK_RUN_QUEUE_URL``), made from the template."""
        from vigil.dispatch import QUEUE_ENV

        return self.environment.get(QUEUE_ENV, "")

    def drain_alerts(self) -> list[DeliveredAlert]:
        """Every alert delivered since the last call, oldest first."""
        import boto3

        sqs = boto3.client("sqs", region_name=REGION)
        delivered: list[DeliveredAlert] = []
        while True:
            messages = sqs.receive_message(
                QueueUrl=self.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0
            ).get("Messages", [])
            if not messages:
                return delivered
            for message in messages:
                envelope = json.loads(message["Body"])
                attributes = {
                    k: v["Value"] for k, v in envelope.get("MessageAttributes", {}).items()
                }
                delivered.append(
                    DeliveredAlert(
                        json.loads(envelope["Message"]), attributes, envelope.get("Subject")
                    )
                )
                sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])

    def count_items(self) -> int:
        """How many items the table holds (for summaries and tests)."""
        import boto3

        return len(scan_items(boto3.client("dynamodb", region_name=REGION), self.table_name))

    def put_secret(self, name: str, value: str) -> None:
        import boto3

        boto3.client("secretsmanager", region_name=REGION).create_secret(
            Name=name, SecretString=value
        )
