"""The tick, end to end through the real handler: an hour of ticks, the stalled watch,
a group added by an edit of checks.yaml alone, and the real run queue's delays (moto).

A tick's runs are delivered to the handler as SQS events of the run queue, as the
queue's event source would. Where an hour of them is delivered, the queue is a
stand-in that records each run with its delay (waiting for the delays would take
the hour); the real queue on moto is used where the delay itself is tested. The
runner's clock is set to each tick's time, so that the tick plans as it would on
time (a sub-minute group's later runs are delayed).
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.integration.conftest import FakeLambdaContext
from tests.support.dispatch import CapturingQueue, sqs_event
from vigil.store.dynamodb import DynamoDBStore
from vigil.times import iso

REPO = Path(__file__).resolve().parents[2]


class Clock:
    """The runner's wall clock, set by the test."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


class Driver:
    """Ticks the real handler and delivers what each tick dispatched."""

    def __init__(self, runner_app: Any, write_config: Callable[[str], Path]):
        self.app, self.write_config = runner_app, write_config
        self.clock, self.queue = Clock(), CapturingQueue()
        self.before_run: Callable[[str, str], None] = lambda group, at: None

    def configure(self, text: str) -> None:
        """Write checks.yaml; the next handler call loads it (a deploy, as Lambda sees it)."""
        self.write_config(text)

    def _wire(self) -> None:
        from vigil.environment.runner import runner_from_environment

        runner = runner_from_environment(self.app.DEFAULT_CONFIG)
        runner.run_queue = self.queue
        runner.clock = self.clock

    def tick(self, moment: datetime) -> dict[str, Any]:
        self.clock.now = moment.timestamp() + 0.3  # the Scheduler's usual lateness
        self._wire()
        return self.app.handler({"tick": iso(moment)}, FakeLambdaContext(60_000))

    def deliver(
        self,
        *,
        skip: Callable[[dict[str, Any]], bool] = lambda event: False,
        twice: Callable[[int], bool] = lambda n: False,
    ) -> list[tuple[dict[str, Any], int]]:
        """Every run the ticks queued, in scheduled order, as the event source delivers
        them (``twice``: the n-th delivered again, as SQS may); what was queued."""
        queued = self.queue.take()
        runs = sorted(queued, key=lambda item: item[0]["scheduled_time"])
        for n, (event, _) in enumerate(runs):
            if skip(event):
                continue
            for _ in range(2 if twice(n) else 1):
                self.before_run(event["group"], event["scheduled_time"])
                self._wire()
                answer = self.app.handler(sqs_event([event]), FakeLambdaContext(60_000))
                assert answer == {"batchItemFailures": []}, answer
        return queued


@pytest.fixture
def driver(aws, runner_app, write_config) -> Iterator[Driver]:
    yield Driver(runner_app, write_config)


def last_autumn_change() -> datetime:
    """The most recent Europe/Berlin change from summer time (last Sunday of October,
    01:00 UTC) at least a day ago: a date the handler accepts, whatever today is."""
    today = datetime.now(UTC).date()
    for year in (today.year, today.year - 1):
        last = date(year, 10, 31)
        sunday = last - timedelta(days=(last.weekday() + 1) % 7)
        change = datetime(sunday.year, sunday.month, sunday.day, 1, 0, tzinfo=UTC)
        if change < datetime.now(UTC) - timedelta(days=1):
            return change
    raise AssertionError("unreachable")


def stored_runs(table: str, group: str, start: datetime, end: datetime) -> list[str]:
    store = DynamoDBStore(table)
    keys: list[str] = []
    after = None
    while True:
        records, after = store.runs_between(
            group,
            0,
            iso(start),
            iso(end - timedelta(seconds=1)),
            newest_first=False,
            limit=200,
            after=after,
        )
        keys += [r.run_key for r in records]
        if after is None:
            return keys


