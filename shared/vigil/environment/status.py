"""Build the status function's ``StatusQueries`` from the Lambda environment (a
deliberate warm-start cache).

Environment: ``HEALTHCHECK_TABLE`` (the runner's table) and ``HEALTHCHECK_CONFIG``
(the runner's configuration file, which says what exists). Nothing here imports a
check type or the runner: the status function's cold start never needs them.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vigil.config import VigilConfig, load_config, resolve_config_path
from vigil.exceptions import VigilError
from vigil.status.queries import StatusQueries
from vigil.store.dynamodb import DynamoDBStore

if TYPE_CHECKING:
    from vigil.store.pings import PingStore

TABLE_ENV = "HEALTHCHECK_TABLE"

# Warm-start cache: one StatusQueries per (config file, its mtime, table), so a warm
# Lambda container neither re-reads the config nor re-creates its DynamoDB client, and
# reads the closed rollups of a check's detail once (StatusQueries.closed_rollups).
_QUERIES_CACHE: dict[tuple[str, float, str], StatusQueries] = {}


def queries_from_environment(default_config: Path) -> StatusQueries:
    """``StatusQueries`` on ``HEALTHCHECK_TABLE`` and the runner's config file.

    The config is ``HEALTHCHECK_CONFIG`` (relative paths: to the working directory,
    else to ``default_config``'s folder) or ``default_config``: the same file the
    runner reads, since it says which groups and checks exist. Raises
    ``VigilError`` without a table and ``ConfigError`` (a ``VigilError``) for a
    bad config; the routes answer those with a 500 ``{"error": ...}``.
    """
    table = os.environ.get(TABLE_ENV)
    if not table:
        raise VigilError(f"environment variable {TABLE_ENV} is not set (see template.yaml)")
    path = resolve_config_path(default_config)
    try:
        mtime = path.stat().st_mtime
    except OSError:
        mtime = -1.0
    key = (str(path), mtime, table)
    cached = _QUERIES_CACHE.get(key)
    if cached is None:
        store = DynamoDBStore(table)
        config = load_config(path)
        cached = StatusQueries(config, store, pings=_pings(config, table, store.client))
        _QUERIES_CACHE.clear()
        _QUERIES_CACHE[key] = cached
    return cached


def _pings(config: VigilConfig, table: str, client: Any) -> PingStore | None:
    """The pings store when a group has heartbeat checks (None: the pings' modules are
    never imported by a status function whose config has none)."""
    if not any(c.type == "heartbeat" for g in config.groups.values() for c in g.checks):
        return None
    from vigil.store.pings import PingStore

    return PingStore(table, client=client)
