"""The run queue's sending: ten to a request, refused entries sent again, failures named."""

from __future__ import annotations

import json

import pytest

from vigil.dispatch import DispatchError, RunQueue
from vigil.retry import Backoff


class FlakySqs:
    """A stand-in for SQS's SendMessageBatch: refuses the entries it is told to, once or
    always, and records every request."""

    def __init__(self, refuse_once: set[str] = frozenset(), refuse: set[str] = frozenset()):
        self.requests: list[list[dict]] = []
        self.refuse_once, self.refuse = set(refuse_once), set(refuse)

    def send_message_batch(self, QueueUrl: str, Entries: list[dict]) -> dict:
        self.requests.append(Entries)
        failed = []
        for entry in Entries:
            group = json.loads(entry["MessageBody"])["group"]
            if group in self.refuse or group in self.refuse_once:
                self.refuse_once.discard(group)
                failed.append({"Id": entry["Id"], "Code": "InternalError", "SenderFault": False})
        return {"Successful": [], "Failed": failed}


def runs(n: int) -> list[tuple[dict, int]]:
    return [
        ({"group": f"g{i}", "scheduled_time": "2026-12-01T10:00:00Z"}, i % 60) for i in range(n)
    ]


def test_ten_to_a_request_with_each_delay():
    sqs = FlakySqs()
    RunQueue("https://queue", client=sqs).enqueue(runs(25))
    assert sorted(len(r) for r in sqs.requests) == [5, 10, 10]
    sent = {e["Id"]: e for request in sqs.requests for e in request}
    assert sent["7"]["DelaySeconds"] == 7 and json.loads(sent["7"]["MessageBody"])["group"] == "g7"


def test_refused_entries_are_sent_again_alone():
    sqs = FlakySqs(refuse_once={"g3"})
    RunQueue("https://queue", client=sqs).enqueue(runs(10))
    assert [len(r) for r in sqs.requests] == [10, 1]
    assert json.loads(sqs.requests[1][0]["MessageBody"])["group"] == "g3"


def test_what_still_fails_is_named_after_the_rest_was_sent(monkeypatch):
    monkeypatch.setattr("vigil.dispatch.BATCH_UNPROCESSED", Backoff(8, base_s=0, max_s=0))
    sqs = FlakySqs(refuse={"g12"})
    with pytest.raises(
        DispatchError, match=r"1 of 20 runs could not be queued: .*g12.*InternalError"
    ):
        RunQueue("https://queue", client=sqs).enqueue(runs(20))
    delivered = {json.loads(e["MessageBody"])["group"] for r in sqs.requests for e in r}
    assert delivered == {f"g{i}" for i in range(20)}


def test_no_queue_configured_is_a_clear_error(monkeypatch):
    monkeypatch.delenv("HEALTHCHECK_RUN_QUEUE_URL", raising=False)
    with pytest.raises(DispatchError, match="HEALTHCHECK_RUN_QUEUE_URL is not set"):
        RunQueue(client=FlakySqs()).enqueue(runs(1))
