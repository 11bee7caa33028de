"""Errors raised by Vigil. Each one carries what a person needs to act on it."""

from __future__ import annotations


class VigilError(Exception):
    """Base class of every error Vigil raises on purpose."""


class ConfigError(VigilError):
    """The check configuration is invalid.

    ``problems`` lists every finding as ``(key path, what was expected)``; the
    message names the file and all of them, so one run shows every mistake.
    """

    def __init__(self, source: str, problems: list[tuple[str, str]]):
        self.source = source
        self.problems = problems
        lines = "\n".join(f"  {path}: {message}" for path, message in problems)
        count = len(problems)
        noun = "problem" if count == 1 else "problems"
        super().__init__(f"invalid configuration {source} ({count} {noun}):\n{lines}")


class UnknownGroupError(VigilError):
    """The event named a group the configuration does not define."""

    def __init__(self, group: str, known: list[str]):
        self.group = group
        self.known = known
        super().__init__(
            f"unknown group {group!r}; the configuration defines: {', '.join(known) or '(none)'}"
        )


class InvalidEventError(VigilError):
    """The handler event is not ``{"group": ..., "scheduled_time": ...}``."""


class CheckSetupError(VigilError):
    """A check could not run for a reason of its own (missing secret, bad setting).

    The runner reports such a check as status ``error`` rather than ``unhealthy``.
    """


class StoreConflictError(VigilError):
    """Another invocation changed the group's state first; re-read and retry."""


class AlertDeliveryError(VigilError):
    """Publishing an alert failed; it stays pending and is retried later."""


class RunDeadlineError(VigilError):
    """An AWS call was not made (or not retried) because the run's deadline was near."""


class HistoryWriteError(VigilError):
    """The run was counted but its history record could not be written."""
