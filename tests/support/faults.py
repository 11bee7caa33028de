"""Faults injected where botocore sends, so that botocore's own retries really happen.

``FaultInjector.attach(client)`` registers a ``before-send`` handler on the
client. Each API call is numbered per operation label (``dynamodb.GetItem``,
``dynamodb.PutItem:STATE``, ``dynamodb.PutItem:RUN``, ``dynamodb.BatchWriteItem``,
``sns.Publish``) from its first attempt (botocore's ``amz-sdk-request`` header);
a planned fault applies to every attempt of that call as its kind says:

- ``throttled``: every attempt is refused with the service's throttling error,
  so botocore retries and finally raises it;
- ``lost``: the first attempt is carried out by moto, then its answer is lost
  (a read timeout); botocore's retry is sent normally;
- ``timeout``: every attempt times out unanswered and unapplied;
- ``conditional``: the first attempt fails its condition (DynamoDB writes only);
- ``server_error``: every attempt gets HTTP 500.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from botocore.awsrequest import AWSResponse
from botocore.exceptions import ReadTimeoutError

KINDS = ("throttled", "lost", "timeout", "conditional", "server_error")


def _label(event_name: str, request: Any) -> str:
    _, service, operation = event_name.split(".")[:3]
    label = f"{service}.{operation}"
    if operation == "PutItem":
        body = json.loads(request.body or b"{}")
        sk = body.get("Item", {}).get("sk", {}).get("S", "")
        label += ":STATE" if sk == "STATE" else ":RUN" if sk.startswith("RUN#") else ""
    return label


def _attempt(request: Any) -> int:
    header = request.headers.get("amz-sdk-request", b"attempt=1")
    text = header.decode() if isinstance(header, bytes) else header
    for part in text.split(";"):
        name, _, value = part.strip().partition("=")
        if name == "attempt":
            return int(value)
    return 1


def _error_response(request: Any, service: str, status: int, code: str) -> AWSResponse:
    from moto.core.botocore_stubber import MockRawResponse

    if service == "dynamodb":
        body = json.dumps({"__type": f"com.amazonaws.dynamodb.v20120810#{code}", "message": code})
        headers = {"Content-Type": "application/x-amz-json-1.0"}
    else:
        body = (
            f"<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code>"
            f"<Message>{code}</Message></Error><RequestId>fault</RequestId></ErrorResponse>"
        )
        headers = {"Content-Type": "text/xml"}
    return AWSResponse(request.url, status, headers, MockRawResponse(body.encode()))


def _refused(request: Any, response: AWSResponse) -> AWSResponse:
    """Answer for AWS without carrying the request out.

    botocore calls every ``before-send`` handler, moto's included, and uses the
    first answer: pointing the request elsewhere keeps moto from applying it.
    """
    request.url = "https://fault-injected.invalid/"
    return response


@dataclass
class FaultInjector:
    """Planned faults: ``{(label, call number): kind}``; records what it did."""

    plan: dict[tuple[str, int], str] = field(default_factory=dict)
    calls: dict[str, int] = field(default_factory=dict)
    injected: list[tuple[str, int, int, str]] = field(default_factory=list)

    def attach(self, client: Any) -> FaultInjector:
        client.meta.events.register_first("before-send", self._before_send)
        return self

    def _before_send(self, request: Any = None, event_name: str = "", **_: Any) -> Any:
        from moto.core.models import botocore_stubber

        label, attempt = _label(event_name, request), _attempt(request)
        if attempt == 1:
            self.calls[label] = self.calls.get(label, 0) + 1
        call = self.calls.get(label, 1)
        kind = self.plan.get((label, call))
        if kind is None or (kind in ("lost", "conditional") and attempt > 1):
            return None
        self.injected.append((label, call, attempt, kind))
        service = label.split(".")[0]
        if kind == "throttled":
            code = (
                "ProvisionedThroughputExceededException" if service == "dynamodb" else "Throttling"
            )
            return _refused(request, _error_response(request, service, 400, code))
        if kind == "server_error":
            return _refused(request, _error_response(request, service, 500, "InternalFailure"))
        if kind == "conditional":
            code = "ConditionalCheckFailedException"
            return _refused(request, _error_response(request, service, 400, code))
        if kind == "lost":
            botocore_stubber(event_name=event_name, request=request)  # carried out by moto
        raise ReadTimeoutError(endpoint_url=request.url)
