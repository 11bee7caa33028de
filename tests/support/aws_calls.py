"""Record the IAM actions of the AWS requests code makes, to compare with a role's policy.

``record_aws_calls(monkeypatch)`` wraps ``botocore.client.BaseClient._make_api_call``,
the one point every botocore client's operation passes through (the point AWS
X-Ray's SDK and OpenTelemetry's botocore instrumentation wrap too). Clients created
before the recording started are seen as well: a Powertools provider, a cached
runner, a client made inside a thread. The code under test carries no accounting.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Any, NamedTuple

import botocore.client
import pytest

# API operations whose IAM action has another name.
IAM_ACTION_OF_OPERATION = {
    "lambda:Invoke": "lambda:InvokeFunction",
    "sns:PublishBatch": "sns:Publish",
    "sqs:SendMessageBatch": "sqs:SendMessage",
    "sqs:DeleteMessageBatch": "sqs:DeleteMessage",
}


class AwsRequest(NamedTuple):
    """One request: its IAM action, the client's region and the operation's parameters."""

    action: str
    region: str
    params: dict[str, Any]


class AwsCalls:
    """IAM actions (``service:Action``) of the requests made since the last ``reset``."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requests: list[AwsRequest] = []
        self._paused = False

    def record(
        self, service: str, operation: str, region: str = "", params: dict[str, Any] | None = None
    ) -> None:
        action = f"{service}:{operation}"
        action = IAM_ACTION_OF_OPERATION.get(action, action)
        with self._lock:
            if not self._paused:
                self._requests.append(AwsRequest(action, region, dict(params or {})))

    @contextlib.contextmanager
    def paused(self) -> Iterator[None]:
        """Calls the test itself makes (reading a queue back) are not recorded."""
        with self._lock:
            self._paused = True
        try:
            yield
        finally:
            with self._lock:
                self._paused = False

    def reset(self) -> None:
        with self._lock:
            self._requests = []

    @property
    def actions(self) -> set[str]:
        with self._lock:
            return {request.action for request in self._requests}

    @property
    def requests(self) -> list[AwsRequest]:
        with self._lock:
            return list(self._requests)


def record_aws_calls(monkeypatch: pytest.MonkeyPatch) -> AwsCalls:
    """Start recording every botocore operation; undone with ``monkeypatch``."""
    calls = AwsCalls()
    original = botocore.client.BaseClient._make_api_call

    def recording(self: Any, operation_name: str, api_params: dict[str, Any]) -> Any:
        # The IAM prefix is the service's signing name (secretsmanager, dynamodb, lambda...).
        calls.record(
            self.meta.service_model.signing_name, operation_name, self.meta.region_name, api_params
        )
        return original(self, operation_name, api_params)

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", recording)
    return calls
