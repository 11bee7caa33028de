"""The runner's event sources, played in this process against the real handler (dev only).

In AWS three services call the runner:

1. EventBridge Scheduler sends the tick ``{"tick": "<minute>"}`` once a minute;
2. Lambda's SQS event source polls the run queue, on which the tick puts every run
   of its minute (``DelaySeconds`` 0 for a run that is due, the seconds to go for a
   sub-minute group's later runs); it delivers each message, once its delay has
   passed, as an SQS event ``{"Records": [...]}`` (batch size 1), and deletes it
   when the handler reports no failure for it (else SQS delivers it again after
   the queue's visibility timeout);
3. Lambda's asynchronous invocation delivers what the runner sends with ``Invoke``
   (``InvocationType="Event"``): a sharded group's shard runs.

``LocalEventSources.play_tick`` plays the three for one minute against the real
handler (``RunnerHarness``) and yields each landing (the tick, then each time the
queue has runs to deliver: the runs due at once, then each later one at its time)
as a list of ``Delivery``. The run queue is the real one (the runner's ``RunQueue``
on moto, which keeps each message invisible for its ``DelaySeconds`` in real time):
this module sleeps until a run's time and then polls for it. The handler never
sleeps a delay; this module does. The runner keeps its real ``LambdaFanOut``, whose
client is ``LocalLambda``: a stand-in for the Lambda service that keeps each
invocation until it is delivered here (an invocation the runner sends is delivered
right after the one that sent it).

The runner the handler uses (the warm-start cache of ``vigil.environment.runner``)
gets, before every invocation: the fan-out; a clock ``clock_offset_s`` behind the
wall clock (0 unless given: the demo plays a minute of its own past in real time);
only ``only_group`` of the configuration when one is given; and a record of each
run's summary, since the handler answers an SQS event with its failures only.
"""

from __future__ import annotations

import json
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from vigil.times import iso, parse_time
from vigil_cli.local.harness import Invocation, RunnerHarness

TICK, INVOKE, QUEUE = "tick", "invoke", "queue"
MINUTE = timedelta(minutes=1)
POLL_S = 0.2  # between receives once a run is due (DelaySeconds is whole seconds)
LATE_S = 5.0  # how long after its time a queued run may still arrive before it is missing


class LocalLambda:
    """The Lambda service behind ``LambdaFanOut``: keeps each asynchronous ``Invoke`` and
    answers 202, as Lambda does once it has queued an event."""

    def __init__(self) -> None:
        self.pending: deque[dict[str, Any]] = deque()

    def invoke(self, *, FunctionName: str, InvocationType: str, Payload: bytes) -> dict[str, Any]:
        if InvocationType != "Event":
            raise ValueError(f"only asynchronous invocations are played, got {InvocationType}")
        self.pending.append(json.loads(Payload))
        return {"StatusCode": 202}


@dataclass
class Delivery:
    """One invocation of the handler by an event source.

    ``event`` is what the runner was asked (for a queue message: its body);
    ``invocation`` the handler call, whose ``summary`` for a run is the run's summary
    (for a queue message: the runner's, since the handler answers SQS with its
    failures only) and whose ``error`` says why the run failed; ``response`` is what
    the handler returned; ``delivered_at`` the wall-clock time of the call.
    """

    source: str
    event: dict[str, Any]
    invocation: Invocation
    response: Any
    delivered_at: float
    runner_now: float  # the runner's clock at the call (``delivered_at`` less any offset)
    state: Any = None  # the group (shard) state right after a run, when ``read_state`` is given

    @property
    def group(self) -> str | None:
        return self.event.get("group")

    @property
    def scheduled_time(self) -> str | None:
        return self.event.get("tick") or self.event.get("scheduled_time")

    @property
    def shard(self) -> int:
        return int(self.event.get("shard") or 0)

    @property
    def ok(self) -> bool:
        return self.invocation.ok


def sqs_event(message: dict[str, Any], queue_arn: str, region: str) -> dict[str, Any]:
    """The event Lambda's SQS event source sends for one received ``message``."""
    return {
        "Records": [
            {
                "messageId": message["MessageId"],
                "receiptHandle": message["ReceiptHandle"],
                "body": message["Body"],
                "attributes": dict(message.get("Attributes") or {}),
                "messageAttributes": {},
                "md5OfBody": message.get("MD5OfBody", ""),
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": region,
            }
        ]
    }


