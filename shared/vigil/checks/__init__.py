"""Check types, registered once by their config ``type`` (see ``vigil.checks.registry``).

Each type's check module is imported on first use, so that a group without a
postgres check never pays for importing pg8000.
"""

from __future__ import annotations

from vigil.checks.base import Check, CheckResources, CheckResult, Probe, Status
from vigil.checks.model import CheckConfig
from vigil.checks.registry import REGISTRY, CheckType, check_types

__all__ = [
    "REGISTRY",
    "Check",
    "CheckResources",
    "CheckResult",
    "CheckType",
    "Probe",
    "Status",
    "build_check",
    "check_class",
    "check_types",
]


def check_class(type_name: str) -> type[Check]:
    """The check class registered for ``type_name`` (imports its module on first use)."""
    return REGISTRY[type_name].check_class()


def build_check(config: CheckConfig, resources: CheckResources) -> Check:
    """Instantiate the check type registered for ``config.type``."""
    return check_class(config.type)(config, resources)
