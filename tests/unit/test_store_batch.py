"""``vigil.store.batch.batch_get``: 100 keys a request, unprocessed keys sent again.

DynamoDB itself is the fake here (moto never leaves keys unprocessed): a client that
answers ``BatchGetItem`` from a dict and, as throttled DynamoDB does, leaves some keys
for a later request.
"""

from __future__ import annotations

from typing import Any

import pytest

from vigil.retry import Backoff
from vigil.store.batch import batch_get


def key(i: int) -> dict[str, Any]:
    return {"pk": {"S": f"p{i}"}, "sk": {"S": "s"}}


class Throttled:
    """Answers with every item asked for but the last ``leave`` keys, ``times`` times."""

    def __init__(self, leave: int, times: int):
        self.leave, self.times, self.requests = leave, times, []

    def batch_get_item(self, RequestItems: dict[str, Any]) -> dict[str, Any]:
        ((table, read),) = RequestItems.items()
        self.requests.append(read)
        keys = read["Keys"]
        left = keys[len(keys) - self.leave :] if self.times and self.leave else []
        self.times -= 1 if left else 0
        answered = [k for k in keys if k not in left]
        response: dict[str, Any] = {
            "Responses": {table: [{**k, "v": {"S": "x"}} for k in answered]}
        }
        if left:
            response["UnprocessedKeys"] = {table: {**read, "Keys": left}}
        return response


@pytest.fixture(autouse=True)
def no_waiting(monkeypatch):
    monkeypatch.setattr("vigil.store.batch.BATCH_UNPROCESSED", Backoff(3, base_s=0, max_s=0))


def test_keys_go_100_to_a_request_and_the_unprocessed_are_sent_again():
    client = Throttled(leave=5, times=2)
    found = batch_get(client, "t", [key(i) for i in range(250)], consistent=True, projection="pk")
    assert sorted(found) == sorted((f"p{i}", "s") for i in range(250))
    sizes = [len(r["Keys"]) for r in client.requests]
    assert sizes == [100, 5, 5, 100, 50]  # the first request's last 5 left twice
    assert all(r["ConsistentRead"] and r["ProjectionExpression"] == "pk" for r in client.requests)


def test_keys_left_unprocessed_past_the_retries_are_an_error_not_a_silent_gap():
    with pytest.raises(RuntimeError, match="DynamoDB left 5 keys unread"):
        batch_get(Throttled(leave=5, times=99), "t", [key(i) for i in range(10)])