def test_an_hour_of_ticks_runs_every_group_exactly_as_scheduled(
    aws, driver, tcp_target, http_target, monkeypatch
):
    """10 s, 30 s, 1 m and 5 m groups and two cron groups in Europe/Berlin, over the hour
    in which summer time ends (02:00-03:00 local happens twice). Ticks are repeated and
    queued runs delivered twice: every run is counted once. A failure scripted from
    00:40 to 00:41 UTC in the 10 s group is alerted once, at 00:40:10, and its
    recovery once, at 00:41:00."""
    change = last_autumn_change()
    start, end = change - timedelta(minutes=30), change + timedelta(minutes=30)
    days = (datetime.now(UTC) - start).days + 2
    monkeypatch.setenv("HEALTHCHECK_HISTORY_DAYS", str(days))
    tcp = f"{{name: port, type: tcp, host: 127.0.0.1, port: {tcp_target.port}}}"
    driver.configure(
        f"""
        groups:
          fast:
            every: 10s
            checks:
              - {tcp}
              - {{name: api, type: http, url: "{http_target.url("/scripted/api")}",
                  failure_threshold: 2, timeout: 2s}}
          half: {{every: 30s, checks: [{tcp}]}}
          minute: {{every: 1m, checks: [{tcp}]}}
          five: {{every: 5m, checks: [{tcp}]}}
          fixed: {{cron: "30 2 * * *", timezone: Europe/Berlin, checks: [{tcp}]}}
          quarter: {{cron: "*/15 2 * * *", timezone: Europe/Berlin, checks: [{tcp}]}}
        """
    )
    failing = (start + timedelta(minutes=10), start + timedelta(minutes=11))

    def script(group: str, at: str) -> None:
        if group == "fast":
            down = failing[0] <= datetime.fromisoformat(at.replace("Z", "+00:00")) < failing[1]
            http_target.script("api", "failing:500" if down else "healthy")

    driver.before_run = script
    for minute in range(60):
        moment = start + timedelta(minutes=minute)
        summary = driver.tick(moment)
        assert summary["tick"] == iso(moment)
        if minute % 7 == 3:  # a repeated tick dispatches again, harmlessly
            driver.tick(moment)
        driver.deliver(twice=lambda n: n % 5 == 0)

    def every(seconds: int) -> list[str]:
        count = int((end - start).total_seconds() // seconds)
        return [iso(start + timedelta(seconds=seconds * i)) for i in range(count)]

    expected = {
        "fast": every(10),
        "half": every(30),
        "minute": every(60),
        "five": every(300),
        "fixed": [iso(change - timedelta(minutes=30))],  # 02:30 CEST; not again at 02:30 CET
        "quarter": [iso(change + timedelta(minutes=m)) for m in (-30, -15, 0, 15)],
    }
    for group, times in expected.items():
        assert stored_runs(aws.table_name, group, start, end) == times, group

    alerts = [a.document for a in aws.drain_alerts() if a.document["group"] == "fast"]
    assert [(a["event"], a["check"], a["timestamp"]) for a in alerts] == [
        ("failure", "api", iso(failing[0] + timedelta(seconds=10))),
        ("recovery", "api", iso(failing[1])),
    ]


def test_a_group_whose_runs_stop_is_alerted_once_and_once_more_when_they_resume(
    aws, driver, tcp_target
):
    tcp = f"{{name: port, type: tcp, host: 127.0.0.1, port: {tcp_target.port}}}"
    driver.configure(
        f"""
        groups:
          steady: {{every: 1m, checks: [{tcp}]}}
          flaky: {{every: 30s, checks: [{tcp}]}}
        """
    )
    start = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=20)
    silent = range(3, 9)  # flaky's runs are not delivered in these minutes
    for minute in range(14):
        moment = start + timedelta(minutes=minute)
        driver.tick(moment)
        driver.deliver(skip=lambda event, m=minute: event["group"] == "flaky" and m in silent)
    watch = [a.document for a in aws.drain_alerts() if a.document["group"] == "vigil"]
    assert [(a["event"], a["check"], a["status"], a["timestamp"]) for a in watch] == [
        # its newest run is 02:30; the runs of 03:00, 03:30 and 04:00 missed, and 3 minutes
        ("monitor", "stalled/flaky", "unhealthy", iso(start + timedelta(minutes=6))),
        ("monitor", "stalled/flaky", "healthy", iso(start + timedelta(minutes=10))),
    ]
    assert watch[0]["severity"] == "critical" and watch[1]["severity"] == "info"
    assert watch[0]["details"] == {
        "group": "flaky",
        "newest_run": iso(start + timedelta(minutes=2, seconds=30)),
        "schedule": "every 30s",
    }


