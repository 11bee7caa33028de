"""The dead-letter queue of notifications: what could not be delivered, with why.

Each message is JSON ``{"kind": "delivery", "destination", "type", "error",
"permanent", "attempts", "alert": <the alert document>}`` (or ``kind``
``unreadable`` with the first characters of a message that is not an alert, or
``unknown-check`` with the group, the check and the first characters of an
alert document whose check the configuration does not have).
The same queue receives Lambda's own dead letters (the original SNS event) when
the notifier fails as a whole.
"""

from __future__ import annotations

import json
from typing import Any

from vigil.alerts.document import AlertDocument

EXCERPT_LIMIT = 2000
NAME_LIMIT = 200


class DeadLetters:
    """Sends dead letters to an SQS queue (botocore retries; errors propagate)."""

    def __init__(self, queue_url: str, client: Any):
        self.queue_url = queue_url
        self.client = client

    def delivery_failed(self, alert: AlertDocument, failure: dict[str, Any]) -> None:
        """Record that ``alert`` could not reach one destination (``failure``: an outcome)."""
        body = {"kind": "delivery", **failure, "alert": alert.to_dict()}
        self._send(body, destination=str(failure.get("destination", "")))

    def unreadable(self, message: str, error: str) -> None:
        """Record a message on the alert topic that is not an alert document."""
        self._send({"kind": "unreadable", "error": error, "message": message[:EXCERPT_LIMIT]})

    def unknown_check(self, group: str, check: str, message: str) -> None:
        """Record an alert document for a check the configuration does not have."""
        self._send(
            {
                "kind": "unknown-check",
                "error": "no such check in the configuration: not delivered",
                "group": group[:NAME_LIMIT],
                "check": check[:NAME_LIMIT],
                "message": message[:EXCERPT_LIMIT],
            }
        )

    def _send(self, body: dict[str, Any], *, destination: str = "") -> None:
        attributes = {"kind": {"DataType": "String", "StringValue": body["kind"]}}
        if destination:
            attributes["destination"] = {"DataType": "String", "StringValue": destination}
        self.client.send_message(
            QueueUrl=self.queue_url,
            MessageBody=json.dumps(body, sort_keys=True),
            MessageAttributes=attributes,
        )
