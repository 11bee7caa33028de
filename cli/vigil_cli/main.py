"""The ``vigil`` developer command: validate, run, status, ping-url, demo.

A development tool (it lives in cli/, never in the Lambda layer). Every
subcommand has ``--help``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from vigil.durations import parse_duration
from vigil_cli.commands.ping_url import LOCAL_PING_PORT
from vigil_cli.costs import DEFAULT_RUN_CPU_MS
from vigil_cli.local.deployed import DEFAULT_STACK
from vigil_cli.local.local_aws import DEFAULT_CONFIG, TEMPLATE
from vigil_cli.local.local_state import DEFAULT_PATH as DEFAULT_LOCAL_STATE
from vigil_cli.screen import Screen

LOCAL_STATE_HELP = """\
local mode and its state:
  Without --aws, the command uses embedded AWS (moto, in this process) with the
  DynamoDB table and SNS topic made from template.yaml; no AWS account is needed.
  Embedded AWS lives in memory, so the table's items are kept in a file between
  commands: `vigil run` saves them when it ends, and `vigil run` and `vigil status`
  load them when they start. Default file: .vigil/local-table.json at the
  repository root (--local-state to use another). Delete it to start afresh.
  The file also names the configuration that `vigil run` used: `vigil status`
  shows that configuration's groups unless --config says otherwise.

--aws mode:
  Uses your normal AWS credentials and region (or --region) and the deployed
  stack's Outputs (HealthCheckTableName, AlertTopicArn); it creates nothing.
  `vigil status --aws` only reads. `vigil run --aws` writes results to the
  deployed table and can publish real alerts, so it also needs --yes.
