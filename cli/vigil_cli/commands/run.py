"""``vigil run``: the real runner handler, driven as AWS drives it, locally or on AWS.

Locally (embedded AWS), each cycle is one tick, as EventBridge Scheduler sends it
once a minute: the first for the current minute (sent at once, so the runs of that
minute already past go out together), each next one for the next minute, sent when
that minute begins. The handler puts the minute's runs on the real run queue (those
due with no delay, a sub-minute group's later ones delayed until their time), and
``vigil_cli.local.event_sources`` delivers each to the handler when it is due, in
real time, as the queue's event source does. Every run is shown as it lands, with
the alerts delivered.

With ``--aws`` the deployed stack keeps its own schedule (its tick), so a tick
from here would dispatch the same runs twice: each cycle instead invokes the
handler on this machine once per chosen group (and shard), with ``scheduled_time``
= now, as any other schedule may, ``--every`` apart. It writes to the deployed
table and publishes to its topic, so it is refused without ``--yes``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import yaml

from vigil.config import GroupConfig
from vigil.run.watch import WATCH_GROUP
from vigil.store.dynamodb import DynamoDBStore
from vigil.times import iso, parse_time
from vigil_cli.commands.interrupts import Interrupted, InterruptWatch
from vigil_cli.commands.ping_url import local_ping_door
from vigil_cli.commands.ticks import minute_plan, missing_line, show_landing, show_tick
from vigil_cli.local.backend import Backend, chosen_groups, on_backend
from vigil_cli.local.event_sources import TICK, LocalEventSources, minute_of
from vigil_cli.local.harness import RunnerHarness, function_timeout
from vigil_cli.local.local_aws import REGION, LocalAws
from vigil_cli.local.template_file import load_template
from vigil_cli.screen import Screen, shown
from vigil_cli.screen.views import GroupRun, clock, show_alert, show_runs

REFUSED = 2  # exit code of `vigil run --aws` without --yes
DEFAULT_AWS_EVERY = 5.0  # seconds between the cycles of `vigil run --aws`
MINUTE = timedelta(minutes=1)


def next_tick(
    previous: datetime | None, now: datetime, last_ticked: datetime | None = None
) -> datetime:
    """The minute of the next tick: the minute after ``previous`` (the last one sent here)
    or after ``last_ticked`` (the newest one the table's watch has judged), but never a
    minute already past: after a long wait, the current one."""
    following = [moment + MINUTE for moment in (previous, last_ticked) if moment is not None]
    return max([minute_of(now), *following])


def last_ticked(store: DynamoDBStore) -> datetime | None:
    """The newest tick the watch has judged in this table (an earlier `vigil run`'s)."""
    key = store.load_state(WATCH_GROUP, 0).last_run_key
    return parse_time(key) if key else None


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
        if isinstance(backend.aws, LocalAws):
            return play_ticks(args, screen, backend.aws, harness, groups, interrupts)
        return run_deployed(args, screen, backend, harness, groups, interrupts)

    # Ctrl-C stops between runs, never inside one (see vigil_cli.commands.interrupts); the local
    # table is still saved.
    with InterruptWatch() as interrupts:
        try:
            return on_backend(args, screen, cycles, save=True)
        except Interrupted as interruption:
            screen.problem(f"interrupted ({interruption.name}) between runs")
            return interruption.exit_code


def play_ticks(
    args: Any,
    screen: Screen,
    aws: LocalAws,
    harness: RunnerHarness,
    groups: list[GroupConfig],
    interrupts: InterruptWatch,
) -> int:
    """``args.cycles`` ticks on embedded AWS, a minute apart; 1 if any run failed."""
    if args.every is not None:
        screen.note("--every applies with --aws only: here each cycle is the next minute's tick")
    store = DynamoDBStore(aws.table_name)
    sources = LocalEventSources(
        harness,
        queue_url=aws.run_queue_url,
        function_name=aws.function_name,
        region=REGION,
        only_group=args.group,
        read_state=store.load_state,
        pause=interrupts.pause,
        check=interrupts.check,
    )
    by_name = {group.name: group for group in groups}
    with local_ping_door(screen, aws, groups, args.ping_port):
        return _play(args, screen, aws, sources, store, groups, by_name)


def _play(
    args: Any,
    screen: Screen,
    aws: LocalAws,
    sources: LocalEventSources,
    store: DynamoDBStore,
    groups: list[GroupConfig],
    by_name: dict[str, GroupConfig],
) -> int:
    failed = 0
    tick: datetime | None = None
    earlier = last_ticked(store)
    for cycle in range(args.cycles):
        tick = next_tick(tick, datetime.now(UTC), earlier)
        if tick.timestamp() > sources.now():
            screen.note(f"waiting for {clock(iso(tick))[:5]} UTC, the next tick's minute")
        sources.wait_until(tick)
        screen.line()
        screen.heading(
            f"tick {cycle + 1}/{args.cycles} · {clock(iso(tick))} · {minute_plan(groups, tick)}"
        )
        for landing in sources.play_tick(tick):
            if landing[0].source == TICK:
                show_tick(screen, landing[0])
                failed += 0 if landing[0].ok else 1
            else:
                runs = show_landing(screen, landing, by_name)
                failed += sum(1 for r in runs if not r.invocation.ok)
            for alert in aws.drain_alerts():
                show_alert(screen, alert.document, alert.subject)
        if sources.missing:
            screen.problem(missing_line(sources.missing))
            failed += len(sources.missing)
    return 1 if failed else 0


def run_deployed(
    args: Any,
    screen: Screen,
    backend: Backend,
    harness: RunnerHarness,
    groups: list[GroupConfig],
    interrupts: InterruptWatch,
) -> int:
    """``args.cycles`` cycles against the deployed stack, each group once per cycle."""
    screen.note(
        "checks run from this machine (private VPC targets may be unreachable); alerts go "
        "to the topic's subscribers; metrics are shown here, not sent (CloudWatch reads EMF "
        "from Lambda's logs); the stack's own tick keeps running its schedule"
    )
    every = DEFAULT_AWS_EVERY if args.every is None else args.every
    store = DynamoDBStore(backend.aws.table_name)
    failed = 0
    previous: datetime | None = None
    for cycle in range(args.cycles):
        if cycle:
            interrupts.pause(every)
        previous = next_scheduled_time(previous)
        scheduled = iso(previous)
        runs: list[GroupRun] = []
        for group in groups:
            interrupts.check()
            runs += run_group(harness, store, group, scheduled)
        show_runs(screen, f"run {cycle + 1}/{args.cycles} · scheduled_time {scheduled}", runs)
        failed += sum(1 for r in runs if not r.invocation.ok)
        sent = sum(
            int(((r.invocation.summary or {}).get("alerts") or {}).get("sent", 0)) for r in runs
        )
        if sent:
            screen.line(
                f"  {sent} alert(s) published to {backend.aws.topic_arn}: "
                f"its subscribers (email, chat, webhook) receive them"
            )
    return 1 if failed else 0
