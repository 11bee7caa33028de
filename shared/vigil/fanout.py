"""Fan-out of a sharded group: one asynchronous Lambda invocation per shard.

A run event without ``"shard"`` for a group with ``shards: K`` (K > 1) becomes K
events ``{"group", "scheduled_time", "shard": i}``, each sent with an
asynchronous ``Invoke`` (``InvocationType="Event"``) to this same function
(``AWS_LAMBDA_FUNCTION_NAME``, which Lambda sets). Each shard runs its own slice
of the checks (``runner.shard_of``) against its own state partition, so K shards
run K times as many checks in the time of one.

Repeated deliveries are harmless: every shard event carries the same
``scheduled_time``, and each shard's state (its fence) refuses to count it twice.
If some invocations fail, the others are still sent and ``FanOutError`` names the
failed shards, so the retry of the run re-sends all of them and the shards that
already ran are fenced by their state.

Limits (AWS): an asynchronous invocation's payload may be 256 KB (ours is under
200 bytes); each shard uses one concurrent execution of the function (the
account's regional concurrency, 1,000 by default and less on new accounts, is
shared with every other function; reserved concurrency on the runner caps it);
Lambda queues asynchronous events and retries a failed shard run (template.yaml's
``EventInvokeConfig``: once, and never when older than 60 s); the configuration
allows at most 100 shards per group.
"""

from __future__ import annotations

import json
import os
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from vigil.clients import LazyClient
from vigil.exceptions import VigilError

FUNCTION_NAME_ENV = "AWS_LAMBDA_FUNCTION_NAME"
MAX_THREADS = 16  # invocations sent at once; 100 shards take ~7 round trips


class FanOutError(VigilError):
    """Some shard invocations could not be sent (the message names them)."""


class LambdaFanOut:
    """Sends shard events to this function asynchronously. The client is created on first use."""

    client = LazyClient(
        "lambda",
        retries={"mode": "standard", "max_attempts": 4},
        connect_timeout=3,
        read_timeout=10,
        max_pool_connections=MAX_THREADS,
    )

    def __init__(self, function_name: str | None = None, *, client: Any = None):
        self._function_name = function_name
        self.client = client

    @property
    def function_name(self) -> str:
        name = self._function_name or os.environ.get(FUNCTION_NAME_ENV)
        if not name:
            raise FanOutError(
                f"cannot fan out: {FUNCTION_NAME_ENV} is not set (outside Lambda, "
                'invoke each shard with {"group": ..., "shard": i} instead)'
            )
        return name

    def invoke(self, events: list[dict[str, Any]]) -> None:
        """Invoke the function once per event; raise ``FanOutError`` if any could not be sent."""
        name, client = self.function_name, self.client  # created before the threads share them

        def send(event: dict[str, Any]) -> str | None:
            try:
                response = client.invoke(
                    FunctionName=name,
                    InvocationType="Event",
                    Payload=json.dumps(event, separators=(",", ":")).encode(),
                )
            except Exception as exc:  # botocore errors of every kind: report per shard
                return f"{_named(event)}: {type(exc).__name__}: {exc}"[:300]
            status = response.get("StatusCode")
            return None if status == 202 else f"{_named(event)}: status {status}"

        with ThreadPoolExecutor(max_workers=max(1, min(MAX_THREADS, len(events)))) as pool:
            failures = [f for f in pool.map(send, events) if f is not None]
        if failures:
            raise FanOutError(
                f"{len(failures)} of {len(events)} invocations failed: " + "; ".join(failures[:5])
            )


def _named(event: dict[str, Any]) -> str:
    """``core@2026-11-28T10:00:00Z`` (``#2`` for a shard): which run an error is about."""
    shard = event.get("shard")
    return f"{event.get('group')}@{event.get('scheduled_time')}" + (
        f"#{shard}" if shard is not None else ""
    )
