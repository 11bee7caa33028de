"""The ``vigil`` developer command: validate, run, status, demo.

A development tool (it lives in cli/, never in the Lambda layer). Every
subcommand has ``--help``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from vigil.durations import parse_duration
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


def _add_where(parser: argparse.ArgumentParser) -> None:
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
        epilog="Start with `vigil demo` (about 30 s, no AWS account needed).",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    formatter = argparse.RawDescriptionHelpFormatter

    validate = commands.add_parser(
        "validate",
        help="check the configuration and its agreement with template.yaml",
        description="Validate the check configuration (every problem, with its key path; "
        "check timeouts against the runner's Timeout in the template), refuse a check "
        "interval shorter than its group's schedule, and compare the groups with the "
        "template's schedules. Exits 1 on any finding.",
    )
    _add_files(validate)

    run = commands.add_parser(
        "run",
        help="run the real runner handler, cycle after cycle",
        description="Invoke the runner handler (functions/runner/app.py) as EventBridge "
        "Scheduler would: every group of the configuration (or --group) once per cycle, "
        "with scheduled_time = now. Shows each check's observed and confirmed status, "
        "latency and metrics, and every alert as it is delivered.",
        epilog=LOCAL_STATE_HELP,
        formatter_class=formatter,
    )
    run.add_argument("--group", help="run only this group (default: every group)")
    _add_files(run)
    run.add_argument(
        "--cycles", type=_positive, default=1, metavar="N", help="how many runs (default: 1)"
    )
    run.add_argument(
        "--every",
        type=_duration,
        default=5.0,
        metavar="DURATION",
        help="pause between cycles, e.g. 5s, 1m, 0s (default: 5s)",
    )
    _add_where(run)
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

    demo = commands.add_parser(
        "demo",
        help="watch Vigil catch failures and recoveries (about 30 s, no AWS needed)",
        description="Start local targets (an HTTP service, a TCP port and, when PostgreSQL "
        "is installed, a throw-away database), then run the real runner handler on embedded "
        "AWS cycle after cycle, one simulated minute apart, while a script breaks and repairs "
        "them. Shows transitions, alerts (email text and chat/webhook JSON) and CloudWatch "
        "metrics, then a summary. Leaves nothing behind, also on Ctrl-C; does not touch "
        "the local state of `vigil run`.",
    )
    demo.add_argument(
        "--every",
        type=_duration,
        default=2.0,
        metavar="DURATION",
        help="wall-clock time per cycle (default: 2s)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    screen = Screen()
    if args.command == "validate":
        from vigil_cli.commands.validate import validate

        return validate(args.config, args.template, screen)
    if args.command == "run":
        from vigil_cli.commands.run import run

        return run(args, screen)
    if args.command == "status":
        from vigil_cli.commands.status import status

        return status(args, screen)
    if args.command == "demo":
        from vigil_cli.commands.demo import demo

        return demo(screen, every=args.every)
    parser.print_help(sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
