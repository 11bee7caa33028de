"""Delivery of alerts to the SNS topic, with retries."""

from __future__ import annotations

import time
from typing import Any

from vigil.alerts.message import sns_request
from vigil.exceptions import AlertDeliveryError


class SnsPublisher:
    """Publishes alert documents; the boto3 client is created on first use."""

    def __init__(
        self,
        topic_arn: str,
        *,
        client: Any = None,
        attempts: int = 3,
        backoff: float = 0.2,
    ):
        self.topic_arn = topic_arn
        self._client = client
        self.attempts = attempts
        self.backoff = backoff

    @property
    def client(self) -> Any:
        if self._client is None:
            import boto3

            self._client = boto3.client("sns")
        return self._client

    def publish(self, doc: dict[str, Any], *, deadline: float | None = None) -> str:
        """Publish one alert and return its SNS message id.

        Tries up to ``attempts`` times with exponential backoff while time
        remains before ``deadline`` (a ``time.monotonic`` value); raises
        ``AlertDeliveryError`` with the last failure otherwise.
        """
        request = sns_request(self.topic_arn, doc)
        last: Exception | None = None
        for attempt in range(self.attempts):
            if (
                attempt
                and deadline is not None
                and time.monotonic() + self.backoff * 2**attempt > deadline
            ):
                break
            if attempt:
                time.sleep(self.backoff * 2 ** (attempt - 1))
            try:
                return self.client.publish(**request)["MessageId"]
            except Exception as exc:  # botocore errors of every kind: retry, then report
                last = exc
        raise AlertDeliveryError(f"SNS publish failed: {type(last).__name__}: {last}")