def minute_of(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(second=0, microsecond=0)


class LocalEventSources:
    """Scheduler, asynchronous invocation and the run queue's event source, for the
    handler that ``harness`` invokes in this process. See the module docstring.

    ``pause(seconds)`` sleeps (``InterruptWatch.pause`` to stop on Ctrl-C);
    ``check()`` is called before each invocation (``InterruptWatch.check``);
    ``read_state(group, shard)``, when given, after each run (``Delivery.state``).
    """

    def __init__(
        self,
        harness: RunnerHarness,
        *,
        queue_url: str,
        function_name: str,
        region: str,
        clock_offset_s: float = 0.0,
        only_group: str | None = None,
        read_state: Callable[[str, int], Any] | None = None,
        pause: Callable[[float], None] = time.sleep,
        check: Callable[[], None] = lambda: None,
    ):
        from vigil.fanout import LambdaFanOut

        self.harness = harness
        self.queue_url = queue_url
        self.region = region
        self.clock_offset_s = clock_offset_s
        self.only_group = only_group
        self.read_state = read_state
        self.pause = pause
        self.check = check
        self.lambda_service = LocalLambda()
        self.fan_out = LambdaFanOut(function_name, client=self.lambda_service)
        self.missing: list[tuple[str, str]] = []  # queued runs that never came, last tick
        self._runs: deque[tuple[Any, dict[str, Any] | None, BaseException | None]] = deque()
        self._queue_arn: str | None = None
        self._sqs: Any = None

    # ------------------------------------------------------------------ time

    def now(self) -> float:
        """The runner's clock (epoch seconds): the wall clock less ``clock_offset_s``."""
        return time.time() - self.clock_offset_s

    def wait_until(self, moment: datetime) -> None:
        """Sleep until the runner's clock reaches ``moment``."""
        left = moment.timestamp() - self.now()
        if left > 0:
            self.pause(left)

    # ------------------------------------------------------------------ the handler's runner

    def runner(self) -> Any:
        """The runner the handler will use, set up as the module docstring says (None when it
        cannot be built, e.g. an invalid configuration: the handler reports that itself)."""
        from vigil.environment.runner import runner_from_environment

        try:
            runner = runner_from_environment(
                self.harness.module.DEFAULT_CONFIG, function_timeout_s=self.harness.timeout_s
            )
        except Exception:  # the invocation itself fails the same way, and says why
            return None
        runner.fan_out = self.fan_out
        runner.clock = self.now
        if self.only_group is not None and set(runner.config.groups) != {self.only_group}:
            groups = {self.only_group: runner.config.group(self.only_group)}
            runner.config = runner.config._replace(groups=groups)
        if getattr(runner.run, "records_to", None) is not self._runs:
            runner.run = _recording(type(runner).run.__get__(runner), self._runs)
        return runner

    def _invoke(self, source: str, event: dict[str, Any], shown: dict[str, Any]) -> Delivery:
        self.check()
        self.runner()
        self._runs.clear()
        delivered_at, runner_now = time.time(), self.now()
        invocation = self.harness.invoke(event)
        delivery = Delivery(source, shown, invocation, invocation.summary, delivered_at, runner_now)
        if source == QUEUE:
            delivery.invocation = _run_of_message(invocation, self._runs)
        if source != TICK and self.read_state is not None and delivery.group:
            delivery.state = self.read_state(delivery.group, delivery.shard)
        return delivery

    # ------------------------------------------------------------------ one minute

    def play_tick(self, tick: datetime) -> Iterator[list[Delivery]]:
        """Send the tick of ``tick``'s minute and deliver its runs as they come due: first
        ``[the tick]``, then any runs it invoked, then each time the queue has runs to
        deliver (those due at once, then each later one at its time), those runs; each
        with the shard runs it fans out to. A run that has not come ``LATE_S`` after the
        minute's last run (or after the tick, when that was later), or at all when the tick
        failed, is left in ``missing``."""
        minute = minute_of(tick)
        runner = self.runner()
        groups = runner.config.groups.values() if runner is not None else ()
        expected = {
            (group.name, iso(moment))
            for group in groups
            for moment in group.schedule.runs_between(minute, minute + MINUTE)
        }
        event = {"tick": iso(minute)}
        sent = self._invoke(TICK, event, event)
        yield [sent]
        landed = self._deliver_invoked()
        expected -= {(d.group, d.scheduled_time) for d in landed if "shard" not in d.event}
        if landed:
            yield landed
        self.missing = []
        while expected and sent.ok:  # a failed tick queued nothing to wait for
            due = min(parse_time(when) for _, when in expected)
            last = max(parse_time(when).timestamp() for _, when in expected)
            if self.now() > max(last, sent.runner_now) + LATE_S:
                break
            self.wait_until(due)
            landing = []
            while (message := self._receive()) is not None:  # all that is visible now
                landing += [self._deliver_message(message), *self._deliver_invoked()]
            if not landing:
                self.pause(POLL_S)
                continue
            expected -= {(d.group, d.scheduled_time) for d in landing if d.source == QUEUE}
            yield landing
        self.missing = sorted(expected, key=lambda run: (run[1], run[0]))

    def _deliver_invoked(self) -> list[Delivery]:
        """Every pending asynchronous invocation (and those they send), oldest first."""
        delivered = []
        while self.lambda_service.pending:
            event = self.lambda_service.pending.popleft()
            delivered.append(self._invoke(INVOKE, event, event))
        return delivered

    # ------------------------------------------------------------------ the run queue

    @property
    def sqs(self) -> Any:
        if self._sqs is None:
            import boto3

            self._sqs = boto3.client("sqs", region_name=self.region)
            self._queue_arn = self._sqs.get_queue_attributes(
                QueueUrl=self.queue_url, AttributeNames=["QueueArn"]
            )["Attributes"]["QueueArn"]
        return self._sqs

    def _receive(self) -> dict[str, Any] | None:
        messages = self.sqs.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=1,  # the event source's batch size
            WaitTimeSeconds=0,
            AttributeNames=["All"],
        ).get("Messages", [])
        return messages[0] if messages else None

    def _deliver_message(self, message: dict[str, Any]) -> Delivery:
        """Deliver one message as an SQS event; delete it if the handler reports no
        failure for it (as the event source does with ``ReportBatchItemFailures``)."""
        try:
            body = json.loads(message["Body"])
        except ValueError:
            body = {}
        shown = body if isinstance(body, dict) else {}
        assert self._queue_arn is not None  # read with the client
        delivery = self._invoke(QUEUE, sqs_event(message, self._queue_arn, self.region), shown)
        answered = delivery.response  # None when the handler raised: the batch failed
        if isinstance(answered, dict) and not answered.get("batchItemFailures"):
            self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])
        return delivery


