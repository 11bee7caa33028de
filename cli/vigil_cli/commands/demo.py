"""``vigil demo``: Vigil at work in about a minute, on this machine only.

1. Start real local targets: an HTTP service, a TCP port and, when its binaries
   are installed, a throw-away PostgreSQL server with a login role whose password
   is kept in (embedded) Secrets Manager under ``vigil/``.
2. Write a check configuration for them into a temporary directory.
3. Play the schedule on embedded AWS (moto; tables, topics and the run queue made
   from template.yaml) with the real runner handler, in two parts:

   * a time-lapse: one tick per cycle, each for one simulated minute after the
     last (so intervals, thresholds and hourly rollups behave as in production;
     the minutes are in the past, so every run of a minute is due at once), while
     ``SCRIPT`` breaks and repairs the targets and a heartbeat job (``JOB_SCRIPT``)
     pings the real ping function, then misses its runs and comes back;
   * a live minute (unless ``live`` is off): checks.yaml gains a group run every
     10 s, and the tick of the next minute is played in real time. The tick puts
     the minute's runs on the run queue: those of :00 due at once, the 10 s group's
     runs of :10 to :50 each delayed until its time; the queue delivers each when
     its time comes, 10 s of real time apart, while ``LIVE_SCRIPT`` breaks and
     repairs its target.
     The demo's clock runs a whole number of 10 s behind the wall clock
     (``vigil_cli.local.event_sources``): its minutes are its own, its seconds pass
     as yours do.

4. Show each tick, each run, each confirmed transition, each alert as an email
   subscriber reads it and as the JSON chat/webhook subscribers get, and the
   CloudWatch metrics the runner emitted; then a one-screen summary, and last the
   address of the status page, served on loopback for the demo's data (on a
   terminal it stays up until Enter; otherwise the demo ends at once).
5. Stop and delete everything it started, also on Ctrl-C (SIGINT) and SIGTERM.

It never touches the local state file of ``vigil run``.
"""

from __future__ import annotations

import contextlib
import math
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

from vigil.config import GroupConfig, load_config
from vigil.store.dynamodb import DynamoDBStore
from vigil.times import iso
from vigil_cli.commands.demo_channels import ChannelsDemo
from vigil_cli.commands.interrupts import Interrupted, InterruptWatch
from vigil_cli.commands.ticks import (
    minute_plan,
    missing_line,
    show_landing,
    show_tick,
    wall_clock,
)
from vigil_cli.local.event_sources import TICK, Delivery, LocalEventSources
from vigil_cli.local.harness import RunnerHarness, function_timeout
from vigil_cli.local.local_aws import REGION, TEMPLATE, LocalAws, scan_items
from vigil_cli.local.status_server import function_url_event, offer_status_page
from vigil_cli.local.template_file import load_template
from vigil_cli.screen import Screen
from vigil_cli.screen.emf import all_points
from vigil_cli.screen.views import GroupRun, clock, show_alert
from vigil_cli.targets import HttpTarget, PostgresError, PostgresServer, TcpTarget

DB_SECRET = "vigil/demo/main-db"  # under the template's MonitoredSecretsPrefix, as in production
DB_ROLE = "monitor"
DB_NAME = "app"
MINUTES_BEFORE_THE_HOUR = 7  # the simulated clock crosses an hour: a rollup is written
LIVE_GROUP = "fast"
LIVE_ALIGN_S = 10  # the live minute starts on a multiple of 10 s of the wall clock
# What setting up, stopping or starting the throw-away PostgreSQL server can raise: the
# demo then goes on without its database part.
DB_ERRORS = (PostgresError, pg8000.exceptions.Error, OSError)


@dataclass(frozen=True)
class Step:
    """One cycle of the demo: what happens to the targets before the tick."""

    story: str
    action: str | None = None  # "api|checkout <http mode>", "cache close|reopen", "db stop|start"
    replay: bool = False  # deliver the previous cycle's tick again, instead of the next one
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
        "EventBridge Scheduler delivers the last tick again (delivery is at least once).",
        replay=True,
    ),
)

# The heartbeat job (jobs/backup, due every 3m, 1m of grace): what it does before the tick
# of each simulated minute (counted from the first): its pings, seconds into the minute
# before. It reports in, misses a run (late, then past its grace: one alert), and recovers.
JOB_SCRIPT: dict[int, tuple[str, tuple[tuple[str, int], ...]]] = {
    0: ("the backup job reports in", (("start", 10), ("success", 40))),
    3: ("the backup job reports in", (("start", 5), ("success", 35))),
    8: ("the backup job runs again after two missed minutes", (("start", 10), ("success", 30))),
    11: ("the backup job reports in", (("start", 10), ("success", 30))),
    14: ("the backup job reports in", (("start", 10), ("success", 30))),
}

