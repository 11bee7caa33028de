"""The `vigil` command: validate, run, status (local and --aws under moto) and the demo."""

from __future__ import annotations

import io
import itertools
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pg8000.exceptions
import pytest

from vigil_cli.commands.demo import demo
from vigil_cli.local.local_aws import REPO, TEMPLATE
from vigil_cli.main import DEFAULT_CONFIG, build_parser, main
from vigil_cli.screen import Screen
from vigil_cli.targets import HttpTarget, PostgresError, PostgresServer


def vigil_command() -> list[str]:
    script = Path(sys.executable).with_name("vigil")
    return [str(script)] if script.exists() else [sys.executable, "-m", "vigil_cli.main"]


def run_vigil(*args: str, timeout: float = 60, **kwargs) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*vigil_command(), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        stdin=subprocess.DEVNULL,
        cwd=REPO,
        **kwargs,
    )


def write(tmp_path: Path, text: str, name: str = "checks.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def write_core(tmp_path: Path, *checks: str) -> Path:
    """A config of one group, ``core``, with these checks (each a YAML flow mapping)."""
    listed = "".join(f"      - {check}\n" for check in checks)
    return write(tmp_path, f"groups:\n  core:\n    checks:\n{listed}")


# ---------------------------------------------------------------- help and validate


@pytest.mark.parametrize("command", [[], ["validate"], ["run"], ["status"], ["ping-url"], ["demo"]])
def test_every_command_has_help(command, capsys):
    with pytest.raises(SystemExit) as exited:
        main([*command, "--help"])
    assert exited.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: vigil")
    if command in (["run"], ["status"]):
        assert ".vigil/local-table.json" in out  # where local mode keeps the table


def test_validate_reports_every_mistake_with_its_key_path(tmp_path, capsys):
    config = write(
        tmp_path,
        """
        groups:
          core:
            checks:
              - {name: api, type: http, url: "not a url"}
              - {name: cache, type: tcp, host: 127.0.0.1}
              - {name: api-slow, type: http, url: "https://x.example", timeout: soon}
          databases:
            checks:
              - {name: main-db, type: tcp, host: db.internal, port: 5432}
        """,
    )
    assert main(["validate", "--config", str(config)]) == 1
    out = capsys.readouterr().out
    assert "3 problems" in out
    assert "groups.core.checks[0].url: expected an http:// or https:// URL" in out
    assert "groups.core.checks[1].port: required key is missing" in out
    assert "groups.core.checks[2].timeout: expected a duration" in out
    assert "group core:" not in out  # schedules only for a valid configuration
    assert "FAILED: 3 findings" in out


def test_validate_shows_each_schedule_and_what_a_sub_minute_group_costs(tmp_path, capsys):
    """A new group is a config edit (the template has no per-group resource); a group run
    more often than every minute costs its extra runs, shown as information, not a finding."""
    config = write(
        tmp_path,
        """
        groups:
          core: {checks: [{name: a, type: tcp, host: 127.0.0.1, port: 1}]}
          payments:
            every: 10s
            checks: [{name: b, type: tcp, host: 127.0.0.1, port: 2}]
          nightly:
            cron: "0 3 * * *"
            timezone: Europe/Berlin
            checks: [{name: c, type: tcp, host: 127.0.0.1, port: 3}]
        """,
    )
    assert main(["validate", "--config", str(config)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[:3] == [
        "group core: every 1m",
        # 5 x 43,800 extra runs a month: Lambda 0.20/M requests + 30 ms of CPU at 256 MB
        # (0.207 s x 0.25 GB x 0.0000133334), SQS 2.1 requests a run at 0.40/M, DynamoDB
        # 2 writes at 0.625/M and 1 read at 0.125/M per run
        "group payments: every 10s - 5 more runs a minute than every 1m: about $0.68 a month "
        "(Lambda $0.20, SQS $0.18, DynamoDB $0.30)",
        "group nightly: cron '0 3 * * *' (Europe/Berlin)",
    ]
    assert lines[3].startswith("  cost model (us-east-1 list prices, no free tier): per extra run")
    assert "30ms of CPU (--run-cpu)" in lines[3] and "256 MB" in lines[3]
    assert lines[-1].startswith("OK: ")

    assert main(["validate", "--config", str(config), "--run-cpu", "300ms"]) == 0
    out = capsys.readouterr().out
    assert "(Lambda $1.56, SQS $0.18, DynamoDB $0.30)" in out  # ten times the CPU


def test_validate_refuses_an_interval_that_is_not_a_whole_number_of_runs(tmp_path, capsys):
    config = write(
        tmp_path,
        """
        groups:
          core:
            checks:
              - {name: every-run, type: tcp, host: 127.0.0.1, port: 1, interval: 1m}
              - {name: too-often, type: tcp, host: 127.0.0.1, port: 2, interval: 30s}
          databases:
            every: 5m
            checks:
              - {name: db, type: tcp, host: 127.0.0.1, port: 3, interval: 2m}
              - {name: hourly, type: tcp, host: 127.0.0.1, port: 4, interval: 1h}
        """,
    )
    assert main(["validate", "--config", str(config)]) == 1
    out = capsys.readouterr().out
    assert "2 problems" in out
    assert (
        "groups.core.checks[1].interval: interval 30s is not a multiple of the group's every (1m)"
    ) in out
    assert (
        "groups.databases.checks[0].interval: interval 2m is not a multiple of the group's "
        "every (5m)"
    ) in out
    assert "every-run" not in out and "hourly" not in out
    assert "FAILED: 2 findings" in out


def _template_with_timeouts(tmp_path: Path, own: int | None, inherited: int | None) -> Path:
    """template.yaml with the runner's own and the Globals' Timeout set or left out."""
    from vigil_cli.local.template_file import load_template

    template = load_template(TEMPLATE)  # short tags in their long forms: JSON can hold it
    runner = template["Resources"]["RunnerFunction"]["Properties"]
    for props, timeout in ((runner, own), (template["Globals"]["Function"], inherited)):
        props.pop("Timeout", None)
        if timeout is not None:
            props["Timeout"] = timeout
    path = tmp_path / "template.json"
    path.write_text(json.dumps(template))
    return path


@pytest.mark.parametrize(
    "own, inherited, expected", [(60, 30, 60), (None, 30, 30), (None, None, 3)]
)
def test_validate_judges_the_config_against_the_function_timeout(
    tmp_path, capsys, monkeypatch, own, inherited, expected
):
    """The runner's Timeout (its own, else Globals, else Lambda's 3 s) goes to load_config."""
    import vigil_cli.commands.validate

    seen = []
    real = vigil_cli.commands.validate.load_config

    def load_config(path, *, function_timeout=None):
        seen.append(function_timeout)
        return real(path, function_timeout=function_timeout)

    monkeypatch.setattr(vigil_cli.commands.validate, "load_config", load_config)
    template = _template_with_timeouts(tmp_path, own, inherited)
    # the example's 5 s check timeouts cannot finish inside Lambda's default of 3 s
    refused = expected == 3
    assert main(["validate", "--template", str(template)]) == int(refused)
    out = capsys.readouterr().out
    assert ("cannot finish inside the function's timeout of 3s" in out) is refused, out
    assert seen == [expected]


def test_validate_refuses_a_timeout_the_function_cannot_wait_for(tmp_path, capsys):
    config = write_core(tmp_path, "{name: slow, type: tcp, host: 127.0.0.1, port: 1, timeout: 2m}")
    assert main(["validate", "--config", str(config)]) == 1
    out = capsys.readouterr().out
    assert "groups.core.checks[0].timeout" in out


def test_validate_passes_the_example_config(capsys):
    assert build_parser().parse_args(["validate"]).config == DEFAULT_CONFIG
    assert main(["validate"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[:2] == ["group core: every 1m", "group databases: every 5m"]
    assert lines[2].startswith("OK: ") and "Timeout of 60s" in lines[2]
    assert len(lines) == 3  # no sub-minute group: no cost


# ---------------------------------------------------------------- run and status (local)


def test_run_plays_a_tick_and_shows_each_run(tmp_path, capsys, http_target, tcp_target):
    config = write(
        tmp_path,
        f"""
        groups:
          core:
            checks:
              - {{name: api, type: http, url: "{http_target.base_url}/ok"}}
              - {{name: cache, type: tcp, host: 127.0.0.1, port: {tcp_target.port}}}
          weekly:
            cron: "0 3 * * 0"
            checks: [{{name: report, type: tcp, host: 127.0.0.1, port: {tcp_target.port}}}]
        """,
    )
    state = tmp_path / "state.json"
    assert main(["run", "--config", str(config), "--local-state", str(state)]) == 0
    out = capsys.readouterr().out
    minute = re.search(r"tick 1/1 · (\d\d:\d\d):00Z · core 1 run; not this minute: weekly", out)
    assert minute, out  # the first tick is the current minute's, sent at once
    assert re.search(
        rf"  tick {minute[1]}:00Z \(sent {minute[1]}:\d\d\.\d(, \d+ s into its minute)?\): "
        r"1 run due and 0 delayed on the run queue; nothing stalled",
        out,
    )
    assert re.search(rf"{minute[1]}:00Z · core · run queue, delivered {minute[1]}:\d\d", out)
    header = ["group", "check", "observed", "latency", "confirmed", "reason"]
    assert [line.split() for line in out.splitlines()].count(header) == 1
    rows = [line.split() for line in out.splitlines() if line.startswith("core ")]
    assert [row[:3] for row in rows] == [["core", "api", "healthy"], ["core", "cache", "healthy"]]
    assert "metrics Vigil core: HealthyChecks=2" in out
    assert not [line for line in out.splitlines() if line.startswith("weekly ")]  # no run
    items = json.loads(state.read_text())["items"]
    assert {item["pk"]["S"].split("#")[1] for item in items} >= {"core", "~watch"}


def test_run_then_status_in_separate_processes(tmp_path, http_target):
    config = write_core(
        tmp_path,
        f'{{name: api, type: http, url: "{http_target.base_url}/ok"}}',
        f'{{name: broken, type: http, url: "{http_target.base_url}/status/503", '
        "failure_threshold: 1}",
    )
    state = ["--config", str(config), "--local-state", str(tmp_path / "state.json")]
    ran = run_vigil("run", *state)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert "transition core/broken: unknown -> unhealthy  (failure alert)" in ran.stdout
    assert "[FAILURE] core/broken is unhealthy" in ran.stdout  # delivered through SNS -> SQS
    assert "saved " in ran.stdout

    status = run_vigil("status", *state)
    assert status.returncode == 0, status.stdout + status.stderr
    assert "items restored from" in status.stdout
    lines = status.stdout.splitlines()
    rows = {line.split()[0]: line for line in lines if line.split()[:1] in (["api"], ["broken"])}
    assert rows["api"].split()[1] == "healthy"
    assert rows["broken"].split()[1] == "unhealthy"
    assert "HTTP 503, expected 2xx" in rows["broken"]
    assert "s ago" in rows["broken"]  # since when, and the latest run
    # availability 24 h / 7 d and the 24 h p95, from the status API's code
    assert "avail 24h" in status.stdout and "p95 24h" in status.stdout
    assert re.search(r" 100\.000% +100\.000% +[\d.]+ ms", rows["api"]), rows["api"]
    assert re.search(r" 0\.000% +0\.000% +- +HTTP 503", rows["broken"]), rows["broken"]


def test_status_shows_the_configuration_the_last_run_used(tmp_path, capsys, http_target):
    """`vigil run --config other.yaml`, then `vigil status`: other.yaml's checks, and why."""
    other = write(
        tmp_path,
        f"""\
        groups:
          web:
            checks:
              - {{name: shop, type: http, url: "{http_target.base_url}/ok"}}
        """,
        name="other.yaml",
    )
    state = ["--local-state", str(tmp_path / "state.json")]
    assert main(["run", "--config", str(other), *state]) == 0
    capsys.readouterr()

    assert main(["status", *state]) == 0
    out = capsys.readouterr().out
    assert f"showing the groups of {other} (the configuration of the last `vigil run`" in out
    rows = {line.split()[0]: line.split() for line in out.splitlines() if line.strip()}
    assert rows["shop"][1] == "healthy"
    assert "nothing recorded" not in out

    # Another configuration on purpose: its groups were never run here, and it says so.
    assert main(["status", "--config", str(DEFAULT_CONFIG), *state]) == 0
    out = capsys.readouterr().out
    assert f"showing the groups of {os.path.relpath(DEFAULT_CONFIG)} (--config)" in out
    for group in ("core", "databases"):
        assert (
            f"nothing recorded for group {group!r} in the local state: `vigil run` has not "
            f"run it (the last `vigil run` used {other}; `vigil status --config {other}` "
            f"shows its groups)"
        ) in out
    assert "shop" not in out


def test_status_falls_back_to_the_default_and_says_why(tmp_path, capsys, http_target):
    gone = write_core(tmp_path, f'{{name: api, type: http, url: "{http_target.base_url}/ok"}}')
    state = ["--local-state", str(tmp_path / "state.json")]
    assert main(["status", *state]) == 0  # no local state at all
    out = capsys.readouterr().out
    assert f"showing the groups of {os.path.relpath(DEFAULT_CONFIG)} (the default)" in out
    assert "nothing recorded for group 'core' in the local state" in out
    assert f"`vigil run --config {os.path.relpath(DEFAULT_CONFIG)}` runs it" in out

    assert main(["run", "--config", str(gone), *state]) == 0
    gone.unlink()
    capsys.readouterr()
    assert main(["status", *state]) == 0
    out = capsys.readouterr().out
    assert f"the last `vigil run` on {tmp_path / 'state.json'} used {gone}, which no longer" in out


def test_run_stops_between_runs_on_ctrl_c_and_keeps_the_state(tmp_path, http_target):
    """The wait for the next tick's minute ends at the signal; the table is still saved."""
    config = write_core(tmp_path, f'{{name: api, type: http, url: "{http_target.base_url}/ok"}}')
    state = tmp_path / "state.json"
    argv = ["run", "--config", str(config), "--local-state", str(state)]
    proc = subprocess.Popen(
        [*vigil_command(), *argv, "--cycles", "1000"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        text=True,
        cwd=REPO,
        start_new_session=True,
    )
    try:
        seen = []
        assert proc.stdout is not None
        for line in proc.stdout:
            seen.append(line)
            if line.startswith("core ") and "api" in line:  # the first run's row
                break
        os.killpg(proc.pid, signal.SIGINT)
        rest, _ = proc.communicate(timeout=30)  # not the next minute: the wait ended at once
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    out = "".join(seen) + rest
    assert proc.returncode == 130, out
    assert "interrupted (Ctrl-C) between runs" in rest
    assert "saved " in rest and json.loads(state.read_text())["items"]
    assert "tick 2/1000" not in out


# ---------------------------------------------------------------- --aws (moto)


@pytest.fixture
def deployed_stack(monkeypatch) -> Iterator[dict[str, str]]:
    """A plain CloudFormation stack whose Outputs name a table and topic made beforehand."""
    moto = pytest.importorskip("moto")
    import boto3

    from vigil_cli.local.resources import create_local_resources
    from vigil_cli.local.template_file import load_template

    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.setenv(key, "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    with moto.mock_aws():
        resources = create_local_resources(
            load_template(TEMPLATE), region="eu-west-1", stack_name="prod"
        )
        body = {
            "Resources": {"Unrelated": {"Type": "AWS::SNS::Topic"}},
            "Outputs": {
                "HealthCheckTableName": {"Value": resources.table_name},
                "AlertTopicArn": {"Value": resources.topic_arn},
                "RunQueueUrl": {"Value": resources.queues["RunQueue"]},
            },
        }
        boto3.client("cloudformation").create_stack(
            StackName="vigil-prod", TemplateBody=json.dumps(body)
        )
        sqs = boto3.client("sqs")
        queue = sqs.create_queue(QueueName="subscriber")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])
        boto3.client("sns").subscribe(
            TopicArn=resources.topic_arn, Protocol="sqs", Endpoint=arn["Attributes"]["QueueArn"]
        )
        yield {"table": resources.table_name, "topic": resources.topic_arn, "queue": queue}


def test_run_aws_uses_the_stack_outputs_and_creates_nothing(
    tmp_path, capsys, http_target, deployed_stack
):
    import boto3

    from vigil.store.dynamodb import DynamoDBStore

    config = write_core(
        tmp_path,
        f'{{name: broken, type: http, url: "{http_target.base_url}/status/500"}}',
    )

    def inventory():
        return (
            boto3.client("dynamodb").list_tables()["TableNames"],
            sorted(t["TopicArn"] for t in boto3.client("sns").list_topics()["Topics"]),
            boto3.client("sqs").list_queues()["QueueUrls"],
        )

    before = inventory()
    local_state = tmp_path / "local.json"
    argv = ["--aws", "--stack", "vigil-prod", "--config", str(config)]
    argv += ["--local-state", str(local_state)]
    assert main(["run", *argv, "--yes", "--cycles", "2", "--every", "0s"]) == 0
    out = capsys.readouterr().out
    assert f"AWS stack vigil-prod (eu-west-1) · table {deployed_stack['table']}" in out
    assert f"1 alert(s) published to {deployed_stack['topic']}" in out
    assert inventory() == before
    assert not local_state.exists()  # --aws keeps nothing locally

    store = DynamoDBStore(deployed_stack["table"])
    assert store.load_state("core").checks["broken"].status == "unhealthy"
    received = boto3.client("sqs").receive_message(QueueUrl=deployed_stack["queue"])
    alert = json.loads(json.loads(received["Messages"][0]["Body"])["Message"])
    assert (alert["event"], alert["check"]) == ("failure", "broken")

    assert main(["status", *argv]) == 0  # read-only: no --yes needed
    rows = [line.split() for line in capsys.readouterr().out.splitlines()]
    assert ["broken", "unhealthy"] in [row[:2] for row in rows]


def test_run_aws_names_a_missing_stack(capsys, deployed_stack):
    assert main(["run", "--aws", "--yes", "--stack", "nope"]) == 1
    assert "stack 'nope' not found in eu-west-1" in capsys.readouterr().out


def test_run_aws_without_yes_is_refused_before_any_aws_call_or_check(
    tmp_path, capsys, monkeypatch, tcp_target
):
    import botocore.session

    no_aws = raising(AssertionError("no AWS client may be created before --yes"))
    monkeypatch.setattr(botocore.session.Session, "create_client", no_aws)
    config = write_core(
        tmp_path,
        f"{{name: cache, type: tcp, host: 127.0.0.1, port: {tcp_target.port}}}",
    )
    connections = tcp_target.accepted
    local_state = tmp_path / "local.json"
    argv = ["--aws", "--config", str(config), "--local-state", str(local_state)]
    assert main(["run", *argv]) == 2
    out = capsys.readouterr().out
    assert "refused without --yes" in out
    assert "real alert" in out and "on-call" in out  # what would happen
    assert "vigil status --aws" in out and "add --yes" in out  # how to proceed
    assert tcp_target.accepted == connections  # no check ran
    assert not local_state.exists()


# ---------------------------------------------------------------- demo


@pytest.fixture
def demo_tmpdir() -> Iterator[Path]:
    """A TMPDIR for the demo; traversable, so PostgreSQL's OS user reaches its data as root."""
    directory = Path(tempfile.mkdtemp(prefix="vigil-demo-test-"))
    directory.chmod(0o755)
    yield directory
    for leftover in directory.iterdir():
        subprocess.run(["rm", "-rf", str(leftover)], check=False)
    directory.rmdir()


def processes_using(path: Path) -> list[str]:
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if str(path) in cmdline:
            found.append(f"{proc.name}: {cmdline}")
    return found


def test_demo_end_to_end(demo_tmpdir):
    result = run_vigil("demo", timeout=240, env={**os.environ, "TMPDIR": str(demo_tmpdir)})
    out = result.stdout
    assert result.returncode == 0, out + result.stderr
    for subject in (
        "[DEGRADED] core/api is degraded",
        "[FAILURE] core/api is unhealthy",
        "[RECOVERY] core/api is healthy",
        "[FAILURE] core/cache is unhealthy",
        "[REMINDER] core/cache is unhealthy",
        "[RECOVERY] databases/main-db is healthy",
        "[FAILURE] fast/checkout is unhealthy",
        "[RECOVERY] fast/checkout is healthy",
        "[FAILURE] jobs/backup is unhealthy",  # the heartbeat job missed its runs
        "[RECOVERY] jobs/backup is healthy",
    ):
        assert out.count(f"ALERT · email · subject: {subject}") == 1, subject
    assert '"event": "failure"' in out  # the JSON chat/webhook subscribers get
    assert "metrics Vigil core: HealthyChecks=" in out
    assert "repeated delivery" in out and "a repeated tick" in out
    assert out.count(": 3 runs due and 0 delayed on the run queue;") >= 13
    # the job pinged the real ping function, with its token: every ping admitted
    assert out.count("the backup job reports in: GET <ping url>/jobs/backup/<token>") == 8
    assert "-> 200" in out and "-> 404" not in out
    assert "late: expected by" in out  # degraded first, then past the grace

    # the live minute: the 10 s group's runs of :00 .. :50 come from the run queue, 10 s
    # of real time apart, each on a multiple of 10 s of the wall clock
    live = out[out.index("· live: one minute in real time ·") :]
    assert "core 1 run, jobs 1 run, databases 1 run, fast 6 runs ==" in live.splitlines()[0]
    assert ": 4 runs due and 5 delayed on the run queue; nothing stalled" in live
    queued = re.findall(
        r"\d\d:\d\d:(\d\d)Z · [a-z, ]*fast · run queue, delivered \d\d:\d\d:(\d\d\.\d) "
        r"\(\+([\d.]+) s\)",
        live,
    )
    assert [second for second, _, _ in queued] == ["00", "10", "20", "30", "40", "50"], live
    delivered = [float(at) for _, at, _ in queued]
    gaps = [(later - earlier) % 60 for earlier, later in itertools.pairwise(delivered)]
    assert all(9.0 <= gap <= 11.0 for gap in gaps), delivered
    assert all(at % 10 < 2.0 for at in delivered), delivered  # on :x0 of the wall clock
    assert all(0 <= float(late) < 2.0 for _, _, late in queued), queued
    assert "checkout starts failing (HTTP 503)." in live and "checkout is fixed." in live

    channels = out[out.index("== Notifications: alert core/api/failure@") :]
    for title in (
        "Slack ·",
        "Microsoft Teams ·",
        "PagerDuty ·",
        "Signed webhook ·",
        "AWS Chatbot ·",
    ):
        assert title in channels
    assert "X-Vigil-Signature checked by the receiver: valid" in channels
    assert "4 requests in all, nothing sent twice" in channels
    summary = out[out.index("== Vigil demo: summary ==") :]
    assert "alerts sent     12 (degraded 1, failure 5, recovery 5, reminder 1)" in summary
    assert "live minute     6 runs of fast at :00, :10, :20, :30, :40, :50, each delivered" in (
        summary
    )
    assert "alert core/cache: reminder (critical)" in out
    assert "DynamoDB items" in summary and "hourly rollups" in summary
    assert "cleaned up      PostgreSQL server" in summary
    # last: the status page's address, served for the demo's data (not waiting: no terminal)
    page = out[out.index("== Status page") :]
    assert re.search(r"http://127\.0\.0\.1:\d+/ +overall \w+, 6 checks", page), page
    assert "not on a terminal" in page
    assert "\x1b[" not in out  # plain text when not on a terminal
    assert processes_using(demo_tmpdir) == []
    assert list(demo_tmpdir.iterdir()) == []


@pytest.mark.parametrize("sig, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_demo_cleans_up_when_interrupted(demo_tmpdir, sig, code):
    """The signal goes to the whole process group, as a terminal's Ctrl-C does."""
    proc = subprocess.Popen(
        [*vigil_command(), "demo", "--every", "0.3s"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        text=True,
        cwd=REPO,
        env={**os.environ, "TMPDIR": str(demo_tmpdir)},
        start_new_session=True,  # its own process group, like a job in a terminal
    )
    try:
        seen = []
        assert proc.stdout is not None
        for line in proc.stdout:
            seen.append(line)
            if "cycle 3/" in line:
                break
        assert processes_using(demo_tmpdir), "PostgreSQL should be running by now"
        os.killpg(proc.pid, sig)
        rest, _ = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode == code, "".join(seen) + rest
    assert "interrupted" in rest and "PostgreSQL server" in rest
    assert processes_using(demo_tmpdir) == []
    assert list(demo_tmpdir.iterdir()) == []


# ---------------------------------------------------------------- demo, when something fails


def play_demo(monkeypatch, tmpdir: Path) -> tuple[int, str]:
    """The demo in this process, each cycle right after the last and without the live
    minute; its exit code and output.

    Also asserts that it left no process and no file behind.
    """
    monkeypatch.setattr(tempfile, "tempdir", str(tmpdir))
    out = io.StringIO()
    code = demo(Screen(out), every=0, live=False)
    assert processes_using(tmpdir) == []
    assert list(tmpdir.iterdir()) == []
    return code, out.getvalue()


def raising(error: Exception):
    def fail(*args, **kwargs):
        raise error

    return fail


@pytest.mark.parametrize(
    "method, error, problem, heading",
    [
        (
            "create_role",
            pg8000.exceptions.InterfaceError("connection refused"),
            "PostgreSQL could not be set up: connection refused: "
            "the database part of the demo is skipped",
            "cycle 13/13 · EventBridge Scheduler delivers the last tick again",
        ),
        (
            "stop",
            PostgresError("pg_ctl timed out\n--- server log tail ---\n..."),
            "PostgreSQL could not stop: pg_ctl timed out: the rest of the database part is skipped",
            "cycle 13/14 · The PostgreSQL server stops.",  # cycles 14 and 15 are left out
        ),
    ],
)
def test_demo_goes_on_without_a_failing_database(
    monkeypatch, demo_tmpdir, method, error, problem, heading
):
    monkeypatch.setattr(PostgresServer, method, raising(error))
    code, out = play_demo(monkeypatch, demo_tmpdir)
    assert code == 0, out
    assert problem in out and heading in out
    assert "The database is still down." not in out
    assert "== Vigil demo: summary ==" in out


def test_demo_says_where_it_failed_and_cleans_up(monkeypatch, demo_tmpdir):
    monkeypatch.setattr(PostgresServer, "available", classmethod(lambda cls: False))
    monkeypatch.setattr(HttpTarget, "script", raising(RuntimeError("the scripted endpoint broke")))
    code, out = play_demo(monkeypatch, demo_tmpdir)
    assert code == 1, out
    assert (
        "demo failed at cycle 2 (doing 'api failing:500' to the targets): "
        "the scripted endpoint broke" in out
    )
    assert "stopped and removed: HTTP and TCP targets, demo config directory" in out
    assert "summary" not in out


# ---------------------------------------------------------------- ping-url

HEARTBEATS = """\
groups:
  jobs:
    checks:
      - {name: backup, type: heartbeat, period: 1d}
      - {name: etl, type: heartbeat, cron: "0 3 * * *", timezone: Europe/Berlin}
      - {name: site, type: tcp, host: 127.0.0.1, port: 9}
"""


@pytest.fixture
def local_key(tmp_path, monkeypatch) -> Path:
    from vigil_cli.commands import ping_url

    path = tmp_path / "ping-key"
    monkeypatch.setattr(ping_url, "LOCAL_PING_KEY", path)
    return path


def printed_urls(out: str) -> dict[str, str]:
    return dict(line.split() for line in out.splitlines() if line.startswith("jobs/"))


def test_ping_url_prints_each_heartbeat_checks_url_under_the_local_key(tmp_path, capsys, local_key):
    from vigil.pings import parse_path, token_matches

    config = write(tmp_path, HEARTBEATS)
    assert main(["ping-url", "--config", str(config)]) == 0
    urls = printed_urls(capsys.readouterr().out)
    assert set(urls) == {"jobs/backup", "jobs/etl"}  # heartbeat checks only
    key = local_key.read_text().strip()
    assert len(key) == 48 and oct(local_key.stat().st_mode)[-3:] == "600"
    for name, url in urls.items():
        assert url.startswith("http://127.0.0.1:8788/")
        group, check, given, kind, _ = parse_path(url.removeprefix("http://127.0.0.1:8788"))
        assert f"{group}/{check}" == name and kind == "success"
        assert token_matches(key.encode(), group, check, given)
    # the same key next time: a URL put in a crontab keeps working
    assert main(["ping-url", "jobs/etl", "--config", str(config), "--ping-port", "9000"]) == 0
    again = printed_urls(capsys.readouterr().out)
    assert again == {"jobs/etl": urls["jobs/etl"].replace(":8788/", ":9000/")}


def test_ping_url_refuses_a_check_that_is_no_heartbeat(tmp_path, capsys, local_key):
    config = write(tmp_path, HEARTBEATS)
    for name in ("jobs/site", "jobs/nope", "backup"):
        assert main(["ping-url", name, "--config", str(config)]) == 2
        out = capsys.readouterr().out
        assert f"{name}: no such heartbeat check" in out
        assert "its heartbeat checks: jobs/backup, jobs/etl" in out
    assert not local_key.exists()  # nothing made for a refused request


def test_ping_url_aws_uses_the_stacks_url_and_key(tmp_path, capsys, monkeypatch):
    moto = pytest.importorskip("moto")
    import boto3

    from vigil.pings import token

    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.setenv(key, "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    config = write(tmp_path, HEARTBEATS)
    with moto.mock_aws():
        secret = boto3.client("secretsmanager").create_secret(Name="ping", SecretString="k" * 48)
        url = "https://abc.lambda-url.eu-west-1.on.aws/"
        body = {
            "Resources": {"Unrelated": {"Type": "AWS::SNS::Topic"}},
            "Outputs": {
                "PingUrl": {"Value": url},
                "PingKeySecretArn": {"Value": secret["ARN"]},
            },
        }
        boto3.client("cloudformation").create_stack(
            StackName="vigil", TemplateBody=json.dumps(body)
        )
        assert main(["ping-url", "jobs/backup", "--aws", "--config", str(config)]) == 0
        urls = printed_urls(capsys.readouterr().out)
        assert urls == {"jobs/backup": f"{url}jobs/backup/{token(b'k' * 48, 'jobs', 'backup')}"}
        assert main(["ping-url", "--aws", "--stack", "other", "--config", str(config)]) == 1
        assert "stack 'other' not found in eu-west-1" in capsys.readouterr().out

        # With locations, the URLs are the home's (a probe's ping function counts nothing):
        # the default region is then the home's, and a probe's region is refused.
        located = write(
            tmp_path, "locations: {home: eu-west-1, probes: [us-east-1]}\n" + HEARTBEATS
        )
        monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
        assert main(["ping-url", "jobs/backup", "--aws", "--config", str(located)]) == 0
        assert printed_urls(capsys.readouterr().out) == urls
        probe = ["ping-url", "--aws", "--region", "us-east-1", "--config", str(located)]
        assert main(probe) == 1
        assert "--region us-east-1 is a probe of locations" in capsys.readouterr().out


def test_vigil_run_serves_the_ping_function_under_the_local_key(tmp_path, local_key):
    """The door `vigil run` serves on loopback is the real ping function: a job pings the
    URL `vigil ping-url` prints, a wrong token is a 404, and the ping is stored."""
    from urllib.error import HTTPError
    from urllib.request import Request, urlopen

    from vigil.config import load_config
    from vigil.pings import token
    from vigil.store.pings import PingStore
    from vigil_cli.commands.ping_url import local_ping_door
    from vigil_cli.local.local_aws import LocalAws

    config = write(tmp_path, HEARTBEATS)
    groups = list(load_config(config).groups.values())
    screen = Screen(io.StringIO())
    with LocalAws(TEMPLATE, config=config) as aws, local_ping_door(screen, aws, groups, 0) as base:
        assert base is not None
        key = local_key.read_text().strip().encode()
        with urlopen(f"{base}jobs/backup/{token(key, 'jobs', 'backup')}/start", timeout=10) as ok:
            assert (ok.status, ok.read()) == (200, b"OK")
        with pytest.raises(HTTPError) as refused:
            urlopen(f"{base}jobs/backup/{token(b'x' * 48, 'jobs', 'backup')}", timeout=10)
        assert refused.value.code == 404
        summary = PingStore(aws.table_name).summary("jobs", "backup")
        assert summary.last_kind == "start" and len(summary.starts) == 1
        # `curl --data-binary @backup.log .../3`: the body's first line says why it failed
        failed = f"{base}jobs/backup/{token(key, 'jobs', 'backup')}/3"
        for data, kind in ((b"pg_dump: error\nmore", "text/plain"), (b"\xff\x00bin", "x/y")):
            with urlopen(Request(failed, data, {"Content-Type": kind}), timeout=10) as ok:
                assert ok.status == 200
            summary = PingStore(aws.table_name).summary("jobs", "backup")
            assert summary.failure_excerpt == data.decode("utf-8", errors="replace")
    assert "heartbeat pings: http://127.0.0.1:" in screen.file.getvalue()
