"""History cursors: the opaque ``next`` of a history page, and the check that one is ours.

A cursor is unpadded URL-safe base64 of ``{"a": <run key the page ended on>,
"f": <from>, "t": <to>}``. It is not signed: it names only a run key, which is
accepted only if it is a canonical time inside the range the request asks for,
so a forged one reads nothing the caller could not ask for with ``from``/``to``.
"""

from __future__ import annotations

import base64
import binascii
import json

from vigil.status.exceptions import BadRequestError
from vigil.times import iso, parse_time

MAX_CURSOR_CHARS = 512  # ours are about 120; a longer one is refused before it is decoded


def make_cursor(after: str, start: str, end: str) -> str:
    """The cursor that continues behind run key ``after`` in ``start``..``end``."""
    raw = json.dumps({"a": after, "f": start, "t": end}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def read_cursor(cursor: str, start: str, end: str) -> str:
    """The run key a page ends on, from a cursor this API returned for ``start``..``end``.

    Anything else is a ``BadRequestError``: a cursor too long to be ours, not our
    encoding, or naming a run key that is not a time inside the range (which DynamoDB
    would refuse as a start key, or read outside the range the caller asked for).
    """
    unknown = BadRequestError(
        "'cursor' is not one this API returned; send back the 'next' of the previous page"
    )
    if len(cursor) > MAX_CURSOR_CHARS:
        raise unknown
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()))
        after, cursor_start, cursor_end = data["a"], data["f"], data["t"]
        if not all(isinstance(v, str) for v in (after, cursor_start, cursor_end)):
            raise ValueError
        after_time = parse_time(after)
    except (ValueError, KeyError, TypeError, binascii.Error, OverflowError):
        raise unknown from None
    if (cursor_start, cursor_end) != (start, end):
        raise BadRequestError(
            "'cursor' belongs to another range: send the same 'from' and 'to' as the page "
            f"that returned it ({cursor_start} to {cursor_end})"
        )
    if iso(after_time) != after or not start <= after <= end:
        raise unknown
    return after
