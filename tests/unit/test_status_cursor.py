"""History cursors on their own: what ``make_cursor`` returns reads back, anything else is a 400.

The same refusals through the API's route: tests/integration/test_status_api.py.
"""

from __future__ import annotations

import base64
import json

import pytest

from vigil.status.cursor import MAX_CURSOR_CHARS, make_cursor, read_cursor
from vigil.status.exceptions import BadRequestError

START, END = "2026-11-28T10:00:00Z", "2026-11-28T12:00:00Z"
INSIDE = "2026-11-28T11:00:00Z"


def encoded(data: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


def test_a_cursor_reads_back_as_its_run_key():
    cursor = make_cursor(INSIDE, START, END)
    assert len(cursor) < MAX_CURSOR_CHARS and "=" not in cursor
    assert read_cursor(cursor, START, END) == INSIDE
    assert read_cursor(make_cursor(START, START, END), START, END) == START  # the bounds are in
    assert read_cursor(make_cursor(END, START, END), START, END) == END


@pytest.mark.parametrize(
    "cursor",
    [
        "A" * (MAX_CURSOR_CHARS + 1),  # longer than ours: refused before it is decoded
        "%%%",  # not base64
        base64.urlsafe_b64encode(b"\xff\xfe").decode(),  # not JSON
        encoded(["a", "f", "t"]),  # not our object
        encoded({"a": INSIDE, "f": START}),  # a key missing
        encoded({"a": 1, "f": START, "t": END}),  # not a string
        encoded({"a": "RUN#2026", "f": START, "t": END}),  # not a time
        encoded({"a": "2026-11-28T11:00:00+00:00", "f": START, "t": END}),  # not as stored
        encoded({"a": "2026-11-28T09:59:00Z", "f": START, "t": END}),  # before the range
        encoded({"a": "2026-11-28T12:00:01Z", "f": START, "t": END}),  # after it
    ],
)
def test_a_cursor_that_is_not_ours_is_refused(cursor):
    with pytest.raises(BadRequestError, match="'cursor' is not one this API returned"):
        read_cursor(cursor, START, END)


def test_a_cursor_of_another_range_says_which_range_it_belongs_to():
    cursor = make_cursor(INSIDE, START, "2026-11-28T11:30:00Z")
    with pytest.raises(BadRequestError, match="belongs to another range") as refused:
        read_cursor(cursor, START, END)
    assert "2026-11-28T10:00:00Z to 2026-11-28T11:30:00Z" in str(refused.value)
    assert refused.value.status_code == 400
