"""``vigil validate``: the check configuration, and its agreement with template.yaml.

Every finding is printed at once: each configuration problem with its key path
(``groups.core.checks[1].url: ...``), each check whose ``interval`` is shorter than
its group's schedule, then each disagreement between the config's groups and the
template's schedules. The configuration is validated against the runner function's
``Timeout`` from the template (a check timeout that cannot finish inside it is a
problem). Returns 1 when there is any finding.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from vigil.config import VigilConfig, load_config
from vigil.exceptions import ConfigError
from vigil_cli.local.harness import function_timeout
from vigil_cli.local.template import drift, interval_findings, load_template, schedules
from vigil_cli.screen import Screen, shown


def _raw_group_names(path: Path) -> list[str] | None:
    """Group names of a config that failed validation, when the YAML still shows them."""
    try:
        raw: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return None
    groups = raw.get("groups") if isinstance(raw, dict) else None
    return [str(name) for name in groups] if isinstance(groups, dict) else None


def load_for_function(path: Path, timeout_s: float | None) -> VigilConfig:
    """``load_config(path)``, judged against the function's timeout when it is known.

    Raises ``ConfigError``.
    """
    return load_config(path, function_timeout=timeout_s)


def validate(config_path: Path, template_path: Path, screen: Screen) -> int:
    findings = 0
    template: dict[str, Any] | None = None
    try:
        template = load_template(template_path)
    except (OSError, yaml.YAMLError, ValueError) as exc:
        screen.problem(f"{shown(template_path)}: cannot read the template: {exc}")
        findings += 1

    config: VigilConfig | None = None
    problems: list[tuple[str, str]] = []
    try:
        config = load_for_function(
            config_path, function_timeout(template) if template is not None else None
        )
        groups = list(config.groups)
    except ConfigError as exc:
        problems += exc.problems
        groups = _raw_group_names(config_path)
    if config is not None and template is not None:
        problems += interval_findings(config.groups, template)
    if problems:
        count = len(problems)
        heading = f"{shown(config_path)}: {count} problem{'s' * (count != 1)}"
        screen.config_problems(heading, problems)
        findings += count

    if groups is not None and template is not None:
        disagreements = drift(groups, template)
        if disagreements:
            count = len(disagreements)
            screen.problem(
                f"{shown(config_path)} <-> {shown(template_path)}: "
                f"{count} disagreement{'s' * (count != 1)}"
            )
            for disagreement in disagreements:
                screen.line(f"  {disagreement}")
            findings += count

    if findings:
        screen.problem(f"FAILED: {findings} finding{'s' * (findings != 1)}")
        return 1
    assert config is not None and template is not None
    checks = sum(len(group.checks) for group in config.groups.values())
    rates = ", ".join(
        f"{schedule.group}: {schedule.expression}" for schedule in schedules(template)
    )
    screen.success(
        f"OK: {shown(config_path)} is valid ({len(config.groups)} groups, {checks} checks) "
        f"and {shown(template_path)} schedules every group ({rates})"
    )
    return 0
