"""``vigil demo``: Vigil at work in about half a minute, on this machine only.

1. Start real local targets: an HTTP service, a TCP port and, when its binaries
   are installed, a throw-away PostgreSQL server with a login role whose password
   is kept in (embedded) Secrets Manager under ``vigil/``.
2. Write a check configuration for them into a temporary directory.
3. Run the real runner handler on embedded AWS (moto; table and topic made from
   template.yaml) once per cycle for every group, each cycle scheduled one
   simulated minute after the last (so intervals and hourly rollups behave as in
   production), while ``SCRIPT`` breaks and repairs the targets.
4. Show each run, each confirmed transition, each alert as an email subscriber
   reads it and as the JSON chat/webhook subscribers get, and the CloudWatch
   metrics the runner emitted; then a one-screen summary, and last the address
   of the status page, served on loopback for the demo's data (on a terminal it
   stays up until Enter; otherwise the demo ends at once).
5. Stop and delete everything it started, also on Ctrl-C (SIGINT) and SIGTERM.

It never touches the local state file of ``vigil run``.
"""

from __future__ import annotations

import contextlib
import secrets
import shutil
import tempfile
import textwrap
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pg8000.exceptions

from vigil.config import VigilConfig, load_config
from vigil.store.dynamodb import DynamoDBStore
from vigil.times import iso
from vigil_cli.commands.demo_channels import ChannelsDemo
from vigil_cli.commands.interrupts import Interrupted, InterruptWatch
from vigil_cli.commands.run import run_group
from vigil_cli.local.harness import RunnerHarness, function_timeout
from vigil_cli.local.local_aws import REGION, TEMPLATE, LocalAws, scan_items
from vigil_cli.local.status_server import offer_status_page
from vigil_cli.local.template_file import load_template
from vigil_cli.screen import Screen
from vigil_cli.screen.emf import all_points
from vigil_cli.screen.views import GroupRun, clock, show_alert, show_runs
from vigil_cli.targets import HttpTarget, PostgresError, PostgresServer, TcpTarget

DB_SECRET = "vigil/demo/main-db"  # under the template's MonitoredSecretsPrefix, as in production
DB_ROLE = "monitor"
DB_NAME = "app"
MINUTES_BEFORE_THE_HOUR = 7  # the simulated clock crosses an hour: a rollup is written
# What setting up, stopping or starting the throw-away PostgreSQL server can raise: the
# demo then goes on without its database part.
DB_ERRORS = (PostgresError, pg8000.exceptions.Error, OSError)


@dataclass(frozen=True)
class Step:
    """One cycle of the demo: what happens to the targets before the runs."""

    story: str
    action: str | None = None  # "api <http mode>", "cache close|reopen", "db stop|start"
    replay: bool = False  # deliver the previous cycle's events again, instead of new runs
    needs_db: bool = False


SCRIPT: tuple[Step, ...] = (
    Step("Everything is up. First runs confirm each check (a first status sends no alert)."),
    Step("api fails once (HTTP 500): a blip, 1 of the 2 failures needed.", "api failing:500"),
    Step("api answers again: the blip is forgotten, nobody was paged.", "api healthy"),
    Step("api slows down to 600 ms (its degraded_after is 300ms).", "api slow:600"),
    Step("api is still slow."),
    Step("api breaks: HTTP 503.", "api failing:503"),
    Step("api still answers 503."),
    Step("api is fixed.", "api healthy"),
    Step("cache stops listening: connections are refused.", "cache close"),
    Step("cache still refuses connections."),
    Step("cache is still down: a reminder goes out (its reminder_every is 1m)."),
    Step("cache listens again.", "cache reopen"),
    Step("The PostgreSQL server stops.", "db stop", needs_db=True),
    Step("The database is still down.", needs_db=True),
    Step("The PostgreSQL server is back.", "db start", needs_db=True),
    Step(
        "EventBridge Scheduler delivers the last runs again (delivery is at least once).",
        replay=True,
    ),
)


