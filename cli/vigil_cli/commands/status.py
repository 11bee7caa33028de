"""``vigil status``: each check's confirmed state, from the table (read-only).

Beside each check: its availability over 24 h and 7 d and its 24 h latency p95,
computed by the status API's own code (``vigil.status.StatusQueries``). Works on
embedded AWS's table as ``vigil run`` left it, or with ``--aws`` on the
deployed stack's table, which it only reads (no ``--yes`` needed).

Which groups it shows: those of ``--config`` when given; else, in local mode, those
of the configuration the last ``vigil run`` saved the local state with (so that
``vigil run --config other.yaml`` then ``vigil status`` shows other.yaml's checks);
else the runner's default configuration. It says which one and why, and says so
when a group has nothing recorded in the table.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from vigil.config import load_config
from vigil.status import StatusQueries
from vigil.store.dynamodb import DynamoDBStore
from vigil_cli.local.backend import Backend, chosen_groups, on_backend
from vigil_cli.local.local_aws import DEFAULT_CONFIG
from vigil_cli.local.local_state import LocalStateError, saved_config
from vigil_cli.screen import Screen, shown
from vigil_cli.screen.views import STATUS_COLUMNS, latency, status_rows

LOOK_BACK_RUNS = 60  # run records searched for checks with an interval, not run every time
FIGURE_COLUMNS = ("avail 24h", "avail 7d", "p95 24h")


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}%"


@dataclass(frozen=True)
class StatusConfig:
    """The configuration whose groups ``vigil status`` shows, and why that one."""

    path: Path
    why: str
    last_run: Path | None = None  # the configuration of the last local `vigil run`, if known


def status_config(args: Any) -> StatusConfig:
    """``--config``; else the last local ``vigil run``'s configuration; else the default.

    Raises ``LocalStateError`` when the local state file cannot be read.
    """
    last_run = None if args.aws else saved_config(args.local_state)
    if args.config is not None:
        return StatusConfig(args.config, "--config", last_run)
    if last_run is not None and last_run.exists():
        return StatusConfig(
            last_run, f"the configuration of the last `vigil run` on {shown(args.local_state)}"
        )
    if last_run is not None:
        return StatusConfig(
            DEFAULT_CONFIG,
            f"the default: the last `vigil run` on {shown(args.local_state)} used "
            f"{shown(last_run)}, which no longer exists",
            last_run,
        )
    return StatusConfig(DEFAULT_CONFIG, "the default")


def status(args: Any, screen: Screen) -> int:
    try:
        chosen = status_config(args)
    except LocalStateError as exc:
        screen.problem(f"{exc} (delete the file to start afresh)")
        return 1
    args.config = chosen.path
    groups = chosen_groups(args, screen)
    if not groups:
        return 1
    screen.note(f"showing the groups of {shown(chosen.path)} ({chosen.why})")

    def show(backend: Backend) -> int:
        store = DynamoDBStore(backend.aws.table_name)
        now = datetime.now(UTC)
        queries = StatusQueries(load_config(chosen.path), store)
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
            if not any(latest.values()) and not any(s.checks for s in states.values()):
                screen.note(f"  {_why_empty(group.name, backend, chosen)}")
        return 0

    return on_backend(args, screen, show)


def _why_empty(group: str, backend: Backend, chosen: StatusConfig) -> str:
    """Why group ``group`` has nothing in the table, and what to do."""
    if not backend.local:
        return (
            f"nothing recorded for group {group!r} in the deployed table: its schedule has "
            f"not run it yet, or the stack runs another configuration"
        )
    text = f"nothing recorded for group {group!r} in the local state: `vigil run` has not run it"
    if chosen.last_run is not None and chosen.last_run.resolve() != chosen.path.resolve():
        text += (
            f" (the last `vigil run` used {shown(chosen.last_run)}; "
            f"`vigil status --config {shown(chosen.last_run)}` shows its groups)"
        )
    else:
        text += f"; `vigil run --config {shown(chosen.path)}` runs it"
    return text
