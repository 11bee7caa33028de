"""Delivery of alerts to the SNS topic."""

from __future__ import annotations

from typing import Any

from vigil.alerts.document import AlertDocument
from vigil.alerts.message import sns_request
from vigil.clients import LazyClient
from vigil.exceptions import AlertDeliveryError


class SnsPublisher:
    """Publishes alert documents; the boto3 client is created on first use.

    One ``publish`` is one SNS call: botocore retries it (standard mode) within
    the run's deadline when the client is bounded by ``vigil.run.deadline``.
    """

    client = LazyClient("sns")

    def __init__(self, topic_arn: str, *, client: Any = None):
        self.topic_arn = topic_arn
        self.client = client

    def publish(self, alert: AlertDocument) -> str:
        """Publish one alert and return its SNS message id; raise ``AlertDeliveryError``."""
        try:
            return self.client.publish(**sns_request(self.topic_arn, alert))["MessageId"]
        except Exception as exc:  # botocore errors of every kind: the alert stays pending
            raise AlertDeliveryError(
                f"SNS publish of {alert.alert_id} failed: {type(exc).__name__}: {exc}"[:300]
            ) from exc
