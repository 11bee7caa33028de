"""The run queue: every run a tick dispatches.

Each message's body is a runner event ``{"group", "scheduled_time"}`` and its
``DelaySeconds`` the time until that run: 0 for a run that is due, the seconds to
go for a sub-minute group's later runs (SQS keeps a message invisible until then,
to about a second). The runner consumes the queue (an SQS event source, one run per
invocation) and reports partial batch failures, so a failed run is delivered again
and its neighbours are not. Messages are sent ten to a request
(``SendMessageBatch``); entries SQS refuses are sent again with the one retry
policy, and what still fails raises ``DispatchError`` naming the runs. Batches go
out from a few threads at once.
"""

from __future__ import annotations

import json
import os
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from vigil.clients import LazyClient
from vigil.exceptions import VigilError
from vigil.retry import BATCH_UNPROCESSED

QUEUE_ENV = "HEALTHCHECK_RUN_QUEUE_URL"
BATCH = 10  # SendMessageBatch's limit
MAX_THREADS = 8  # batches sent at once: 100 groups' runs of a minute in about two round trips
MAX_DELAY_S = 900  # SQS's limit


class DispatchError(VigilError):
    """Some runs could not be dispatched (the message names them)."""


class RunQueue:
    """Sends delayed runs to the queue at ``url`` (default ``$HEALTHCHECK_RUN_QUEUE_URL``).
    The client is created on first use."""

    client = LazyClient("sqs", max_pool_connections=MAX_THREADS, retries={"mode": "standard"})

    def __init__(self, url: str | None = None, *, client: Any = None):
        self._url = url
        self.client = client

    @property
    def url(self) -> str:
        url = self._url or os.environ.get(QUEUE_ENV)
        if not url:
            raise DispatchError(f"cannot queue runs: {QUEUE_ENV} is not set (see template.yaml)")
        return url

    def enqueue(self, runs: list[tuple[dict[str, Any], int]]) -> None:
        """Queue each ``(event, delay seconds)``; raise ``DispatchError`` for what failed."""
        if not runs:
            return
        url, client = self.url, self.client  # made before the threads share them
        batches = [
            {
                str(index): {
                    "Id": str(index),
                    "MessageBody": json.dumps(event, separators=(",", ":")),
                    "DelaySeconds": max(0, min(MAX_DELAY_S, delay)),
                }
                for index, (event, delay) in enumerate(runs[start : start + BATCH], start)
            }
            for start in range(0, len(runs), BATCH)
        ]
        with ThreadPoolExecutor(max_workers=min(MAX_THREADS, len(batches))) as pool:
            failed = [
                f for found in pool.map(lambda b: _send(client, url, b), batches) for f in found
            ]
        if failed:
            raise DispatchError(
                f"{len(failed)} of {len(runs)} runs could not be queued: " + "; ".join(failed[:5])
            )


def _send(client: Any, url: str, entries: dict[str, dict[str, Any]]) -> list[str]:
    """Send one batch, again for the entries SQS refused; what still failed, described."""
    retry = 0
    while True:
        try:
            response = client.send_message_batch(QueueUrl=url, Entries=list(entries.values()))
        except Exception as exc:  # the whole request: every entry failed
            refused = {key: f"{type(exc).__name__}" for key in entries}
        else:
            refused = {f["Id"]: f.get("Code", "failed") for f in response.get("Failed", [])}
        entries = {key: entry for key, entry in entries.items() if key in refused}
        if not entries:
            return []
        retry += 1
        if not BATCH_UNPROCESSED.pause(retry):
            return [f"{entries[key]['MessageBody'][:120]}: {code}" for key, code in refused.items()]
