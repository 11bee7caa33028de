"""Several regions at once, for the end-to-end test of locations and quorum.

- ``Cloud``: one moto server on loopback; every region lives in it (moto keeps them
  apart by the region each request is signed for).
- ``Stack``: one region's stack, its resources created from template.yaml itself
  (``create_local_resources``), the runner's environment resolved against them, and an
  SQS queue subscribed to its alert topic, read back as a subscriber would.
- ``Worker``: one region's runner handler (``functions/runner/app.py``) in a process
  of its own, as a Lambda container in that region runs it: its own ``AWS_REGION``
  (so its own User-Agent and its own role among the locations), its own stack's
  variables, the same checks.yaml as the others (``tests.support.regions_worker``). A
  probe is given the home's table as the parameter ``HomeTableName`` gives it (there is
  no CloudFormation stack here to look it up by name).
- ``RegionalTarget``: a real HTTP server on loopback that answers each region as the
  test sets it, telling them apart by Vigil's ``User-Agent: Vigil (health check;
  <region>)``.
- ``Regions``: all of it together; ``run`` and ``tick`` send an event to several
  regions at once (they run concurrently, as their own ticks would start them) and
  return each region's answer.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import re
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
TEMPLATE = REPO / "template.yaml"
LOCALHOST = "127.0.0.1"
ACCOUNT = "123456789012"  # moto's
FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
}
ANSWER_TIMEOUT_S = 75.0  # a handler's answer: its context says 60 s remain, and it keeps to them
LOG_TAIL_CHARS = 4000


# ---------------------------------------------------------------------------------------
# AWS: one moto server, one stack per region
# ---------------------------------------------------------------------------------------


class Cloud:
    """A moto server on a loopback port, holding every region."""

    def __init__(self) -> None:
        from moto.server import ThreadedMotoServer

        self._server = ThreadedMotoServer(ip_address=LOCALHOST, port=0, verbose=False)

    def __enter__(self) -> Cloud:
        self._server.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.stop()

    @property
    def endpoint(self) -> str:
        host, port = self._server.get_host_and_port()
        return f"http://{host}:{port}"

    def environment(self, region: str) -> dict[str, str]:
        """What a process of ``region`` needs to reach this cloud (fake credentials)."""
        return {
            **FAKE_CREDENTIALS,
            "AWS_REGION": region,
            "AWS_DEFAULT_REGION": region,
            "AWS_ENDPOINT_URL": self.endpoint,
        }

    def client(self, service: str, region: str) -> Any:
        import boto3

        return boto3.client(
            service,
            region_name=region,
            endpoint_url=self.endpoint,
            aws_access_key_id=FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
            aws_session_token=FAKE_CREDENTIALS["AWS_SESSION_TOKEN"],
        )

    def reset(self) -> None:
        """Forget every resource of every region (moto's own reset)."""
        request = urllib.request.Request(f"{self.endpoint}/moto-api/reset", method="POST")
        with urllib.request.urlopen(request, timeout=10) as answer:
            answer.read()


@dataclass(frozen=True)
class Alert:
    """One alert as the SQS subscriber of a region's topic received it."""

    document: dict[str, Any]
    attributes: dict[str, str]

    @property
    def what(self) -> tuple[str, str, str, str]:
        """``(event, group, check, status)``, what a test usually compares."""
        d = self.document
        return (d["event"], d["group"], d["check"], d["status"])


@dataclass(frozen=True)
class Stack:
    """One region's deployed stack: its table, alert topic, and the subscriber's queue."""

    region: str
    table: str
    topic_arn: str
    inbox_url: str
    environment: dict[str, str] = field(repr=False, compare=False)  # the runner's

    def settings(self) -> tuple[Any, ...]:
        """What a runner started for this stack relies on: its names (the ping key's ARN
        aside, which is new on each deployment: the runner names it, never reads it)."""
        kept = {k: v for k, v in self.environment.items() if k != "HEALTHCHECK_PING_KEY_SECRET"}
        return (self.region, self.table, self.topic_arn, self.inbox_url, kept)


def deploy(cloud: Cloud, region: str, template: dict[str, Any]) -> Stack:
    """Create the template's resources in ``region`` and subscribe an inbox to its topic."""
    from vigil_cli.local.environ import environ_set
    from vigil_cli.local.resources import create_local_resources, runner_environment

    with environ_set(cloud.environment(region)):  # the template tools use boto3's defaults
        resources = create_local_resources(template, region=region)
        environment = runner_environment(template, resources)
    sqs = cloud.client("sqs", region)
    inbox = sqs.create_queue(QueueName="vigil-alerts-inbox")["QueueUrl"]
    inbox_arn = sqs.get_queue_attributes(QueueUrl=inbox, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    cloud.client("sns", region).subscribe(
        TopicArn=resources.topic_arn, Protocol="sqs", Endpoint=inbox_arn
    )
    return Stack(
        region=region,
        table=resources.table_name,
        topic_arn=resources.topic_arn,
        inbox_url=inbox,
        environment=environment,
    )


def drain(cloud: Cloud, stack: Stack) -> list[Alert]:
    """Every alert delivered to ``stack``'s inbox since the last call, in arrival order."""
    sqs = cloud.client("sqs", stack.region)
    delivered: list[Alert] = []
    while True:
        messages = sqs.receive_message(
            QueueUrl=stack.inbox_url, MaxNumberOfMessages=10, WaitTimeSeconds=0
        ).get("Messages", [])
        if not messages:
            return delivered
        for message in messages:
            envelope = json.loads(message["Body"])
            attributes = {k: v["Value"] for k, v in envelope.get("MessageAttributes", {}).items()}
            delivered.append(Alert(json.loads(envelope["Message"]), attributes))
            sqs.delete_message(QueueUrl=stack.inbox_url, ReceiptHandle=message["ReceiptHandle"])


# ---------------------------------------------------------------------------------------
# One region's runner, in a process of its own
# ---------------------------------------------------------------------------------------


class WorkerError(AssertionError):
    """A worker failed (its handler raised, it died, or it did not answer in time); the
    message ends with the tail of its log."""


class Worker:
    """``python -m tests.support.regions_worker`` with one region's environment.

    Protocol: one JSON line per event on its stdin (``{"id": n, "event": ...}``), one
    JSON line per answer on its stdout (``{"id": n, "result": ...}`` or ``{"id": n,
    "error": "..."}``); its logs (and whatever the handler prints, such as EMF metrics)
    go to ``log``. An answer to an earlier event (one that timed out) is skipped.
    """

    def __init__(self, region: str, environment: dict[str, str], log: Path):
        self.region, self.log = region, log
        inherited = {
            k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "HEALTHCHECK_"))
        }
        paths = [str(REPO / "shared"), str(REPO / "cli"), str(REPO)]
        self._log_file = open(log, "ab")  # noqa: SIM115 - closed with the worker
        self._process = subprocess.Popen(
            [sys.executable, "-m", "tests.support.regions_worker"],
            cwd=REPO,
            env={**inherited, **environment, "PYTHONPATH": os.pathsep.join(paths)},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log_file,
            text=True,
            bufsize=1,
        )
        self._answers: queue.Queue[str | None] = queue.Queue()
        self._reader = threading.Thread(target=self._read, name=f"worker-{region}", daemon=True)
        self._reader.start()
        self._sent = 0
        try:
            ready = self._next_line(ANSWER_TIMEOUT_S)
            if ready != {"ready": True}:
                raise self._failure(f"unexpected first line {ready!r}")
        except BaseException:
            self.close()
            raise

    def _read(self) -> None:
        assert self._process.stdout is not None
        for line in self._process.stdout:
            self._answers.put(line)
        self._answers.put(None)  # end of output: the process is gone

    def send(self, event: dict[str, Any]) -> None:
        assert self._process.stdin is not None
        self._sent += 1
        try:
            self._process.stdin.write(json.dumps({"id": self._sent, "event": event}) + "\n")
            self._process.stdin.flush()
        except OSError as exc:
            raise self._failure(f"cannot send {event!r}: {exc}") from None

    def receive(self, timeout: float = ANSWER_TIMEOUT_S) -> dict[str, Any]:
        """The answer to the last event sent (``WorkerError`` if the handler raised)."""
        deadline = time.monotonic() + timeout
        while True:
            answer = self._next_line(deadline - time.monotonic())
            if answer.get("id") == self._sent:
                break
        if "error" in answer:
            raise self._failure(f"the handler raised {answer['error']}")
        return answer["result"]

    def _next_line(self, timeout: float) -> dict[str, Any]:
        try:
            line = self._answers.get(timeout=max(0.0, timeout))
        except queue.Empty:
            raise self._failure(f"no answer within {ANSWER_TIMEOUT_S:g}s") from None
        if line is None:
            raise self._failure(f"the process ended (exit code {self._process.wait(5)})")
        return json.loads(line)

    def _failure(self, what: str) -> WorkerError:
        with contextlib.suppress(OSError):
            self._log_file.flush()
        try:
            tail = self.log.read_text(errors="replace")[-LOG_TAIL_CHARS:]
        except OSError:
            tail = "(no log)"
        return WorkerError(f"worker {self.region}: {what}\n--- its log ends with ---\n{tail}")

    def close(self) -> None:
        """End of input: the worker returns; killed if it does not within 10 s."""
        with contextlib.suppress(OSError):
            if self._process.stdin is not None:
                self._process.stdin.close()
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait(timeout=10)
        if self._process.stdout is not None:
            self._process.stdout.close()
        self._reader.join(timeout=5)
        self._log_file.close()