# The live minute: what happens to the 10 s group's target after its run at each second.
LIVE_SCRIPT: dict[int, Step] = {
    0: Step("checkout starts failing (HTTP 503).", "checkout failing:503"),
    20: Step("checkout is fixed.", "checkout healthy"),
}


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
        if target in ("api", "checkout"):
            self.http.script(target, mode)
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

    def write_config(self, *, live: bool = False) -> Path:
        """The demo's check configuration, as a user would write it for these targets;
        with ``live``, also the 10 s group of the live minute."""
        text = f"""\
        # Written by `vigil demo` for its local targets; deleted when the demo ends.
        defaults:
          timeout: 2s
          failure_threshold: 2    # two non-healthy runs in a row before an alert
          success_threshold: 1
        groups:
          core:                   # every: 1m, the default
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
          jobs:
            checks:
              - name: backup        # a heartbeat: the job pings Vigil; Vigil judges its silence
                type: heartbeat
                period: 3m            # expected every 3 minutes after its last success
                grace: 1m             # late: degraded; past the grace: unhealthy
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
        if live:
            fast = f"""\
            {LIVE_GROUP}:                   # added for the live minute: no template change
              every: 10s              # runs at :00, :10, ... :50 of every minute
              checks:
                - name: checkout
                  type: http
                  url: {self.http.url("/scripted/checkout")}
            """
            text += textwrap.indent(textwrap.dedent(fast), "  ")
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
    simulated: list[str] = field(default_factory=list)  # the time-lapse's tick minutes
    live: list[tuple[str, float]] = field(default_factory=list)  # (scheduled, delivered at)
    live_offset_s: float = 0.0  # how far the demo's clock runs behind the wall clock
    results: Counter[str] = field(default_factory=Counter)
    repeats: int = 0
    transitions: list[str] = field(default_factory=list)
    alerts: Counter[str] = field(default_factory=Counter)
    metric_documents: int = 0
    metric_names: Counter[str] = field(default_factory=Counter)
    items: Counter[str] = field(default_factory=Counter)
    failures: int = 0

    def add(self, runs: list[GroupRun]) -> None:
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
            scheduled = str((run.invocation.summary or {}).get("scheduled_time") or "")
            for result in run.results:
                if result.get("counted") is not False:
                    self.results[result["status"]] += 1
            for t in run.transitions:
                self.transitions.append(
                    f"{clock(scheduled)[:8]}  {run.group.name}/{t['check']}: "
                    f"{t['previous_status']} -> {t['status']}  ({t['event']})"
                )


def simulated_start(now: datetime) -> datetime:
    """A few minutes before an hour, so the demo crosses an hour boundary: the latest such
    start whose time-lapse and live minute are all in the past (the runner refuses a run
    more than 5 minutes ahead, and the live minute's clock runs behind the wall clock)."""
    span = timedelta(minutes=len(SCRIPT) + 2 - MINUTES_BEFORE_THE_HOUR)  # past the hour
    hour = (now.astimezone(UTC) - span).replace(minute=0, second=0, microsecond=0)
    return hour - timedelta(minutes=MINUTES_BEFORE_THE_HOUR)


def live_offset(minute: datetime, now: float) -> float:
    """Seconds the demo's clock runs behind the wall clock so that ``minute`` begins at the
    next multiple of ``LIVE_ALIGN_S`` of the wall clock (never less than a second away)."""
    starts = math.ceil((now + 1) / LIVE_ALIGN_S) * LIVE_ALIGN_S
    return starts - minute.timestamp()


def demo(screen: Screen, *, every: float = 1.0, live: bool = True) -> int:
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
            _introduce(screen, targets, live)
            progress.doing = "starting embedded AWS"
            with LocalAws(TEMPLATE, config=config_path) as aws:
                interrupts.check()
                channels = ChannelsDemo(aws.topic_arn)
                if targets.db is not None:
                    aws.put_secret(DB_SECRET, targets.db_password)
                play = DemoPlay(screen, aws, targets, stats, progress, interrupts)
                last = play.time_lapse(every)
                if live:
                    play.live_minute(last + timedelta(minutes=1))
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


def _introduce(screen: Screen, targets: DemoTargets, live: bool) -> None:
    screen.line(f"  HTTP service  {targets.http.base_url}  (api, website, checkout)")
    screen.line(f"  TCP port      127.0.0.1:{targets.tcp.port}  (cache)")
    screen.line(
        "  a backup job  pings the ping function (jobs/backup: a heartbeat due every 3 min)"
    )
    if targets.db is not None:
        version = targets.db.bin_dir.parent.name
        screen.line(
            f"  PostgreSQL {version}  127.0.0.1:{targets.db.port}  (main-db; role {DB_ROLE}, "
            f"password in Secrets Manager as {DB_SECRET})"
        )
    else:
        screen.problem(f"  {targets.db_problem}: the database part of the demo is skipped")
    screen.note(
        "First a time-lapse: each cycle is the tick of one simulated minute after the last, "
        "which runs every group once; a check's status is confirmed after 2 failures in a "
        "row (failure_threshold) or 1 success (success_threshold), and only confirmed "
        "changes send alerts."
        + (" Then one minute in real time, with a group run every 10 s." if live else "")
    )


class DemoJob:
    """The heartbeat job of the demo: it pings through the real ping function (the URL a
    crontab line would curl, its token made with the stack's ping key), at the simulated
    times of ``JOB_SCRIPT``."""

    def __init__(self, aws: LocalAws):
        import boto3

        from vigil.pings import token

        secret = aws.environment["HEALTHCHECK_PING_KEY_SECRET"]
        key = boto3.client("secretsmanager", region_name=REGION).get_secret_value(SecretId=secret)[
            "SecretString"
        ]
        self.path = f"/jobs/backup/{token(key.encode(), 'jobs', 'backup')}"
        self.harness = RunnerHarness(10, function="ping")

    def before(self, screen: Screen, minute: int, tick: datetime) -> int:
        """Play the job's pings due before the tick of simulated minute ``minute``; return
        how many the door refused."""
        story, pings = JOB_SCRIPT.get(minute, ("", ()))
        refused = 0
        for kind, seconds in pings:
            at = tick - timedelta(minutes=1) + timedelta(seconds=seconds)
            event = function_url_event("GET", self.path + ("/start" if kind == "start" else ""))
            event["requestContext"]["timeEpoch"] = int(at.timestamp() * 1000)
            answer = self.harness.invoke(event).summary or {}
            code = answer.get("statusCode")
            refused += 0 if code == 200 else 1
            screen.line(
                f"  {clock(iso(at))[:8]} {story}: GET <ping url>/jobs/backup/<token>"
                f"{'/start' if kind == 'start' else ''} -> {code}"
            )
        return refused


class DemoPlay:
    """The two parts of the demo's schedule, on one embedded AWS."""

    def __init__(
        self,
        screen: Screen,
        aws: LocalAws,
        targets: DemoTargets,
        stats: DemoStats,
        progress: DemoProgress,
        interrupts: InterruptWatch,
    ):
        self.screen, self.aws, self.targets = screen, aws, targets
        self.stats, self.progress, self.interrupts = stats, progress, interrupts
        self.harness = RunnerHarness(function_timeout(load_template(TEMPLATE)))
        self.store = DynamoDBStore(aws.table_name)
        self.job = DemoJob(aws)

    def sources(self, clock_offset_s: float = 0.0) -> LocalEventSources:
        return LocalEventSources(
            self.harness,
            queue_url=self.aws.run_queue_url,
            function_name=self.aws.function_name,
            region=REGION,
            clock_offset_s=clock_offset_s,
            read_state=self.store.load_state,
            pause=self.interrupts.pause,
            check=self.interrupts.check,
        )

    def groups(self, config_path: Path) -> dict[str, GroupConfig]:
        return dict(load_config(config_path).groups)

    def show(self, landing: list[Delivery], groups: dict[str, GroupConfig], *, live: bool) -> None:
        """One landing of runs, the alerts it delivered, and the stats; the wall-clock times
        only in the live minute (the time-lapse's minutes are long past)."""
        if landing[0].source == TICK:
            show_tick(self.screen, landing[0], show_wall_clock=live)
            self.stats.failures += 0 if landing[0].ok else 1
        else:
            self.stats.add(show_landing(self.screen, landing, groups, show_wall_clock=live))
        self.progress.doing = "reading the delivered alerts"
        for alert in self.aws.drain_alerts():
            self.stats.alerts[str(alert.document.get("event"))] += 1
            show_alert(self.screen, alert.document, alert.subject)

    def time_lapse(self, every: float) -> datetime:
        """Play ``SCRIPT``, one tick of a simulated minute per ``every`` seconds; return the
        last minute. Raises ``Interrupted`` at the first safe point after a signal."""
        targets, stats, progress = self.targets, self.stats, self.progress
        sources = self.sources()
        groups = self.groups(targets.directory / "checks.yaml")
        steps = [s for s in SCRIPT if targets.has_db or not s.needs_db]
        simulated = simulated_start(datetime.now(UTC))
        tick = simulated
        started = time.monotonic()
        number = 0
        while number < len(steps):
            step = steps[number]
            number += 1
            progress.cycle, progress.doing = number, "waiting for the cycle's time"
            self.interrupts.pause(started + (number - 1) * every - time.monotonic())
            if not step.replay:
                tick = simulated + timedelta(minutes=stats.cycles)
                stats.cycles += 1
                stats.simulated.append(iso(tick))
            lost_db = False
            if step.action:
                progress.doing = f"doing {step.action!r} to the targets"
                had_db = targets.has_db
                targets.apply(step.action)
                lost_db = had_db and not targets.has_db
                if lost_db:  # the rest of the database part cannot be played
                    steps = steps[:number] + [s for s in steps[number:] if not s.needs_db]
            story = step.story
            if tick.minute == 0 and not step.replay:
                story += " A new hour: last hour's rollup is written."
            self.screen.line()
            self.screen.heading(
                f"{clock(iso(tick))[:5]} UTC · cycle {number}/{len(steps)} · {story}"
            )
            if lost_db:
                self.screen.problem(
                    f"  {targets.db_problem}: the rest of the database part is skipped"
                )
            if not step.replay:
                progress.doing = "playing the heartbeat job's pings"
                stats.failures += self.job.before(self.screen, stats.cycles - 1, tick)
            progress.doing = "playing the tick and its runs"
            for landing in sources.play_tick(tick):
                self.show(landing, groups, live=False)
        return tick

    def live_minute(self, minute: datetime) -> None:
        """Add the 10 s group, then play ``minute``'s tick in real time (``LIVE_SCRIPT``)."""
        screen, stats, progress = self.screen, self.stats, self.progress
        progress.doing = "adding the 10 s group to the configuration"
        config_path = self.targets.write_config(live=True)
        groups = self.groups(config_path)
        stats.live_offset_s = live_offset(minute, time.time())
        sources = self.sources(stats.live_offset_s)
        screen.line()
        screen.heading(
            f"{clock(iso(minute))[:5]} UTC · live: one minute in real time · "
            f"{minute_plan(groups.values(), minute)}"
        )
        minutes, seconds = divmod(round(stats.live_offset_s), 60)
        behind = f"{minutes} min {seconds} s"
        screen.note(
            f"checks.yaml gains the group {LIVE_GROUP} (every: 10s): a config edit, no "
            f"template change. The tick of {clock(iso(minute))[:5]} puts the minute's runs on "
            f"the run queue: those of :00 due at once, {LIVE_GROUP}'s runs of :10 to :50 each "
            f"delayed until its time; the queue delivers them 10 s of real time apart. (The demo's "
            f"clock runs {behind} behind yours: the minutes are the demo's, the seconds "
            f"pass as yours do.)"
        )
        progress.doing = f"waiting for {clock(iso(minute))[:5]} on the demo's clock"
        sources.wait_until(minute)
        progress.doing = "playing the live minute"
        for landing in sources.play_tick(minute):
            self.show(landing, groups, live=True)
            for delivery in landing:
                if delivery.source == TICK or delivery.group != LIVE_GROUP:
                    continue
                second = int(delivery.scheduled_time[17:19]) if delivery.scheduled_time else -1
                stats.live.append((str(delivery.scheduled_time), delivery.runner_now))
                step = LIVE_SCRIPT.get(second)
                if step is not None and step.action:
                    screen.line(f"  {wall_clock(time.time())} {step.story}", "bold")
                    self.targets.apply(step.action)
        if sources.missing:
            screen.problem(missing_line(sources.missing))
            stats.failures += len(sources.missing)


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
            "time-lapse",
            f"{stats.cycles} scheduled minutes, {clock(first)[:5]} -> {clock(last)[:5]} UTC, "
            f"one tick each",
        ),
    ]
    if stats.live:
        lateness = [delivered - _epoch(when) for when, delivered in stats.live]
        rows.append(
            (
                "live minute",
                f"{len(stats.live)} runs of {LIVE_GROUP} at "
                f"{', '.join(':' + when[17:19] for when, _ in stats.live)}, each delivered "
                f"{min(lateness):.1f} to {max(lateness):.1f} s after its time by the run "
                f"queue",
            )
        )
    rows += [
        ("wall-clock", f"{seconds:.0f} s"),
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


def _epoch(when: str) -> float:
    return datetime.fromisoformat(when.replace("Z", "+00:00")).timestamp()
