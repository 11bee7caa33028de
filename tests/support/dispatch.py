"""Stand-ins for the two ways a tick dispatches runs, and SQS events of the run queue.

``CapturingLambda`` stands in for boto3's Lambda client (``Invoke`` cannot run a
function here); ``CapturingQueue`` records what a tick queues, with its delay, so a
test can deliver an hour of runs without waiting for them. The real queue (moto's
SQS, which honours ``DelaySeconds``) is used where the delay itself is tested.
"""

from __future__ import annotations

import json
import uuid
from typing import Any


class CapturingLambda:
    """Records each asynchronous ``Invoke`` (answers 202, or fails for ``failing_shards``)."""

    def __init__(self, failing_shards: frozenset[int] = frozenset()):
        self.calls: list[dict[str, Any]] = []
        self.failing_shards = failing_shards

    def invoke(self, **kwargs: Any) -> dict[str, Any]:
        payload = json.loads(kwargs["Payload"])
        self.calls.append({**kwargs, "Payload": payload})
        if payload.get("shard") in self.failing_shards:
            raise ConnectionError("throttled")
        return {"StatusCode": 202}

    def payloads(self) -> list[dict[str, Any]]:
        return [call["Payload"] for call in self.calls]

    def take(self) -> list[dict[str, Any]]:
        """The payloads sent since the last ``take``."""
        taken, self.calls = self.payloads(), []
        return taken


class CapturingQueue:
    """A ``RunQueue`` that records ``(event, delay)`` instead of sending."""

    def __init__(self) -> None:
        self.runs: list[tuple[dict[str, Any], int]] = []

    def enqueue(self, runs: list[tuple[dict[str, Any], int]]) -> None:
        self.runs += runs

    def take(self) -> list[tuple[dict[str, Any], int]]:
        taken, self.runs = self.runs, []
        return taken


def sqs_event(bodies: list[dict[str, Any] | str], queue_arn: str = "arn:aws:sqs:us-east-1:1:q"):
    """The Lambda event of an SQS event source delivering ``bodies`` (one record each)."""
    return {
        "Records": [
            {
                "messageId": str(uuid.uuid4()),
                "receiptHandle": str(uuid.uuid4()),
                "body": body if isinstance(body, str) else json.dumps(body),
                "attributes": {"ApproximateReceiveCount": "1"},
                "messageAttributes": {},
                "md5OfBody": "",
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": "us-east-1",
            }
            for body in bodies
        ]
    }
