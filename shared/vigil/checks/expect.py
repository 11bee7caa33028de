"""Expectations on a value: ``{<op>: <value>}`` with one op, judged on JSON values by type.

Shared by every check that asserts on a value it read: PostgreSQL's
``expect`` (the first column of the first row), HTTP's ``json`` assertions
(``{path: <JMESPath>, <op>: <value>}``: subclass ``Expectation`` and add
``path``). The value passes ``<op>`` when it is:

- ``equals`` / ``not_equals``: equal / not equal by JSON type: ``5`` is not
  ``"5"``, ``true`` is not ``1``; ``5`` equals ``5.0``;
- ``matches``: text (a string, or a number's or boolean's JSON text) in which
  the regular expression is found;
- ``less_than`` / ``greater_than``: a number (not a boolean) below / above;
- ``exists``: ``true``: present and not null; ``false``: missing or null.

``failure(expectation, value, present=...)`` returns ``None`` when the value
passes, else what was wrong (``is 7, expected less than 5``), for the caller
to prefix with what the value is (``first column``, ``json `status```).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable
from typing import Any, ClassVar

from pydantic import StrictBool, field_validator, model_validator

from vigil.checks.model import StrictModel, check_regex

OPS = ("equals", "not_equals", "matches", "less_than", "greater_than", "exists")
SHOWN_CHARS = 60  # the most of a value a failure quotes


class Expectation(StrictModel):
    """One op and its value; exactly one op per expectation."""

    ops: ClassVar[tuple[str, ...]] = OPS

    equals: Any = None
    not_equals: Any = None
    matches: str | None = None
    less_than: int | float | None = None
    greater_than: int | float | None = None
    exists: StrictBool | None = None

    @field_validator("equals", "not_equals", mode="before")
    @classmethod
    def _json_value(cls, value: Any) -> Any:
        return _json_value(value)

    @field_validator("matches")
    @classmethod
    def _regex(cls, value: str | None) -> str | None:
        if value is not None:
            check_regex(value)
        return value

    @field_validator("less_than", "greater_than", mode="before")
    @classmethod
    def _number(cls, value: Any) -> Any:
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
            raise ValueError(f"expected a number, got {type(value).__name__} {value!r}")
        return value

    @model_validator(mode="after")
    def _one_op(self) -> Expectation:
        given = [op for op in OPS if op in self.model_fields_set]
        if len(given) != 1:
            ops = ", ".join(OPS)
            got = f"got {', '.join(given)}" if given else "got none"
            raise ValueError(f"expected exactly one of: {ops} ({got})")
        return self

    @property
    def op(self) -> str:
        return next(op for op in OPS if op in self.model_fields_set)

    @property
    def operand(self) -> Any:
        return getattr(self, self.op)

    def describe(self) -> str:
        """What is expected, as a person would say it: ``less than 5``."""
        op, operand = self.op, self.operand
        if op == "exists":
            return "to exist" if operand else "not to exist"
        if op == "matches":
            return f"to match /{operand}/"
        words = {"equals": "", "not_equals": "anything but ", "less_than": "less than "}
        return f"{words.get(op, 'greater than ')}{shown(operand)}"


def failure(
    expectation: Expectation,
    value: Any,
    *,
    present: bool = True,
    show: Callable[[Any], str] | None = None,
) -> str | None:
    """``None`` if ``value`` meets ``expectation``, else ``is <value>, expected <...>``.

    ``present=False``: there is no value at all (no row, no such JSON path).
    ``show`` renders a value the target sent (default ``shown``); a check passes
    its own, which masks credentials.
    """
    show = show or shown
    op, operand = expectation.op, expectation.operand
    expected = f"expected {expectation.describe()}"
    if op == "exists":
        exists = present and value is not None
        if exists is operand:
            return None
        return f"is {show(value)}, {expected}" if present else f"is missing, {expected}"
    if not present:
        return f"is missing, {expected}"
    if op in ("equals", "not_equals"):
        if json_equal(value, operand) is (op == "equals"):
            return None
        if op == "equals" and _kind(value) != _kind(operand):
            return f"is {show(value)} ({_kind(value)}), {expected} ({_kind(operand)})"
        return f"is {show(value)}, {expected}"
    if op == "matches":
        text = value if isinstance(value, str) else None
        if isinstance(value, bool | int | float):
            text = json.dumps(value)
        if text is None:
            return f"is {show(value)} ({_kind(value)}, not text), {expected}"
        return None if re.search(operand, text) else f"is {show(value)}, {expected}"
    if isinstance(value, bool) or not isinstance(value, int | float):
        return f"is {show(value)} ({_kind(value)}, not a number), {expected}"
    passed = value < operand if op == "less_than" else value > operand
    return None if passed else f"is {show(value)}, {expected}"


def json_equal(a: Any, b: Any) -> bool:
    """Equality of JSON values by type: numbers by value (5 == 5.0), never across types."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a is b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return a == b
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(json_equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(json_equal(a[k], b[k]) for k in a)
    if a is None or b is None:
        return a is None and b is None
    return type(a) is type(b) and a == b


def shown(value: Any) -> str:
    """A value as JSON, cut to ``SHOWN_CHARS``."""
    text = json.dumps(value, ensure_ascii=True, default=str)
    return text if len(text) <= SHOWN_CHARS else text[: SHOWN_CHARS - 3] + "..."


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    return "a list" if isinstance(value, list) else "an object"


def _json_value(value: Any) -> Any:
    """A YAML value as JSON: an unquoted YAML date or time becomes its ISO 8601 text."""
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if isinstance(value, list):
        return [_json_value(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _json_value(v) for k, v in value.items()}
    return value
