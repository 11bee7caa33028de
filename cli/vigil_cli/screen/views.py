"""How runs, states, alerts and metrics look on screen (`run`, `status`, `demo`)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from rich.text import Text

from vigil.alerts.document import AlertDocument
from vigil.alerts.message import email_body, email_subject
from vigil.config import GroupConfig
from vigil.durations import format_duration
from vigil.results import UNKNOWN
from vigil.state import CheckState
from vigil.store.base import GroupState, RunRecord
from vigil_cli.local.harness import Invocation
from vigil_cli.screen.emf import MetricPoint, all_points, by_check, by_group, compact
from vigil_cli.screen.output import EVENT_STYLES, Screen

REASON_WIDTH = 64


@dataclass
class GroupRun:
    """One invocation of the handler for a group (shard), and the state it left."""

    group: GroupConfig
    shard: int
    invocation: Invocation
    state: GroupState | None  # confirmed state read back from the store after the call

    @property
    def name(self) -> str:
        return self.group.name if self.group.shards == 1 else f"{self.group.name}#{self.shard}"

    @property
    def results(self) -> list[dict[str, Any]]:
        summary = self.invocation.summary or {}
        return list(summary.get("results") or [])

    @property
    def transitions(self) -> list[dict[str, Any]]:
        summary = self.invocation.summary or {}
        return list(summary.get("transitions") or [])

    @property
    def alerted(self) -> list[dict[str, Any]]:
        """The alerts this run's policy raised (``event``, ``check``, ``severity``, ...)."""
        summary = self.invocation.summary or {}
        return list(summary.get("alerted") or [])

    @property
    def duplicate(self) -> bool:
        return bool((self.invocation.summary or {}).get("duplicate"))

    @property
    def metric_points(self) -> list[MetricPoint]:
        return all_points(self.invocation.metrics)


# --------------------------------------------------------------------------- small formats


def latency(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.1f} ms" if value < 10 else f"{value:.0f} ms"


def clock(iso_time: str | None) -> str:
    """``2026-11-28T10:03:00Z`` -> ``10:03:00Z`` (the date is rarely news on screen)."""
    if not iso_time:
        return "-"
    return iso_time[11:] if len(iso_time) > 11 else iso_time


def ago(iso_time: str | None, now: datetime | None = None) -> str:
    """``2026-11-28T10:03:00Z`` -> ``10:03:00Z, 5m ago`` (the date only when not today)."""
    if not iso_time:
        return "-"
    try:
        moment = datetime.fromisoformat(iso_time.replace("Z", "+00:00"))
    except ValueError:
        return iso_time
    now = now or datetime.now(UTC)
    seconds = (now - moment).total_seconds()
    if seconds < 0:
        relative = "ahead"
    elif seconds < 90:
        relative = f"{seconds:.0f}s ago"
    elif seconds < 5400:
        relative = f"{seconds / 60:.0f}m ago"
    elif seconds < 172800:
        relative = f"{seconds / 3600:.0f}h ago"
    else:
        relative = f"{seconds / 86400:.0f}d ago"
    shown = clock(iso_time) if iso_time[:10] == now.strftime("%Y-%m-%d") else iso_time[:10]
    return f"{shown}, {relative}"


def shorten(text: str, width: int = REASON_WIDTH) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."


def confirmed_cell(
    screen: Screen, state: CheckState | None, group: GroupConfig, check: str
) -> Text:
    """The confirmed status, with any streak under way (``healthy · unhealthy 1/2``)."""
    if state is None:
        return screen.status(UNKNOWN)
    text = screen.status(state.status)
    if state.streak_status and state.streak:
        config = group.check(check)
        needed = (
            config.success_threshold
            if state.streak_status == "healthy"
            else config.failure_threshold
        )
        text.append(f" · {state.streak_status} {state.streak}/{needed}", style="dim")
    return text


# --------------------------------------------------------------------------- runs


def run_rows(screen: Screen, run: GroupRun) -> list[list[Any]]:
    """Rows (group, check, observed, latency, confirmed, reason) of one run."""
    states = run.state.checks if run.state else {}
    rows: list[list[Any]] = []
    seen = set()
    for result in run.results:
        name = result["check"]
        seen.add(name)
        observed = screen.status(result["status"])
        reason = result.get("reason") or ""
        if result.get("counted") is False:
            reason = f"(not counted) {reason}"
        rows.append(
            [
                run.name,
                name,
                observed,
                latency(result.get("latency_ms")),
                confirmed_cell(screen, states.get(name), run.group, name),
                shorten(reason),
            ]
        )
    for check in run.group.checks:
        if check.name in seen or check.name not in (run.invocation.summary or {}).get(
            "not_due", []
        ):
            continue
        every = format_duration(check.interval) if check.interval else "?"
        rows.append(
            [
                run.name,
                check.name,
                Text("not due", style="dim"),
                "-",
                confirmed_cell(screen, states.get(check.name), run.group, check.name),
                f"interval {every}: ran less than {every} ago",
            ]
        )
    return rows


RUN_COLUMNS = ("group", "check", "observed", "latency", "confirmed", "reason")


