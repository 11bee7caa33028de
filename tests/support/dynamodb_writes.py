"""Count DynamoDB write requests and the write units they are billed, from botocore events.

``WriteCounter.attach(client)`` registers on the client's ``before-parameter-build`` events,
so the store under test carries no accounting of its own. Billing follows
DynamoDB's rules: an item's size is its attribute names plus values; a write
costs one unit per started KB; a put that replaces an item is billed on the
larger of the old and the new item; a batch costs the sum of its items; a
conditional write that fails still costs its units.
"""

from __future__ import annotations

import json
import math
from typing import Any

WRITE_OPERATIONS = ("PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems")


def item_size(item: dict[str, Any]) -> int:
    """Bytes DynamoDB bills for an item in low-level form (names + values)."""
    return sum(len(name.encode()) + _value_size(value) for name, value in item.items())


def _value_size(value: dict[str, Any]) -> int:
    ((kind, inner),) = value.items()
    if kind == "S":
        return len(inner.encode())
    if kind == "B":
        return len(inner)
    if kind == "N":
        digits = len(inner.lstrip("-").replace(".", "").lstrip("0")) or 1
        return math.ceil(digits / 2) + 1
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "L":
        return 3 + sum(1 + _value_size(v) for v in inner)
    if kind == "M":
        return 3 + sum(1 + len(k.encode()) + _value_size(v) for k, v in inner.items())
    return len(json.dumps(inner))


def write_units(size: int) -> int:
    return max(1, math.ceil(size / 1024))


class WriteCounter:
    """Write requests and units seen on the attached clients since the last ``reset``."""

    def __init__(self) -> None:
        self.requests = 0
        self.units = 0
        self.operations: list[str] = []
        self._sizes: dict[tuple[str, str], int] = {}  # last size written per (pk, sk)

    def attach(self, client: Any) -> WriteCounter:
        for operation in WRITE_OPERATIONS:
            client.meta.events.register(f"before-parameter-build.dynamodb.{operation}", self._count)
        return self

    def reset(self) -> None:
        self.requests = 0
        self.units = 0
        self.operations = []

    def _count(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        self.requests += 1
        self.operations.append(model.name)
        if model.name == "PutItem":
            self.units += self._put(params["Item"])
        elif model.name == "BatchWriteItem":
            for requests in params["RequestItems"].values():
                for request in requests:
                    if "PutRequest" in request:
                        self.units += self._put(request["PutRequest"]["Item"])
                    else:
                        self.units += 1
        else:
            self.units += 1

    def _put(self, item: dict[str, Any]) -> int:
        key = (item["pk"]["S"], item["sk"]["S"])
        size = item_size(item)
        billed = max(size, self._sizes.get(key, 0))
        self._sizes[key] = size
        return write_units(billed)
