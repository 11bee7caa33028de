"""Durations as written in the configuration: ``500ms``, ``5s``, ``1m``, ``1h`` or seconds."""

from __future__ import annotations

import math
import re

_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_PATTERN = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)\s*$")
# Longer than any key needs (a year of maintenance, a heartbeat's period), and short
# enough for every datetime sum: an infinite or absurd duration is refused at load.
MAX_SECONDS = 3660 * 86400.0


def parse_duration(value: object) -> float:
    """Return ``value`` in seconds.

    Accepts a non-negative number (seconds) or a string such as ``"500ms"``,
    ``"5s"``, ``"1m"``, ``"1h"``, ``"1d"``, up to ``MAX_SECONDS`` (3660 days). Raises
    ``ValueError`` with the accepted forms otherwise (``inf`` and ``nan`` included).
    """
    if isinstance(value, bool):
        raise ValueError("expected a duration such as 500ms, 5s, 1m or 1h, got a boolean")
    if isinstance(value, int | float):
        if value < 0:
            raise ValueError(f"expected a non-negative duration, got {value}")
        return _bounded(float(value))
    if isinstance(value, str):
        match = _PATTERN.match(value)
        if match:
            return _bounded(float(match.group(1)) * _UNITS[match.group(2)])
        try:
            return parse_duration(float(value))
        except ValueError:
            pass
    raise ValueError(f"expected a duration such as 500ms, 5s, 1m or 1h, got {value!r}")


def _bounded(seconds: float) -> float:
    if not math.isfinite(seconds) or seconds > MAX_SECONDS:
        raise ValueError(f"expected a duration of at most 3660d, got {seconds:g} seconds")
    return seconds


def format_duration(seconds: float) -> str:
    """Render seconds the way a person would write them in the config."""
    if seconds < 1:
        return f"{round(seconds * 1000)}ms"
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"