def _recording(run: Callable[..., Any], records: deque[Any]) -> Callable[..., Any]:
    """``run``, recording ``(request, summary dict, error)`` of each call in ``records``."""

    def recorded(request: Any, **kwargs: Any) -> Any:
        try:
            summary = run(request, **kwargs)
        except BaseException as exc:
            records.append((request, None, exc))
            raise
        records.append((request, summary.to_dict(), None))
        return summary

    recorded.records_to = records  # type: ignore[attr-defined]
    return recorded


def _run_of_message(invocation: Invocation, runs: deque[Any]) -> Invocation:
    """The invocation of an SQS event, as the run it made: its summary, or why it failed.

    With one message per batch, a failed run fails the whole batch, which Powertools
    reports by raising (a Lambda error): the run's own error is the one shown."""
    if not runs:  # the handler failed before running it, or dropped a message that is no run
        if not invocation.ok:
            return invocation
        problem = "; ".join(invocation.log_lines()) or "the message is not a run event"
        return replace(invocation, summary=None, error=ValueError(f"dropped: {problem}"))
    _, summary, error = runs[-1]
    failures = (invocation.summary or {}).get("batchItemFailures") if invocation.ok else None
    if error is None and (failures or not invocation.ok):
        error = invocation.error or RuntimeError("the run failed (batchItemFailures)")
    if error is not None:
        return replace(invocation, summary=None, error=error)
    return replace(invocation, summary=summary)