def show_runs(screen: Screen, title: str, runs: list[GroupRun]) -> None:
    """The table of one cycle, then per group: errors, repeats, transitions, group metrics."""
    rows = [row for run in runs if run.invocation.ok for row in run_rows(screen, run)]
    if rows:
        screen.table(RUN_COLUMNS, rows, title=title)
    elif title:
        screen.line(title, "bold")
    for run in runs:
        invocation = run.invocation
        if invocation.error is not None:
            error = invocation.error
            screen.problem(f"  {run.name}: the runner failed: {type(error).__name__}: {error}")
            continue
        if run.duplicate:
            key = (invocation.summary or {}).get("scheduled_time")
            screen.line(
                f"  {run.name}: run {key} was already recorded (a repeated delivery): "
                f"nothing counted twice, no alert",
                "cyan",
            )
        alerted = {(a["check"], a["event"]) for a in run.alerted}
        for transition in run.transitions:
            show_transition(screen, run.group.name, transition, alerted)
        confirmed = {(t["check"], t["event"]) for t in run.transitions}
        for alert in run.alerted:
            if (alert["check"], alert["event"]) not in confirmed:
                show_policy_alert(screen, run.group.name, alert)
        for line in [] if run.duplicate else invocation.log_lines():
            screen.note(f"  log {run.name}: {shorten(line, 160)}")
    show_group_metrics(screen, runs)


def show_transition(
    screen: Screen, group: str, transition: dict[str, Any], alerted: set[tuple[str, str]]
) -> None:
    """A confirmed change, and whether the alert policy sent its alert."""
    event = str(transition.get("event"))
    text = Text("  transition ", style="bold")
    text.append(f"{group}/{transition['check']}: ")
    text.append_text(screen.status(str(transition.get("previous_status"))))
    text.append(" -> ")
    text.append_text(screen.status(str(transition.get("status"))))
    if (transition["check"], event) in alerted:
        text.append(f"  ({event} alert)", style=EVENT_STYLES.get(event, ""))
    else:
        text.append("  (no alert: held by a dependency, in maintenance, or nothing new)", "dim")
    screen.line(text)


def show_policy_alert(screen: Screen, group: str, alert: dict[str, Any]) -> None:
    """An alert of the policy that is not a transition's (reminder, error rate, a held or
    after-maintenance alert)."""
    event = str(alert.get("event"))
    text = Text("  alert ", style="bold")
    text.append(f"{group}/{alert['check']}: ")
    text.append(f"{event} ({alert.get('severity')})", style=EVENT_STYLES.get(event, ""))
    text.append_text(Text("  status ").append_text(screen.status(str(alert.get("status")))))
    screen.line(text)


def show_group_metrics(screen: Screen, runs: list[GroupRun]) -> None:
    """One compact line per group: what CloudWatch records from the run's EMF documents."""
    for run in runs:
        points = run.metric_points
        if not points:
            continue
        namespace = next((p.namespace for p in points if p.namespace), "Vigil")
        parts = [compact(group_points) for group_points in by_group(points).values()]
        checks = [
            f"{check} {compact(check_points)}"
            for (_, check), check_points in by_check(points).items()
        ]
        if checks:
            parts.append("per check: " + ", ".join(checks))
        screen.note(f"  metrics {namespace} {run.name}: " + " · ".join(parts))


# --------------------------------------------------------------------------- alerts


def show_alert(screen: Screen, document: dict[str, Any], subject: str | None = None) -> None:
    """One alert as an email subscriber reads it and as chat/webhook subscribers get it."""
    event = str(document.get("event", ""))
    style = EVENT_STYLES.get(event, "bold")
    alert = AlertDocument.from_dict(document)
    subject = subject or email_subject(alert)
    screen.block(f"ALERT · email · subject: {subject}", email_body(alert), style=style)
    screen.line("  chat / webhook JSON (the SNS default message):", "dim")
    screen.line("  " + json.dumps(document, sort_keys=True))


# --------------------------------------------------------------------------- status

STATUS_COLUMNS = ("check", "confirmed", "since", "last run", "latency", "reason")


def status_rows(
    screen: Screen,
    group: GroupConfig,
    shard_states: dict[int, GroupState],
    shard_runs: dict[int, list[RunRecord]],
    now: datetime | None = None,
) -> list[list[Any]]:
    """One row per configured check: its confirmed state and its latest observation.

    An observation that differs from the confirmed status shows as a streak in the
    ``confirmed`` cell (``healthy · unhealthy 1/2``).
    """
    rows: list[list[Any]] = []
    states: dict[str, CheckState] = {}
    for state in shard_states.values():
        states.update(state.checks)
    latest: dict[str, tuple[str, Any]] = {}
    for records in shard_runs.values():
        for record in records:  # newest first
            for result in record.results:
                latest.setdefault(result.check, (record.run_key, result))
    for check in group.checks:
        state = states.get(check.name)
        run_key, result = latest.get(check.name, (None, None))
        reason = ""
        if result is not None:
            reason = result.reason if result.observed else f"(not counted) {result.reason}"
        rows.append(
            [
                check.name,
                confirmed_cell(screen, state, group, check.name),
                ago(state.since if state else None, now),
                ago(run_key, now) if run_key else "never",
                latency(result.latency_ms) if result is not None else "-",
                shorten(reason),
            ]
        )
    return rows
