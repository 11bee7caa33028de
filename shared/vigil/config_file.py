"""Which configuration file a function reads: ``$HEALTHCHECK_CONFIG`` or its default.

Kept apart from ``vigil.config`` (pydantic and the check models) so that a function
that only needs the file's location - the ping function reads it lightly - does
not import the validation on its cold start. Standard library only.
"""

from __future__ import annotations

import os
from pathlib import Path

CONFIG_ENV = "HEALTHCHECK_CONFIG"


def resolve_config_path(default: Path) -> Path:
    """The config file a function reads: ``$HEALTHCHECK_CONFIG`` or ``default``.

    A relative ``HEALTHCHECK_CONFIG`` is read from the working directory, else from
    ``default``'s folder (beside the runner's ``checks.yaml``): the same rule for
    the runner, the notifier, the status and the ping function.
    """
    configured = os.environ.get(CONFIG_ENV)
    if not configured:
        return default
    path = Path(configured)
    if not path.is_absolute() and not path.exists() and (default.parent / path).exists():
        return default.parent / path
    return path
