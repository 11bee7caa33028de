"""What the status API refuses: each error carries its HTTP status and the caller's message."""

from __future__ import annotations


class StatusQueryError(Exception):
    """A request the status API refuses; ``str()`` is the message for the caller."""

    status_code = 400


class NotFoundError(StatusQueryError):
    """An unknown group or check (the message names what exists)."""

    status_code = 404


class BadRequestError(StatusQueryError):
    """A parameter that cannot be used (the message says which and what was expected)."""

    status_code = 400
