"""Embedded AWS's table, kept in a file between ``vigil`` commands (local mode only).

moto lives in the memory of one process. ``vigil run`` saves the table's items to
a JSON file when it ends, and ``vigil run`` and ``vigil status`` load them when they
start, so the state of the checks carries over from one command to the next
without an AWS account. Binary attributes are stored as base64. The file also
names the check configuration of the ``vigil run`` that saved it, so that
``vigil status`` shows that configuration's groups (``saved_config``).
"""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path
from typing import Any

from vigil_cli.local.local_aws import REPO, scan_items

FORMAT_VERSION = 1
DEFAULT_PATH = REPO / ".vigil" / "local-table.json"


class LocalStateError(Exception):
    """The local state file cannot be read or does not fit the table."""


def encode_value(value: dict[str, Any]) -> dict[str, Any]:
    """A low-level DynamoDB attribute value as JSON-safe data."""
    ((kind, inner),) = value.items()
    if kind == "B":
        return {"B": base64.b64encode(inner).decode()}
    if kind == "BS":
        return {"BS": [base64.b64encode(b).decode() for b in inner]}
    if kind == "L":
        return {"L": [encode_value(v) for v in inner]}
    if kind == "M":
        return {"M": {k: encode_value(v) for k, v in inner.items()}}
    return {kind: inner}


def decode_value(value: dict[str, Any]) -> dict[str, Any]:
    """The inverse of ``encode_value``."""
    ((kind, inner),) = value.items()
    if kind == "B":
        return {"B": base64.b64decode(inner)}
    if kind == "BS":
        return {"BS": [base64.b64decode(b) for b in inner]}
    if kind == "L":
        return {"L": [decode_value(v) for v in inner]}
    if kind == "M":
        return {"M": {k: decode_value(v) for k, v in inner.items()}}
    return {kind: inner}


def save_table(client: Any, table: str, path: Path, *, config: Path | None = None) -> int:
    """Write every item of ``table`` to ``path`` (atomically); return how many.

    ``config``: the check configuration the items were written with (kept as an
    absolute path, for ``saved_config``).
    """
    items = scan_items(client, table)
    document = {
        "format": FORMAT_VERSION,
        "about": "vigil local mode: the embedded DynamoDB table, kept between commands",
        "table": table,
        "config": str(config.resolve()) if config is not None else None,
        "items": [{k: encode_value(v) for k, v in item.items()} for item in items],
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps(document, separators=(",", ":")), encoding="utf-8")
    os.replace(partial, path)
    return len(items)


def saved_config(path: Path) -> Path | None:
    """The configuration of the ``vigil run`` that saved ``path``; None without a file or name.

    Raises ``LocalStateError`` when the file is unreadable.
    """
    if not path.exists():
        return None
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        config = document.get("config")
    except (OSError, ValueError, AttributeError) as exc:
        raise LocalStateError(f"cannot read {path}: {exc}") from None
    return Path(config) if isinstance(config, str) and config else None


def load_table(client: Any, table: str, path: Path) -> int:
    """Put the items saved in ``path`` into ``table``; return how many (0 without a file).

    Raises ``LocalStateError`` when the file is unreadable or its items do not fit.
    """
    if not path.exists():
        return 0
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        if document.get("format") != FORMAT_VERSION:
            raise ValueError(f"unknown format {document.get('format')!r}")
        items = [{k: decode_value(v) for k, v in item.items()} for item in document["items"]]
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise LocalStateError(f"cannot read {path}: {exc}") from None
    from botocore.exceptions import ClientError

    try:
        for start in range(0, len(items), 25):
            pending: dict[str, Any] = {
                table: [{"PutRequest": {"Item": item}} for item in items[start : start + 25]]
            }
            while pending:
                pending = client.batch_write_item(RequestItems=pending).get("UnprocessedItems")
    except ClientError as exc:
        raise LocalStateError(f"the items in {path} do not fit the table: {exc}") from None
    return len(items)