def test_adding_a_group_to_checks_yaml_is_the_whole_change(aws, driver, tcp_target):
    """No template edit: the new group is dispatched by the next tick, and watched."""
    template_before = hashlib.sha256((REPO / "template.yaml").read_bytes()).hexdigest()
    tcp = f"{{name: port, type: tcp, host: 127.0.0.1, port: {tcp_target.port}}}"
    driver.configure(f"groups:\n  old: {{every: 1m, checks: [{tcp}]}}\n")
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    start = now - timedelta(minutes=20 + now.minute % 10)  # a 2m group runs at even minutes
    driver.tick(start)
    driver.deliver()
    driver.configure(
        f"groups:\n  old: {{every: 1m, checks: [{tcp}]}}\n  new: {{every: 2m, checks: [{tcp}]}}\n"
    )
    summary = driver.tick(start + timedelta(minutes=2))
    assert summary["dispatched"] == {"due": 2, "delayed": 0}
    assert {event["group"] for event, _ in driver.deliver()} == {"old", "new"}
    assert stored_runs(aws.table_name, "new", start, start + timedelta(minutes=3)) == [
        iso(start + timedelta(minutes=2))
    ]
    for minute in range(3, 12):  # the new group's runs stop being delivered
        driver.tick(start + timedelta(minutes=minute))
        driver.deliver(skip=lambda event: event["group"] == "new")
    watch = [a.document for a in aws.drain_alerts() if a.document["group"] == "vigil"]
    assert [(a["check"], a["status"]) for a in watch] == [("stalled/new", "unhealthy")]
    assert hashlib.sha256((REPO / "template.yaml").read_bytes()).hexdigest() == template_before


def test_queued_runs_wait_their_delay_on_the_real_queue(aws, runner_app, write_config, tcp_target):
    """moto's SQS honours DelaySeconds: a run queued 2 s ahead is not receivable before
    then, and delivered as an SQS event it is counted like any run."""
    import boto3

    from vigil.dispatch import RunQueue
    from vigil.environment.runner import runner_from_environment

    write_config(
        f"groups:\n  fast: {{every: 10s, checks: [{{name: port, type: tcp,"
        f" host: 127.0.0.1, port: {tcp_target.port}}}]}}\n"
    )
    runner = runner_from_environment(runner_app.DEFAULT_CONFIG)
    assert isinstance(runner.run_queue, RunQueue)  # the real one, on the template's queue
    minute = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=1)
    runner.clock = lambda: minute.timestamp() + 48.5  # the run at :50 is 2 s away
    summary = runner_app.handler({"tick": iso(minute)}, FakeLambdaContext(60_000))
    assert summary["dispatched"] == {"due": 5, "delayed": 1}

    sqs = boto3.client("sqs", region_name="us-east-1")
    url = aws.environment["HEALTHCHECK_RUN_QUEUE_URL"]
    sent = time.monotonic()
    due = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
    assert sorted(json.loads(m["Body"])["scheduled_time"] for m in due) == [
        iso(minute + timedelta(seconds=s)) for s in range(0, 50, 10)
    ]
    messages: list[dict[str, Any]] = []
    while not messages and time.monotonic() - sent < 10:
        messages = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1).get("Messages", [])
    waited = time.monotonic() - sent
    assert len(messages) == 1 and waited >= 1.0
    body = json.loads(messages[0]["Body"])
    assert body == {"group": "fast", "scheduled_time": iso(minute + timedelta(seconds=50))}
    answer = runner_app.handler(
        sqs_event([m["Body"] for m in [*due, *messages]]), FakeLambdaContext(60_000)
    )
    assert answer == {"batchItemFailures": []}
    assert stored_runs(aws.table_name, "fast", minute, minute + timedelta(minutes=1)) == [
        iso(minute + timedelta(seconds=s)) for s in range(0, 60, 10)
    ]


def test_a_failed_run_of_a_queue_batch_is_reported_and_the_others_counted(
    aws, runner_app, write_config, tcp_target
):
    """Partial batch failures: a run that raises is named in batchItemFailures (SQS
    delivers it again), a message that is no run event is dropped, the others counted."""
    write_config(
        f"groups:\n  fast: {{every: 10s, checks: [{{name: port, type: tcp,"
        f" host: 127.0.0.1, port: {tcp_target.port}}}]}}\n"
    )
    at = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=1)
    event = sqs_event(
        [
            {"group": "fast", "scheduled_time": iso(at)},
            {"group": "nope", "scheduled_time": iso(at)},  # an unknown group: the run fails
            "not json",  # not a run event: dropped, not retried
            {"group": "fast", "scheduled_time": iso(at + timedelta(seconds=10))},
        ]
    )
    answer = runner_app.handler(event, FakeLambdaContext(60_000))
    failed = [item["itemIdentifier"] for item in answer["batchItemFailures"]]
    assert failed == [event["Records"][1]["messageId"]]
    assert stored_runs(aws.table_name, "fast", at, at + timedelta(minutes=1)) == [
        iso(at),
        iso(at + timedelta(seconds=10)),
    ]
