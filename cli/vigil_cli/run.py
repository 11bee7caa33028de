"""``vigil run`` and ``vigil status``: the real handler and the table, locally or on AWS.

Local mode (the default) uses embedded AWS (``LocalAws``: moto, with the table and
topic made from template.yaml). Its table is kept between commands in a JSON file
(``vigil_cli.local_state``), restored when a command starts and, after ``run``,
saved when it ends. ``--aws`` uses a deployed stack instead (``DeployedAws``) and
creates nothing.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

from vigil.config import GroupConfig, VigilConfig, load_config
from vigil.exceptions import ConfigError
from vigil.store.dynamodb import DynamoDBStore
from vigil_cli.deployed import DeployedAws, DeployedStackError
from vigil_cli.harness import RunnerHarness, function_timeout
from vigil_cli.local_aws import REGION, LocalAws
from vigil_cli.local_state import LocalStateError, load_table, save_table
from vigil_cli.screen import Screen
from vigil_cli.template import load_template
from vigil_cli.validate import shown
from vigil_cli.views import STATUS_COLUMNS, GroupRun, show_alert, show_runs, status_rows


@dataclass
class Target:
    """Where a command works: embedded or deployed AWS, with its table and topic."""

    aws: LocalAws | DeployedAws
    description: str

    @property
    def local(self) -> bool:
        return isinstance(self.aws, LocalAws)


def iso_seconds(moment: datetime) -> str:
    return moment.astimezone(UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def next_scheduled_time(previous: datetime | None, now: datetime | None = None) -> datetime:
    """Now (UTC, whole seconds), but always after ``previous``: each cycle is a new run."""
    current = (now or datetime.now(UTC)).replace(microsecond=0)
    if previous is not None and current <= previous:
        current = previous + timedelta(seconds=1)
    return current


def load_config_or_report(path: Path, screen: Screen) -> VigilConfig | None:
    try:
        return load_config(path)
    except ConfigError as exc:
        screen.problem(f"{shown(path)}: invalid configuration (run `vigil validate`)")
        for key_path, message in exc.problems:
            screen.line(f"  {key_path}: {message}")
        return None


def chosen_groups(config: VigilConfig, group: str | None, screen: Screen) -> list[GroupConfig]:
    if group is None:
        return list(config.groups.values())
    if group not in config.groups:
        screen.problem(
            f"unknown group {group!r}; {shown(Path(config.source))} defines: "
            f"{', '.join(config.groups)}"
        )
        return []
    return [config.groups[group]]


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


@contextlib.contextmanager
def open_target(
    *,
    aws: bool,
    stack: str,
    region: str | None,
    template: Path,
    config: Path,
    local_state: Path,
    save: bool,
    screen: Screen,
) -> Iterator[Target]:
    """Embedded AWS with the local table restored (and saved afterwards), or the stack."""
    if aws:
        with DeployedAws(stack, template, config=config, region=region) as deployed:
            yield Target(
                deployed,
                f"AWS stack {stack} ({deployed.region}) · table {deployed.table_name}",
            )
        return
    with LocalAws(template, config=config) as local:
        import boto3

        client = boto3.client("dynamodb", region_name=REGION)
        restored = load_table(client, local.table_name, local_state)
        kept = f"{restored} items restored from" if restored else "no saved state yet in"
        try:
            yield Target(
                local,
                f"embedded AWS (moto) · table {local.table_name} · {kept} {shown(local_state)}",
            )
        finally:
            if save:
                count = save_table(client, local.table_name, local_state)
                screen.note(
                    f"saved {count} table items to {shown(local_state)}; "
                    f"`vigil status` shows the state"
                )


def run(args: Any, screen: Screen) -> int:
    config = load_config_or_report(args.config, screen)
    if config is None:
        return 1
    groups = chosen_groups(config, args.group, screen)
    if not groups:
        return 1
    try:
        template = load_template(args.template)
    except (OSError, yaml.YAMLError, ValueError) as exc:
        screen.problem(f"{shown(args.template)}: cannot read the template: {exc}")
        return 1
    failed = 0
    try:
        with open_target(
            aws=args.aws,
            stack=args.stack,
            region=args.region,
            template=args.template,
            config=args.config,
            local_state=args.local_state,
            save=True,
            screen=screen,
        ) as target:
            screen.note(target.description)
            if not target.local:
                screen.note(
                    "checks run from this machine (private VPC targets may be unreachable); "
                    "alerts go to the topic's subscribers; metrics are shown here, not sent "
                    "(CloudWatch reads EMF from Lambda's logs)"
                )
            harness = RunnerHarness(function_timeout(template))
            store = DynamoDBStore(target.aws.table_name)
            previous: datetime | None = None
            for cycle in range(args.cycles):
                if cycle:
                    time.sleep(args.every)
                previous = next_scheduled_time(previous)
                scheduled = iso_seconds(previous)
                runs = [r for group in groups for r in run_group(harness, store, group, scheduled)]
                title = f"run {cycle + 1}/{args.cycles} · scheduled_time {scheduled}"
                show_runs(screen, title, runs)
                failed += sum(1 for r in runs if not r.invocation.ok)
                show_delivered_alerts(screen, target, runs)
    except DeployedStackError as exc:
        screen.problem(f"--aws: {exc}")
        return 1
    except LocalStateError as exc:
        screen.problem(f"{exc} (delete the file to start afresh)")
        return 1
    except KeyboardInterrupt:
        screen.problem("interrupted")
        return 130
    return 1 if failed else 0


def show_delivered_alerts(screen: Screen, target: Target, runs: list[GroupRun]) -> None:
    if isinstance(target.aws, LocalAws):
        for alert in target.aws.drain_alerts():
            show_alert(screen, alert.document, alert.subject)
        return
    sent = sum(int(((r.invocation.summary or {}).get("alerts") or {}).get("sent", 0)) for r in runs)
    if sent:
        screen.line(
            f"  {sent} alert(s) published to {target.aws.topic_arn}: "
            f"its subscribers (email, chat, webhook) receive them"
        )


def status(args: Any, screen: Screen) -> int:
    config = load_config_or_report(args.config, screen)
    if config is None:
        return 1
    groups = chosen_groups(config, args.group, screen)
    if not groups:
        return 1
    try:
        with open_target(
            aws=args.aws,
            stack=args.stack,
            region=args.region,
            template=args.template,
            config=args.config,
            local_state=args.local_state,
            save=False,
            screen=screen,
        ) as target:
            screen.note(target.description)
            store = DynamoDBStore(target.aws.table_name)
            now = datetime.now(UTC)
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
                        latest[shard] = store.recent_runs(group.name, shard, limit=60)
                pending = sum(len(state.outbox) for state in states.values())
                title = f"group {group.name}" + (
                    f" · {pending} alert(s) pending delivery (the next run retries)"
                    if pending
                    else ""
                )
                screen.table(
                    STATUS_COLUMNS, status_rows(screen, group, states, latest, now), title=title
                )
    except DeployedStackError as exc:
        screen.problem(f"--aws: {exc}")
        return 1
    except LocalStateError as exc:
        screen.problem(f"{exc} (delete the file to start afresh)")
        return 1
    return 0
