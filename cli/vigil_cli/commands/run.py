"""``vigil run``: the real runner handler, cycle after cycle, locally or on AWS.

Each cycle invokes the handler as EventBridge Scheduler would, for every chosen
group (and each of its shards), with ``scheduled_time`` = now; then shows the
runs and the alerts delivered. Where it works (embedded AWS or ``--aws``) is
``vigil_cli.local.backend``'s business. ``--aws`` writes to the deployed table and
publishes to its topic, so it is refused without ``--yes``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import yaml

from vigil.config import GroupConfig
from vigil.store.dynamodb import DynamoDBStore
from vigil.times import iso
from vigil_cli.commands.interrupts import Interrupted, InterruptWatch
from vigil_cli.local.backend import Backend, chosen_groups, on_backend
from vigil_cli.local.harness import RunnerHarness, function_timeout
from vigil_cli.local.local_aws import LocalAws
from vigil_cli.local.template_file import load_template
from vigil_cli.screen import Screen, shown
from vigil_cli.screen.views import GroupRun, show_alert, show_runs

REFUSED = 2  # exit code of `vigil run --aws` without --yes


def next_scheduled_time(previous: datetime | None, now: datetime | None = None) -> datetime:
    """Now (UTC, whole seconds), but always after ``previous``: each cycle is a new run."""
    current = (now or datetime.now(UTC)).replace(microsecond=0)
    if previous is not None and current <= previous:
        current = previous + timedelta(seconds=1)
    return current


def run_group(
    harness: RunnerHarness, store: DynamoDBStore, group: GroupConfig, scheduled_time: str
) -> list[GroupRun]:
    """Invoke the handler for every shard of ``group``; read back each shard's state."""
    runs = []
    for shard in range(group.shards):
        event: dict[str, Any] = {"group": group.name, "scheduled_time": scheduled_time}
        if group.shards > 1:
            event["shard"] = shard
        invocation = harness.invoke(event)
        state = store.load_state(group.name, shard)
        runs.append(GroupRun(group, shard, invocation, state))
    return runs


def refuse_deployed_run(args: Any, screen: Screen) -> int:
    """Say what ``vigil run --aws`` would do to the deployed stack, and how to go ahead."""
    stack = f"stack {args.stack!r}" + (f" ({args.region})" if args.region else "")
    screen.problem("vigil run --aws: refused without --yes (nothing was read, written or run)")
    for text in (
        f"It would run the checks of {shown(args.config)} from this machine, with "
        f"scheduled_time = now, against {stack}:",
        "their results go to the deployed table and count toward the failure thresholds "
        "(checks of private VPC targets fail from here),",
        "and a confirmed change publishes a real alert to the stack's topic, which on-call "
        "receives.",
        "To look at the deployed state without changing it: vigil status --aws",
        "To go ahead anyway: add --yes",
    ):
        screen.line(f"  {text}")
    return REFUSED


def run(args: Any, screen: Screen) -> int:
    if args.aws and not args.yes:
        return refuse_deployed_run(args, screen)
    groups = chosen_groups(args, screen)
    if not groups:
        return 1
    try:
        template = load_template(args.template)
    except (OSError, yaml.YAMLError, ValueError) as exc:
        screen.problem(f"{shown(args.template)}: cannot read the template: {exc}")
        return 1
    harness = RunnerHarness(function_timeout(template))

    def cycles(backend: Backend) -> int:
        if not backend.local:
            screen.note(
                "checks run from this machine (private VPC targets may be unreachable); "
                "alerts go to the topic's subscribers; metrics are shown here, not sent "
                "(CloudWatch reads EMF from Lambda's logs)"
            )
        store = DynamoDBStore(backend.aws.table_name)
        failed = 0
        previous: datetime | None = None
        for cycle in range(args.cycles):
            if cycle:
                interrupts.pause(args.every)
            previous = next_scheduled_time(previous)
            scheduled = iso(previous)
            runs: list[GroupRun] = []
            for group in groups:
                interrupts.check()
                runs += run_group(harness, store, group, scheduled)
            show_runs(screen, f"run {cycle + 1}/{args.cycles} · scheduled_time {scheduled}", runs)
            failed += sum(1 for r in runs if not r.invocation.ok)
            show_delivered_alerts(screen, backend, runs)
        return 1 if failed else 0

    # Ctrl-C stops between runs, never inside one (see vigil_cli.commands.interrupts); the local
    # table is still saved.
    with InterruptWatch() as interrupts:
        try:
            return on_backend(args, screen, cycles, save=True)
        except Interrupted as interruption:
            screen.problem(f"interrupted ({interruption.name}) between runs")
            return interruption.exit_code


def show_delivered_alerts(screen: Screen, backend: Backend, runs: list[GroupRun]) -> None:
    if isinstance(backend.aws, LocalAws):
        for alert in backend.aws.drain_alerts():
            show_alert(screen, alert.document, alert.subject)
        return
    sent = sum(int(((r.invocation.summary or {}).get("alerts") or {}).get("sent", 0)) for r in runs)
    if sent:
        screen.line(
            f"  {sent} alert(s) published to {backend.aws.topic_arn}: "
            f"its subscribers (email, chat, webhook) receive them"
        )
