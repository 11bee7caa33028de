"""AWS Chatbot (Amazon Q Developer in chat applications): a custom notification
published to the stack's chat topic, which Chatbot relays to the Slack channels
or Teams channels configured for it.

No secret: the notifier's role may publish to the chat topic.
"""

from __future__ import annotations

import json

from vigil.alerts.document import AlertDocument, incident_key
from vigil.notify.base import Channel, DeliveryError, Request, Secret, Transport, headline
from vigil.notify.markup import client_markdown, clip

_ICON = {"critical": ":red_circle:", "warning": ":warning:", "info": ":white_check_mark:"}
TITLE_LIMIT = 250
DESCRIPTION_LIMIT = 8000
# SNS errors after which publishing again can succeed; any other code is permanent.
_TRANSIENT_CODES = {"Throttling", "ThrottlingException", "InternalError", "KMSThrottling"}


def render(alert: AlertDocument) -> Request:
    """A custom notification (``version`` 1.0, ``source`` custom), threaded per check.

    The description is ``client-markdown`` (Slack's or Teams' markup, whichever
    channel Chatbot posts to): escaped for both, so target text shows as written.
    """
    if alert.reason:
        description = clip(alert.reason, DESCRIPTION_LIMIT, client_markdown)
    else:
        description = headline(alert, client_markdown)[:DESCRIPTION_LIMIT]
    context = {
        "status": f"{alert.status} (was {alert.previous_status})",
        "severity": alert.severity,
        "check": f"{alert.group}/{alert.check}",
        "when": alert.timestamp,
        "alert_id": alert.alert_id,
    }
    return Request(
        body={
            "version": "1.0",
            "source": "custom",
            "id": alert.alert_id,
            "content": {
                "textType": "client-markdown",
                "title": f"{_ICON.get(alert.severity, '')} {headline(alert)}"[:TITLE_LIMIT],
                "description": description,
                "keywords": [str(alert.event), alert.severity, alert.group],
            },
            "metadata": {
                "threadId": incident_key(alert.group, alert.check, alert.event),
                "summary": headline(alert),
                "eventType": f"vigil.{alert.event}",
                "additionalContext": context,
            },
        }
    )


def send(request: Request, secret: Secret, transport: Transport) -> None:
    """Publish to the chat topic; a missing topic or a refusal is permanent."""
    from botocore.exceptions import BotoCoreError, ClientError

    if not transport.chat_topic_arn or transport.sns is None:
        raise DeliveryError(
            "no chat topic: the notifier's VIGIL_CHAT_TOPIC_ARN is not set", permanent=True
        )
    try:
        transport.sns.publish(TopicArn=transport.chat_topic_arn, Message=json.dumps(request.body))
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "ClientError")
        raise DeliveryError(
            f"SNS publish to the chat topic failed ({code})",
            permanent=code not in _TRANSIENT_CODES,
        ) from None
    except BotoCoreError as exc:
        raise DeliveryError(
            f"SNS publish to the chat topic failed ({type(exc).__name__})", permanent=False
        ) from None


CHANNEL = Channel(type="chatbot", render=render, send=send)