"""


def _duration(text: str) -> float:
    try:
        return parse_duration(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, got {text!r}")
    return value


def _add_files(
    parser: argparse.ArgumentParser,
    *,
    config_default: Path | None = DEFAULT_CONFIG,
    config_help: str = "check configuration (default: functions/runner/checks.yaml)",
) -> None:
    parser.add_argument(
        "--config", type=Path, default=config_default, metavar="FILE", help=config_help
    )
    parser.add_argument(
        "--template",
        type=Path,
        default=TEMPLATE,
        metavar="FILE",
        help="SAM template (default: template.yaml at the repository root)",
    )


def _add_where(parser: argparse.ArgumentParser, *, local_state: bool = True) -> None:
    parser.add_argument(
        "--aws",
        action="store_true",
        help="use the deployed stack instead of embedded AWS (creates nothing)",
    )
    parser.add_argument(
        "--stack",
        default=DEFAULT_STACK,
        help=f"with --aws: the CloudFormation stack name (default: {DEFAULT_STACK})",
    )
    parser.add_argument("--region", help="with --aws: the AWS region (default: your AWS config)")
    if not local_state:
        return
    parser.add_argument(
        "--local-state",
        type=Path,
        default=DEFAULT_LOCAL_STATE,
        metavar="FILE",
        help="without --aws: where the embedded table is kept (default: .vigil/local-table.json)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="vigil",
        description="Vigil developer tool: validate the configuration, run the real runner "
        "handler locally or against a deployed stack, show check status, or watch a demo.",
        epilog="Start with `vigil demo` (about a minute, no AWS account needed).",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    formatter = argparse.RawDescriptionHelpFormatter

    validate = commands.add_parser(
        "validate",
        help="check the configuration against the runner in template.yaml; show the schedules",
        description="Validate the check configuration (every problem, with its key path; "
        "check timeouts against the runner's Timeout in the template), then show each "
        "group's schedule and, for a group run more often than every minute, what its "
        "extra runs cost a month (Lambda, SQS, DynamoDB at us-east-1 list prices). "
        "Exits 1 on any problem; a cost is information.",
    )
    _add_files(validate)
    validate.add_argument(
        "--run-cpu",
        type=_duration,
        default=DEFAULT_RUN_CPU_MS / 1000,
        metavar="DURATION",
        help="CPU time of one run on a full core, for the sub-minute cost (default: "
        f"{DEFAULT_RUN_CPU_MS:.0f}ms, a small group; `make bench` measures yours)",
    )

    run = commands.add_parser(
        "run",
        help="drive the real runner handler as AWS does, tick after tick",
        description="Drive the runner handler (functions/runner/app.py) as AWS does, on "
        "embedded AWS: each cycle is one tick, as EventBridge Scheduler sends it every "
        "minute (the first for the current minute, at once; each next one when its minute "
        "begins). The handler puts the minute's runs of every group (or --group) on the run "
        "queue (SQS; a sub-minute group's later runs delayed until their time), and each is "
        "delivered to the handler as an SQS event when it is due, in real time. Shows each "
        "run as it lands (each check's observed and confirmed status, latency and metrics) "
        "and every alert as it is delivered. With --aws, the stack's "
        "own tick keeps its schedule: each cycle runs every chosen group once from here, "
        "scheduled now, --every apart.",
        epilog=LOCAL_STATE_HELP,
        formatter_class=formatter,
    )
    run.add_argument("--group", help="run only this group (default: every group)")
    _add_files(run)
    run.add_argument(
        "--cycles",
        type=_positive,
        default=1,
        metavar="N",
        help="how many ticks, one a minute (default: 1)",
    )
    run.add_argument(
        "--every",
        type=_duration,
        default=None,
        metavar="DURATION",
        help="with --aws: pause between cycles, e.g. 5s, 1m, 0s (default: 5s)",
    )
    _add_where(run)
    run.add_argument(
        "--ping-port",
        type=_positive,
        default=LOCAL_PING_PORT,
        metavar="PORT",
        help="without --aws, when a group has heartbeat checks: serve the ping function on "
        f"http://127.0.0.1:PORT/ while running (default: {LOCAL_PING_PORT}; see vigil ping-url)",
    )
    run.add_argument(
        "--yes",
        action="store_true",
        help="with --aws: really write results to the deployed table and publish alerts to "
        "its topic",
    )

    status = commands.add_parser(
        "status",
        help="show the confirmed state of every check",
        description="Show each check's confirmed status, since when, and its latest "
        "observation (status, latency, reason) from the table.",
        epilog=LOCAL_STATE_HELP,
        formatter_class=formatter,
    )
    status.add_argument("--group", help="show only this group (default: every group)")
    _add_files(
        status,
        config_default=None,  # chosen by vigil_cli.commands.status.status_config
        config_help="check configuration whose groups are shown (default: the one the last "
        "`vigil run` used on this local state, else functions/runner/checks.yaml)",
    )
    _add_where(status)

    ping = commands.add_parser(
        "ping-url",
        help="print the URL each heartbeat check's job pings",
        description="Print <ping url><group>/<check>/<token> for each named heartbeat check "
        "(default: every one in the configuration). The token is an HMAC of group/check "
        "under the stack's ping key. With --aws: the deployed stack's URL and key (outputs "
        "PingUrl and PingKeySecretArn; reading the key needs secretsmanager:GetSecretValue). "
        "Without: the local stack's, served by `vigil run` on http://127.0.0.1:<--ping-port>/ "
        "while it runs, its key kept in .vigil/ping-key. Exits 2 if a named check is not a "
        "heartbeat check of the configuration.",
    )
    ping.add_argument("checks", nargs="*", metavar="GROUP/CHECK", help="heartbeat checks")
    _add_files(ping)
    _add_where(ping, local_state=False)
    ping.add_argument(
        "--ping-port",
        type=_positive,
        default=LOCAL_PING_PORT,
        metavar="PORT",
        help=f"without --aws: the local ping port (default: {LOCAL_PING_PORT})",
    )

    demo = commands.add_parser(
        "demo",
        help="watch Vigil catch failures and recoveries (about a minute, no AWS needed)",
        description="Start local targets (an HTTP service, a TCP port and, when PostgreSQL "
        "is installed, a throw-away database), then play the schedule with the real runner "
        "handler on embedded AWS: first a time-lapse, one tick per simulated minute, while a "
        "script breaks and repairs the targets; then one minute in real time with a group "
        "run every 10 s, whose runs the run queue delivers 10 s apart. Shows ticks, runs, "
        "transitions, alerts (email text and chat/webhook JSON) and CloudWatch metrics, then "
        "a summary. Leaves nothing behind, also on Ctrl-C; does not touch the local state "
        "of `vigil run`.",
    )
    demo.add_argument(
        "--every",
        type=_duration,
        default=1.0,
        metavar="DURATION",
        help="wall-clock time per cycle of the time-lapse (default: 1s)",
    )
    demo.add_argument(
        "--no-live",
        dest="live",
        action="store_false",
        help="leave out the minute played in real time (the demo then takes about 20 s)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    screen = Screen()
    if args.command == "validate":
        from vigil_cli.commands.validate import validate

        return validate(args.config, args.template, screen, cpu_ms=args.run_cpu * 1000)
    if args.command == "run":
        from vigil_cli.commands.run import run

        return run(args, screen)
    if args.command == "status":
        from vigil_cli.commands.status import status

        return status(args, screen)
    if args.command == "ping-url":
        from vigil_cli.commands.ping_url import ping_url

        return ping_url(args, screen)
    if args.command == "demo":
        from vigil_cli.commands.demo import demo

        return demo(screen, every=args.every, live=args.live)
    parser.print_help(sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