class DemoTargets:
    """The local targets and the temporary directory of one demo; ``close`` removes all.

    ``db_problem`` says why there is no database part (no server), or why it ended
    (the server could not be stopped or started again).
    """

    def __init__(self) -> None:
        self.directory = Path(tempfile.mkdtemp(prefix="vigil-demo-"))
        self.http = HttpTarget()
        self.tcp = TcpTarget()
        self.db: PostgresServer | None = None
        self.db_password = secrets.token_urlsafe(18)
        self.db_problem: str | None = None

    def start(self) -> None:
        self.http.start()
        self.tcp.start()
        if not PostgresServer.available():
            self.db_problem = "PostgreSQL server binaries not found (apt-get install postgresql)"
            return
        try:
            self.db = PostgresServer()
            self.db.start()
            self.db.create_role(DB_ROLE, self.db_password)
            self.db.create_database(DB_NAME, owner=DB_ROLE)
        except DB_ERRORS as exc:
            self.db_problem = f"PostgreSQL could not be set up: {_first_line(exc)}"
            if self.db is not None:
                with contextlib.suppress(Exception):
                    self.db.close()
            self.db = None

    @property
    def has_db(self) -> bool:
        """Whether the database part of the demo goes on."""
        return self.db is not None and self.db_problem is None

    def apply(self, action: str) -> None:
        """Do ``action`` (see ``Step``); a failing database sets ``db_problem`` instead."""
        target, _, mode = action.partition(" ")
        if target == "api":
            self.http.script("api", mode)
        elif target == "cache" and mode == "close":
            self.tcp.close()
        elif target == "cache" and mode == "reopen":
            self.tcp.reopen()
        elif target == "db" and mode in ("stop", "start"):
            self._switch_db(mode)
        else:
            raise ValueError(f"unknown demo action {action!r}")

    def _switch_db(self, mode: str) -> None:
        if self.db is None or self.db_problem is not None:
            return  # no database part, or it has ended
        try:
            if mode == "stop":
                self.db.stop()
            else:
                self.db.start()
        except DB_ERRORS as exc:
            self.db_problem = f"PostgreSQL could not {mode}: {_first_line(exc)}"

    def write_config(self) -> Path:
        """The demo's check configuration, as a user would write it for these targets."""
        text = f"""\
        # Written by `vigil demo` for its local targets; deleted when the demo ends.
        defaults:
          timeout: 2s
          failure_threshold: 2    # two non-healthy runs in a row before an alert
          success_threshold: 1
        groups:
          core:
            checks:
              - name: api
                type: http
                url: {self.http.url("/scripted/api")}
                degraded_after: 300ms
              - name: website
                type: http
                url: {self.http.url("/body?text=welcome")}
                body_contains: welcome
                interval: 5m
              - name: cache
                type: tcp
                host: 127.0.0.1
                port: {self.tcp.port}
                reminder_every: 1m    # while it stays down, remind every scheduled minute
        """
        text = textwrap.dedent(text)
        if self.db is not None:
            database = f"""\
            databases:
              checks:
                - name: main-db
                  type: postgres
                  host: {self.db.host}
                  port: {self.db.port}
                  database: {DB_NAME}
                  user: {DB_ROLE}
                  password_secret: {DB_SECRET}   # never a password in the config
                  query: SELECT 1
            """
            text += textwrap.indent(textwrap.dedent(database), "  ")
        path = self.directory / "checks.yaml"
        path.write_text(text, encoding="utf-8")
        return path

    def close(self) -> list[str]:
        """Stop and delete everything; return what was cleaned up (for the summary)."""
        done = []
        if self.db is not None:
            with contextlib.suppress(Exception):
                self.db.close()
            done.append("PostgreSQL server and its data directory")
        with contextlib.suppress(Exception):
            self.tcp.close()
        with contextlib.suppress(Exception):
            self.http.close()
        done.append("HTTP and TCP targets")
        shutil.rmtree(self.directory, ignore_errors=True)
        done.append("demo config directory")
        return done


def _first_line(exc: BaseException) -> str:
    return (str(exc).splitlines() or [type(exc).__name__])[0]


@dataclass
class DemoProgress:
    """Where the demo is, for a message if it fails there."""

    cycle: int = 0
    doing: str = "starting the local targets"

    def where(self) -> str:
        return f"at cycle {self.cycle}" if self.cycle else "before the first cycle"


