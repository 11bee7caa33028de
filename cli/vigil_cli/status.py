"""``vigil status``: each check's confirmed state, from the table (read-only).

Beside each check: its availability over 24 h and 7 d and its 24 h latency p95,
computed by the status API's own code (``vigil.status.StatusQueries``). Works on
embedded AWS's table as ``vigil run`` left it, or with ``--aws`` on the deployed
stack's table, which it only reads (no ``--yes`` needed).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from vigil.config import load_config
from vigil.status import StatusQueries
from vigil.store.dynamodb import DynamoDBStore
from vigil_cli.backend import Backend, chosen_groups, on_backend
from vigil_cli.screen import Screen
from vigil_cli.views import STATUS_COLUMNS, latency, status_rows

LOOK_BACK_RUNS = 60  # run records searched for checks with an interval, not run every time
FIGURE_COLUMNS = ("avail 24h", "avail 7d", "p95 24h")


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}%"


def status(args: Any, screen: Screen) -> int:
    groups = chosen_groups(args, screen)
    if not groups:
        return 1

    def show(backend: Backend) -> int:
        store = DynamoDBStore(backend.aws.table_name)
        now = datetime.now(UTC)
        queries = StatusQueries(load_config(args.config), store)
        overview = {g.group: g for g in queries.overview().groups}
        for number, group in enumerate(groups):
            if number:
                screen.line()
            shards = range(group.shards)
            states = {s: store.load_state(group.name, s) for s in shards}
            latest = {s: store.recent_runs(group.name, s, limit=1) for s in shards}
            configured = {c.name for c in group.checks}
            for shard, records in latest.items():
                seen = {r.check for record in records for r in record.results}
                if configured - seen:  # checks with an interval: look further back
                    latest[shard] = store.recent_runs(group.name, shard, limit=LOOK_BACK_RUNS)
            pending = sum(len(state.outbox) for state in states.values())
            title = f"group {group.name}" + (
                f" · {pending} alert(s) pending delivery (the next run retries)" if pending else ""
            )
            rows = status_rows(screen, group, states, latest, now)
            summaries = {c.check: c for c in overview[group.name].checks}
            p95 = queries.latency_p95_24h(group.name)
            for row, check in zip(rows, group.checks, strict=True):
                availability = summaries[check.name].availability
                figures = [_percent(availability["24h"]), _percent(availability["7d"])]
                row[-1:-1] = [*figures, latency(p95[check.name])]  # before the reason
            columns = (*STATUS_COLUMNS[:-1], *FIGURE_COLUMNS, STATUS_COLUMNS[-1])
            screen.table(columns, rows, title=title)
        return 0

    return on_backend(args, screen, show)
