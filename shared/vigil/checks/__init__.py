"""Check types, registered once by their config ``type``.

Modules are imported on first use so that a group without a postgres check
never pays for importing pg8000.
"""

from __future__ import annotations

import importlib

from vigil.checks.base import Check, CheckResources, CheckResult, Probe, Status
from vigil.config import CheckConfig

# type -> "module:Class". One line to add a check type (plus its config model).
REGISTRY: dict[str, str] = {
    "http": "vigil.checks.http:HttpCheck",
    "postgres": "vigil.checks.postgres:PostgresCheck",
    "tcp": "vigil.checks.tcp:TcpCheck",
}

__all__ = ["REGISTRY", "Check", "CheckResources", "CheckResult", "Probe", "Status", "build_check"]


def check_class(type_name: str) -> type[Check]:
    module_name, _, class_name = REGISTRY[type_name].partition(":")
    return getattr(importlib.import_module(module_name), class_name)


def build_check(config: CheckConfig, resources: CheckResources) -> Check:
    """Instantiate the check type registered for ``config.type``."""
    return check_class(config.type)(config, resources)
