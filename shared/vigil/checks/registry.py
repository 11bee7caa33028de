"""The check types, each registered once: ``type`` name -> the package that implements it.

A check type is a package ``vigil/checks/<type>/`` of two modules:

- ``config.py``: its config model, a ``CheckConfig`` subclass with
  ``type: Literal["<type>"]``. Light (pydantic only): configuration loading
  imports the model of each type a config uses and validates its checks with it.
- ``check.py``: its ``Check`` subclass, the I/O. It may import heavy libraries
  (h11, pg8000, dnspython) at module level: it is imported only when a
  check of that type is built, so a group without postgres checks never
  imports pg8000 and the cold start stays low.

Adding a type touches its package, one line below, its tests and the README.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from vigil.checks.base import Check
    from vigil.checks.model import CheckConfig


class CheckType(NamedTuple):
    """Where one check type lives: ``<package>.config:<model>`` and ``<package>.check:<check>``."""

    package: str
    model: str
    check: str

    def config_model(self) -> type[CheckConfig]:
        """The type's config model (imports only its light ``config`` module)."""
        return getattr(importlib.import_module(f"{self.package}.config"), self.model)

    def check_class(self) -> type[Check]:
        """The type's check class (imports its ``check`` module, and the libraries it needs)."""
        return getattr(importlib.import_module(f"{self.package}.check"), self.check)


REGISTRY: dict[str, CheckType] = {
    "dns": CheckType("vigil.checks.dns", "DnsCheckConfig", "DnsCheck"),
    "heartbeat": CheckType("vigil.checks.heartbeat", "HeartbeatCheckConfig", "HeartbeatCheck"),
    "http": CheckType("vigil.checks.http", "HttpCheckConfig", "HttpCheck"),
    "postgres": CheckType("vigil.checks.postgres", "PostgresCheckConfig", "PostgresCheck"),
    "tcp": CheckType("vigil.checks.tcp", "TcpCheckConfig", "TcpCheck"),
}


def check_types() -> tuple[str, ...]:
    """The registered type names, sorted."""
    return tuple(sorted(REGISTRY))
