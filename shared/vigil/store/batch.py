"""DynamoDB ``BatchGetItem``: any number of keys, 100 to a request, and what DynamoDB
left unprocessed (throttled) sent again as ``vigil.retry.BATCH_UNPROCESSED`` says.

The standard library and ``vigil.retry`` only: the ping function's store uses it too.
"""

from __future__ import annotations

from typing import Any

from vigil.retry import BATCH_UNPROCESSED

MAX_KEYS = 100  # DynamoDB's limit per BatchGetItem request


def batch_get(
    client: Any,
    table: str,
    keys: list[dict[str, Any]],
    *,
    projection: str | None = None,
    consistent: bool = False,
) -> dict[tuple[str, str], dict[str, Any]]:
    """The items of ``keys`` (``pk``/``sk``) found in ``table``, by ``(pk, sk)``;
    ``projection``: only those attributes (it saves bytes on the wire, not read units:
    DynamoDB bills the whole item). ``RuntimeError`` when keys stay unprocessed."""
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for start in range(0, len(keys), MAX_KEYS):
        read: dict[str, Any] = {"Keys": keys[start : start + MAX_KEYS]}
        if consistent:
            read["ConsistentRead"] = True
        if projection:
            read["ProjectionExpression"] = projection
        request = {table: read}
        retry = 0
        while request:
            response = client.batch_get_item(RequestItems=request)
            for item in response.get("Responses", {}).get(table, []):
                found[(item["pk"]["S"], item["sk"]["S"])] = item
            request = response.get("UnprocessedKeys") or {}
            retry += 1
            if request and not BATCH_UNPROCESSED.pause(retry):
                raise RuntimeError(f"DynamoDB left {len(request[table]['Keys'])} keys unread")
    return found
