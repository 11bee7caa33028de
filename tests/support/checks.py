"""Run one check once, as the runner would: parsed from its config keys, built, run."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from vigil.checks import CheckResources, CheckResult, build_check
from vigil.config import parse_config


def run_once(
    check: dict[str, Any], *, base_dir: Path | None = None, secrets: dict[str, Any] | None = None
) -> CheckResult:
    """The result of the check ``check`` (its config keys, ``name`` defaulting to ``c``);
    ``secrets``, if given, answer its Secrets Manager lookups by name (else there is no
    secret store)."""
    config = parse_config(
        {"groups": {"g": {"checks": [{"name": "c", **check}]}}}, base_dir=base_dir
    )
    resources = CheckResources(get_secret=None if secrets is None else secrets.__getitem__)
    try:
        return asyncio.run(build_check(config.group("g").checks[0], resources).run())
    finally:
        resources.close()
