"""Which shard of a group runs a check (a group declares ``shards: K``)."""

from __future__ import annotations

import zlib


def shard_of(check_name: str, shards: int) -> int:
    """The shard owning a check: stable across config edits that add other checks."""
    return zlib.crc32(check_name.encode()) % shards if shards > 1 else 0