@dataclass
class DemoStats:
    cycles: int = 0
    simulated: list[str] = field(default_factory=list)  # scheduled times of the cycles
    results: Counter[str] = field(default_factory=Counter)
    repeats: int = 0
    transitions: list[str] = field(default_factory=list)
    alerts: Counter[str] = field(default_factory=Counter)
    metric_documents: int = 0
    metric_names: Counter[str] = field(default_factory=Counter)
    items: Counter[str] = field(default_factory=Counter)
    failures: int = 0

    def add(self, runs: list[GroupRun], scheduled_time: str) -> None:
        for run in runs:
            if not run.invocation.ok:
                self.failures += 1
                continue
            points = all_points(run.invocation.metrics)
            self.metric_documents += len(run.invocation.metrics)
            self.metric_names.update(point.name for point in points)
            if run.duplicate:
                self.repeats += 1
                continue
            for result in run.results:
                if result.get("counted") is not False:
                    self.results[result["status"]] += 1
            for t in run.transitions:
                self.transitions.append(
                    f"{clock(scheduled_time)[:5]}  {run.group.name}/{t['check']}: "
                    f"{t['previous_status']} -> {t['status']}  ({t['event']})"
                )


def simulated_start(now: datetime) -> datetime:
    """A few minutes before the current hour, so the demo crosses an hour boundary."""
    hour = now.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    return hour - timedelta(minutes=MINUTES_BEFORE_THE_HOUR)


def demo(screen: Screen, *, every: float = 2.0) -> int:
    began = time.monotonic()
    stats = DemoStats()
    progress = DemoProgress()
    targets: DemoTargets | None = None
    cleaned: list[str] = []
    # Signals are only recorded while the demo works and cleans up; it stops at its
    # next safe point (see vigil_cli.commands.interrupts), and cleaning up is never cut short.
    with InterruptWatch() as interrupts:
        try:
            screen.heading("Vigil demo: real checks, the real runner handler, embedded AWS")
            screen.note("Starting local targets (nothing leaves this machine; Ctrl-C stops it)")
            targets = DemoTargets()
            targets.start()
            interrupts.check()
            progress.doing = "writing the check configuration"
            config_path = targets.write_config()
            _introduce(screen, targets)
            progress.doing = "starting embedded AWS"
            with LocalAws(TEMPLATE, config=config_path) as aws:
                interrupts.check()
                channels = ChannelsDemo(aws.topic_arn)
                if targets.db is not None:
                    aws.put_secret(DB_SECRET, targets.db_password)
                config = load_config(config_path)
                _play(screen, aws, targets, config, stats, every, progress, interrupts)
                channels.show(screen, config_path)
                progress.doing = "counting the table's items"
                for item in scan_items(_dynamodb(), aws.table_name):
                    stats.items[item["sk"]["S"].split("#", 1)[0]] += 1
                config_text = config_path.read_text(encoding="utf-8")  # gone with the targets
                cleaned = targets.close()
                _summary(screen, stats, cleaned, time.monotonic() - began)
                progress.doing = "serving the status page"
                # the address last; on a terminal it waits for Enter or Ctrl-C
                offer_status_page(
                    screen, config_text, interrupted=lambda: bool(interrupts.received)
                )
        except Interrupted as interruption:
            cleaned = targets.close() if targets is not None else []
            screen.problem(
                f"interrupted ({interruption.name}) {progress.where()}; "
                f"stopped and removed: {', '.join(cleaned)}"
            )
            return interruption.exit_code
        except Exception as exc:
            cleaned = targets.close() if targets is not None else []
            what = str(exc) or type(exc).__name__
            screen.problem(f"demo failed {progress.where()} ({progress.doing}): {what}")
            if cleaned:
                screen.note(f"stopped and removed: {', '.join(cleaned)}")
            return 1
        finally:
            if targets is not None and not cleaned:
                cleaned = targets.close()
    return 1 if stats.failures else 0


def _dynamodb() -> Any:
    import boto3

    return boto3.client("dynamodb", region_name=REGION)


def _introduce(screen: Screen, targets: DemoTargets) -> None:
    screen.line(f"  HTTP service  {targets.http.base_url}  (api, website)")
    screen.line(f"  TCP port      127.0.0.1:{targets.tcp.port}  (cache)")
    if targets.db is not None:
        version = targets.db.bin_dir.parent.name
        screen.line(
            f"  PostgreSQL {version}  127.0.0.1:{targets.db.port}  (main-db; role {DB_ROLE}, "
            f"password in Secrets Manager as {DB_SECRET})"
        )
    else:
        screen.problem(f"  {targets.db_problem}: the database part of the demo is skipped")
    screen.note(
        "Each cycle is one scheduled run of every group, one simulated minute after the last; "
        "a check's status is confirmed after 2 failures in a row (failure_threshold) or 1 "
        "success (success_threshold), and only confirmed changes send alerts."
    )


