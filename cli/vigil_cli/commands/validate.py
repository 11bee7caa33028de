"""``vigil validate``: the check configuration, judged against the runner in template.yaml.

Every problem is printed at once, each with its key path
(``groups.core.checks[1].url: ...``). The configuration is validated against the
runner function's ``Timeout`` from the template (a check timeout that cannot finish
inside it is a problem). Then, for a valid configuration, each group's schedule,
and for a sub-minute group what its extra runs cost a month over running every
minute (``vigil_cli.costs``: the model and the prices; the Lambda memory is the
runner's ``MemorySize`` in the template). A cost is information, not a finding.
Returns 1 when there is any finding.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from vigil.config import GroupConfig, VigilConfig, load_config
from vigil.durations import format_duration
from vigil.exceptions import ConfigError
from vigil_cli.costs import DEFAULT_RUN_CPU_MS, SQS_BATCH, SubMinuteCost, sub_minute_extra
from vigil_cli.local.harness import function_memory_mb, function_timeout
from vigil_cli.local.template_file import load_template
from vigil_cli.screen import Screen, shown


def load_for_function(path: Path, timeout_s: float | None) -> VigilConfig:
    """``load_config(path)``, judged against the function's timeout when it is known.

    Raises ``ConfigError``.
    """
    return load_config(path, function_timeout=timeout_s)


def schedule_line(group: GroupConfig, cost: SubMinuteCost | None) -> str:
    """``group fast: every 10s - 5 more runs a minute than every 1m: about $0.68 a month
    (Lambda $0.20, SQS $0.18, DynamoDB $0.30)``; without ``cost``, only the schedule."""
    line = f"group {group.name}: {group.schedule.describe()}"
    if group.shards > 1:
        line += f" ({group.shards} shards)"
    if cost is None:
        return line
    runs = f"{cost.extra_runs_per_minute} more run{'s' * (cost.extra_runs_per_minute != 1)}"
    return (
        f"{line} - {runs} a minute than every 1m: about ${cost.total_usd:.2f} a month "
        f"(Lambda ${cost.lambda_usd:.2f}, SQS ${cost.sqs_usd:.2f}, "
        f"DynamoDB ${cost.dynamodb_usd:.2f})"
    )


def cost_model_note(cpu_ms: float, memory_mb: int) -> str:
    """How the sub-minute figures are made (printed under them)."""
    return (
        f"  cost model (us-east-1 list prices, no free tier): per extra run one Lambda "
        f"request and {format_duration(cpu_ms / 1000)} of CPU (--run-cpu) billed at the "
        f"runner's {memory_mb} MB arm64; SQS: a share of a SendMessageBatch ({SQS_BATCH} runs "
        f"to a request), one ReceiveMessage and one DeleteMessage per run (batch size 1); "
        f"DynamoDB: "
        f"2 writes (~1 unit each) and 1 read per run. Not counted: time waiting on "
        f"targets, CloudWatch Logs."
    )


def show_schedules(
    screen: Screen, config: VigilConfig, *, memory_mb: int | None, cpu_ms: float
) -> None:
    """One line per group; sub-minute groups with their extra cost when ``memory_mb`` is
    known (the template was read)."""
    priced = False
    for group in config.groups.values():
        cost = None
        if memory_mb is not None and group.schedule.every is not None:
            cost = sub_minute_extra(
                group.schedule.every, memory_mb=memory_mb, cpu_ms=cpu_ms, shards=group.shards
            )
        priced = priced or cost is not None
        screen.line(schedule_line(group, cost))
    if priced and memory_mb is not None:
        screen.note(cost_model_note(cpu_ms, memory_mb))


def validate(
    config_path: Path, template_path: Path, screen: Screen, *, cpu_ms: float = DEFAULT_RUN_CPU_MS
) -> int:
    findings = 0
    template: dict[str, Any] | None = None
    try:
        template = load_template(template_path)
    except (OSError, yaml.YAMLError, ValueError) as exc:
        screen.problem(f"{shown(template_path)}: cannot read the template: {exc}")
        findings += 1

    timeout_s = function_timeout(template) if template is not None else None
    config: VigilConfig | None = None
    try:
        config = load_for_function(config_path, timeout_s)
    except ConfigError as exc:
        count = len(exc.problems)
        screen.config_problems(
            f"{shown(config_path)}: {count} problem{'s' * (count != 1)}", exc.problems
        )
        findings += count

    if config is not None:
        memory_mb = function_memory_mb(template) if template is not None else None
        show_schedules(screen, config, memory_mb=memory_mb, cpu_ms=cpu_ms)
    if findings:
        screen.problem(f"FAILED: {findings} finding{'s' * (findings != 1)}")
        return 1
    assert config is not None and timeout_s is not None
    checks = sum(len(group.checks) for group in config.groups.values())
    screen.success(
        f"OK: {shown(config_path)} is valid ({len(config.groups)} groups, {checks} checks), "
        f"every check can finish inside the runner's Timeout of {timeout_s}s in "
        f"{shown(template_path)}"
    )
    return 0
