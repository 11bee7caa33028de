"""Environment variables set for a while: the runner reads its settings from ``os.environ``."""

from __future__ import annotations

import os
from collections.abc import Mapping
from contextlib import AbstractContextManager
from typing import Any
from unittest import mock


def environ_set(values: Mapping[str, str]) -> AbstractContextManager[Any]:
    """Context manager: ``values`` put into ``os.environ`` while active.

    On exit ``os.environ`` is again exactly as it was on entry (variables added
    meanwhile are removed, changed ones restored).
    """
    return mock.patch.dict(os.environ, values)
