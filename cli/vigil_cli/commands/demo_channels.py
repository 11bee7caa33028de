"""``vigil demo``, last part: one real alert of the demo as each notification
channel receives it.

``ChannelsDemo(topic_arn)`` subscribes an SQS queue (filtered on ``event:
failure``) to the alert topic before the runs; ``show`` then takes the first
failure alert the runner published, adds a ``notifications:`` section for every
channel type to the demo's configuration, and invokes the real notifier handler
on it, on the same embedded AWS. Slack, Teams, PagerDuty and the webhook are
``Receiver`` servers on loopback; the chatbot channel publishes to the chat topic.
Finally SNS's redelivery of the same message is played: nothing is sent twice.
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any

from vigil_cli.local.local_aws import REGION
from vigil_cli.local.notify import LocalNotifier, sns_event
from vigil_cli.screen import Screen
from vigil_cli.targets.receivers import Receiver, Reply

SIGNING_KEY = "demo-signing-key"  # a throw-away key, only on this machine
NOTIFICATIONS = """
notifications:  # added by `vigil demo`: one destination per channel type
  # the receivers are http:// servers on loopback: allowed only with allow_private
  - {name: demo-slack, type: slack, secret: vigil/notify/demo-slack, allow_private: true}
  - {name: demo-teams, type: teams, secret: vigil/notify/demo-teams, allow_private: true}
  - {name: demo-pagerduty, type: pagerduty, secret: vigil/notify/demo-pagerduty,
     allow_private: true}
  - {name: demo-webhook, type: webhook, secret: vigil/notify/demo-webhook, allow_private: true}
  - {name: demo-chatbot, type: chatbot}
"""


class ChannelsDemo:
    """Catches the demo's first failure alert and shows it delivered to every channel."""

    def __init__(self, topic_arn: str):
        import boto3

        sqs = boto3.client("sqs", region_name=REGION)
        self.queue_url = sqs.create_queue(QueueName="vigil-demo-failures")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=self.queue_url, AttributeNames=["QueueArn"])
        boto3.client("sns", region_name=REGION).subscribe(
            TopicArn=topic_arn,
            Protocol="sqs",
            Endpoint=arn["Attributes"]["QueueArn"],
            Attributes={"FilterPolicy": json.dumps({"event": ["failure"]})},
        )

    def show(self, screen: Screen, config_path: Path) -> None:
        """Deliver the first failure alert to loopback receivers and show what each got."""
        import boto3

        messages = boto3.client("sqs", region_name=REGION).receive_message(
            QueueUrl=self.queue_url, MaxNumberOfMessages=1, WaitTimeSeconds=0
        )
        if not messages.get("Messages"):
            screen.note("No failure alert was sent: the notification channels are not shown.")
            return
        envelope = json.loads(messages["Messages"][0]["Body"])
        config = config_path.with_name("checks-with-notifications.yaml")
        config.write_text(config_path.read_text(encoding="utf-8") + NOTIFICATIONS)
        with contextlib.ExitStack() as stack:
            receivers = {
                "slack": stack.enter_context(Receiver("slack", default=Reply(200, b"ok"))),
                "teams": stack.enter_context(Receiver("teams", default=Reply(202, b""))),
                "pagerduty": stack.enter_context(
                    Receiver("pagerduty", default=Reply(202, b'{"status":"success"}'))
                ),
                "webhook": stack.enter_context(
                    Receiver("webhook", default=Reply(204, b""), signing_key=SIGNING_KEY)
                ),
            }
            local = stack.enter_context(LocalNotifier(config, existing=True))
            for name, receiver in receivers.items():
                secret: dict[str, str] = {"url": receiver.url}
                if name == "pagerduty":
                    secret["routing_key"] = "demo-routing-key"
                if name == "webhook":
                    secret["signing_key"] = SIGNING_KEY
                local.put_secret(f"vigil/notify/demo-{name}", secret)
            chat = local.subscribe_queue("ChatTopic")
            event = sns_event(
                local.topics["AlertTopic"], envelope["Message"], message_id=envelope["MessageId"]
            )
            harness = local.harness()
            document = json.loads(envelope["Message"])
            screen.line()
            screen.heading(
                f"Notifications: alert {document['alert_id']} as each channel receives it"
            )
            first = harness.invoke(event)
            if not first.ok:
                screen.problem(f"  the notifier failed: {first.error}")
                return
            _show_receivers(screen, receivers)
            for message in local.drain(chat):
                screen.block(
                    "AWS Chatbot · custom notification published to the chat topic",
                    json.dumps(json.loads(message["Message"]), indent=2),
                )
            again = harness.invoke(event)
            total = sum(len(r.requests) for r in receivers.values())
            replayed = sum(
                1
                for d in (again.summary or {"records": [{}]})["records"][0].get("deliveries", [])
                if d.get("replayed")
            )
            screen.success(
                f"  SNS delivered the same message again: {replayed} destinations recognised "
                f"it (ledger in DynamoDB), {total} requests in all, nothing sent twice."
            )


def _show_receivers(screen: Screen, receivers: dict[str, Receiver]) -> None:
    titles = {
        "slack": "Slack · incoming webhook · Block Kit",
        "teams": "Microsoft Teams · Workflows webhook · Adaptive Card",
        "pagerduty": "PagerDuty · Events API v2",
        "webhook": "Signed webhook · the alert document",
    }
    for name, receiver in receivers.items():
        for request in receiver.requests:
            title = f"{titles[name]} · POST /hooks/{name}/… · answered {request.answered}"
            body: Any = request.json()
            if name == "pagerduty":
                body = {**body, "routing_key": "(from the secret)"}
            text = json.dumps(body, indent=2, ensure_ascii=False)
            if request.signature_ok is not None:
                verdict = "valid" if request.signature_ok else "INVALID"
                text = f"X-Vigil-Signature checked by the receiver: {verdict}\n{text}"
            screen.block(title, text)