def _play(
    screen: Screen,
    aws: LocalAws,
    targets: DemoTargets,
    config: VigilConfig,
    stats: DemoStats,
    every: float,
    progress: DemoProgress,
    interrupts: InterruptWatch,
) -> None:
    """Play ``SCRIPT``; raises ``Interrupted`` at the first safe point after a signal."""
    harness = RunnerHarness(function_timeout(load_template(TEMPLATE)))
    store = DynamoDBStore(aws.table_name)
    steps = [s for s in SCRIPT if targets.has_db or not s.needs_db]
    simulated = simulated_start(datetime.now(UTC))
    scheduled = ""
    started = time.monotonic()
    number = 0
    while number < len(steps):
        step = steps[number]
        number += 1
        progress.cycle, progress.doing = number, "waiting for the cycle's time"
        interrupts.pause(started + (number - 1) * every - time.monotonic())
        if not step.replay:
            scheduled = iso(simulated + timedelta(minutes=stats.cycles))
            stats.cycles += 1
            stats.simulated.append(scheduled)
        lost_db = False
        if step.action:
            progress.doing = f"doing {step.action!r} to the targets"
            had_db = targets.has_db
            targets.apply(step.action)
            lost_db = had_db and not targets.has_db
            if lost_db:  # the rest of the database part cannot be played
                steps = steps[:number] + [s for s in steps[number:] if not s.needs_db]
        story = step.story
        if scheduled.endswith(":00:00Z") and not step.replay:
            story += " A new hour: last hour's rollup is written."
        screen.line()
        screen.heading(f"{clock(scheduled)[:5]} UTC · cycle {number}/{len(steps)} · {story}")
        if lost_db:
            screen.problem(f"  {targets.db_problem}: the rest of the database part is skipped")
        progress.doing = "running the checks"
        runs: list[GroupRun] = []
        for group in config.groups.values():
            interrupts.check()
            runs += run_group(harness, store, group, scheduled)
        show_runs(screen, "", runs)
        stats.add(runs, scheduled)
        progress.doing = "reading the delivered alerts"
        for alert in aws.drain_alerts():
            stats.alerts[str(alert.document.get("event"))] += 1
            show_alert(screen, alert.document, alert.subject)


def _summary(screen: Screen, stats: DemoStats, cleaned: list[str], seconds: float) -> None:
    screen.line()
    screen.heading("Vigil demo: summary")
    first, last = (stats.simulated[0], stats.simulated[-1]) if stats.simulated else ("", "")
    statuses = ", ".join(
        f"{stats.results[s]} {s}" for s in ("healthy", "degraded", "unhealthy", "error")
    )
    repeats = (
        f"; {stats.repeats} repeated deliveries, nothing counted twice" if stats.repeats else ""
    )
    rows = [
        (
            "simulated",
            f"{stats.cycles} scheduled minutes, {clock(first)[:5]} -> "
            f"{clock(last)[:5]} UTC, in {seconds:.0f} s of wall-clock time",
        ),
        ("checks run", f"{sum(stats.results.values())} ({statuses}){repeats}"),
        ("transitions", f"{len(stats.transitions)} confirmed, one alert each"),
    ]
    rows += [("", line) for line in stats.transitions]
    by_event = ", ".join(f"{event} {count}" for event, count in sorted(stats.alerts.items()))
    rows.append(
        (
            "alerts sent",
            f"{sum(stats.alerts.values())} ({by_event or 'none'}), each as email text and JSON",
        )
    )
    names = ", ".join(stats.metric_names)
    rows.append(
        (
            "metrics",
            f"{stats.metric_documents} EMF documents, {sum(stats.metric_names.values())} "
            f"data points ({names})",
        )
    )
    kinds = {
        "STATE": "group states",
        "RUN": "run records",
        "HOUR": "hourly rollups",
        "DAY": "daily rollups",
        "COUNTS": "availability count histories",
    }
    items = ", ".join(
        f"{stats.items[kind]} {name}" for kind, name in kinds.items() if stats.items[kind]
    )
    rows.append(("DynamoDB items", f"{sum(stats.items.values())} written ({items})"))
    rows.append(("cleaned up", ", ".join(cleaned)))
    rows.append(
        ("next", "make test · vigil validate · vigil run · make build, sam deploy --guided")
    )
    for label, text in rows:
        screen.line(f"  {label:<15} {text}")
