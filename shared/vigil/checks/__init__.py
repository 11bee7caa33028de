"""Check types, registered once by their config ``type`` (see ``vigil.checks.registry``).

Each type's check module is imported on first use, so that a group without a
postgres check never pays for importing pg8000. The check interface itself
(``Check``, ``CheckResources``, ``Probe``: ssl, a thread pool, redaction) is also
imported on first use: loading a configuration imports ``vigil.checks.model``,
and the status function, which never runs a check, must not pay for it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from vigil.checks.model import CheckConfig
from vigil.checks.registry import REGISTRY, CheckType, check_types
from vigil.results import CheckResult, Status

if TYPE_CHECKING:
    from vigil.checks.base import Check, CheckResources, Probe

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
_INTERFACE = ("Check", "CheckResources", "Probe")


def __getattr__(name: str) -> Any:
    if name in _INTERFACE:
        from vigil.checks import base

        return getattr(base, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# Warm-start cache: each type's check class, looked up once per container (the import
# system's lookup costs ~10 us, and a run builds a check per due check).
_CLASSES: dict[str, type[Check]] = {}


def check_class(type_name: str) -> type[Check]:
    """The check class registered for ``type_name`` (imports its module on first use)."""
    found = _CLASSES.get(type_name)
    if found is None:
        found = _CLASSES[type_name] = REGISTRY[type_name].check_class()
    return found


def build_check(config: CheckConfig, resources: CheckResources) -> Check:
    """Instantiate the check type registered for ``config.type``."""
    return check_class(config.type)(config, resources)