# ---------------------------------------------------------------------------------------
# The target: answers each region as told
# ---------------------------------------------------------------------------------------

UP, DOWN, DROP = "up", "down", "drop"  # 200 ok; 503; connection closed without an answer
USER_AGENT = re.compile(r"^Vigil \(health check; ([a-z0-9-]+)\)$")


def slow(ms: int) -> str:
    """The mode: 200 ok after ``ms`` milliseconds."""
    return f"slow:{ms}"


class RegionalTarget:
    """An HTTP server on loopback whose answer depends on the asking region.

    The region is read from the ``User-Agent`` Vigil sends; a request without one
    gets ``400 unknown location`` (so a check that lost its User-Agent fails loudly).
    Each request is recorded as ``(region or None, path)``.
    """

    def __init__(self) -> None:
        self._modes: dict[str, str] = {}
        self._lock = threading.Lock()
        self.requests: list[tuple[str | None, str]] = []
        target = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                match = USER_AGENT.match(self.headers.get("User-Agent", ""))
                region = match[1] if match else None
                with target._lock:
                    target.requests.append((region, self.path))
                    mode = target._modes.get(region or "", UP) if region else None
                if mode is None:
                    self._answer(400, b"unknown location")
                elif mode == UP:
                    self._answer(200, b"ok")
                elif mode == DOWN:
                    self._answer(503, b"down")
                elif mode == DROP:
                    self.close_connection = True  # closed with no answer at all
                else:
                    time.sleep(int(mode.removeprefix("slow:")) / 1000)
                    self._answer(200, b"ok")

            def _answer(self, status: int, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass  # quiet: the test reads ``requests``

        self._server = ThreadingHTTPServer((LOCALHOST, 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="regional-target", daemon=True
        )

    def __enter__(self) -> RegionalTarget:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)

    def url(self, path: str) -> str:
        return f"http://{LOCALHOST}:{self._server.server_address[1]}{path}"

    def answer(self, **modes: str) -> None:
        """Set the answer per region, by its name with ``_`` for ``-``:
        ``answer(eu_west_1=DOWN, us_east_1=slow(800))``; regions not named keep theirs."""
        with self._lock:
            self._modes.update({region.replace("_", "-"): mode for region, mode in modes.items()})

    def everywhere(self, mode: str, regions: Iterable[str]) -> None:
        with self._lock:
            self._modes.update(dict.fromkeys(regions, mode))

    def reset(self) -> None:
        with self._lock:
            self._modes.clear()
            self.requests.clear()

    def regions_seen(self, path: str) -> list[str | None]:
        with self._lock:
            return sorted((r for r, p in self.requests if p == path), key=str)


# ---------------------------------------------------------------------------------------
# All together
# ---------------------------------------------------------------------------------------


class Regions:
    """The home and its probes on one moto server, each with its runner process, and the
    target. ``config`` is the one checks.yaml every region's runner reads."""

    def __init__(self, home: str, probes: tuple[str, ...], workdir: Path):
        self.home, self.probes = home, probes
        self.regions = (home, *probes)
        self.workdir = workdir
        self.config = workdir / "checks.yaml"  # written by ``configure``
        self._config_mtime_ns = time.time_ns()
        self.stacks: dict[str, Stack] = {}
        self.workers: dict[str, Worker] = {}
        self._undo = contextlib.ExitStack()

    def __enter__(self) -> Regions:
        from vigil_cli.local.template_file import load_template

        with contextlib.ExitStack() as undo:
            self.cloud = undo.enter_context(Cloud())
            self.target = undo.enter_context(RegionalTarget())
            self._template = load_template(TEMPLATE)
            self.redeploy()
            for region in self.regions:
                environment = {
                    **self.cloud.environment(region),
                    **self.stacks[region].environment,
                    "HEALTHCHECK_CONFIG": str(self.config),
                }
                if region != self.home:  # as the parameter HomeTableName gives it
                    environment["HEALTHCHECK_HOME_TABLE"] = self.stacks[self.home].table
                worker = Worker(region, environment, self.workdir / f"runner-{region}.log")
                undo.callback(worker.close)
                self.workers[region] = worker
            self._undo = undo.pop_all()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._undo.close()

    def redeploy(self) -> None:
        """Every region's stack anew (nothing left of the last test), the target up
        everywhere. The runners keep running: their resources have the same names."""
        self.cloud.reset()
        self.target.reset()
        stacks = {region: deploy(self.cloud, region, self._template) for region in self.regions}
        if self.stacks and any(
            stacks[region].settings() != self.stacks[region].settings() for region in stacks
        ):
            raise AssertionError("a redeployed stack's names differ from the runners' settings")
        self.stacks = stacks

    def configure(self, text: str) -> None:
        """Write the checks.yaml all regions read; each runner loads it at its next event
        (its warm-start cache is keyed by the file's modification time, set here to a
        new one each time so that no two versions can share it)."""
        self.config.write_text(text)
        self._config_mtime_ns += 1_000_000_000
        os.utime(self.config, ns=(self._config_mtime_ns, self._config_mtime_ns))

    def send(self, event: dict[str, Any], regions: Iterable[str]) -> dict[str, dict[str, Any]]:
        """``event`` to each of ``regions`` at once; their answers once all have returned."""
        regions = list(regions)
        for region in regions:
            self.workers[region].send(event)
        return {region: self.workers[region].receive() for region in regions}

    def run(
        self, group: str, scheduled_time: str, regions: Iterable[str] | None = None
    ) -> dict[str, dict[str, Any]]:
        """A run of ``group`` at ``scheduled_time`` in ``regions`` (default: all at once)."""
        event = {"group": group, "scheduled_time": scheduled_time}
        return self.send(event, self.regions if regions is None else regions)

    def tick(self, tick: str, regions: Iterable[str]) -> dict[str, dict[str, Any]]:
        return self.send({"tick": tick}, regions)

    def alerts(self, region: str) -> list[Alert]:
        """The alerts ``region``'s topic delivered since the last call."""
        return drain(self.cloud, self.stacks[region])

    def home_store(self) -> Any:
        """The home's table, read as the status API would."""
        from vigil.store.dynamodb import DynamoDBStore

        client = self.cloud.client("dynamodb", self.home)
        return DynamoDBStore(self.stacks[self.home].table, client=client)

    def put_secret(self, region: str, name: str, value: str) -> None:
        """A Secrets Manager secret in ``region`` only (secrets are regional)."""
        self.cloud.client("secretsmanager", region).create_secret(Name=name, SecretString=value)
