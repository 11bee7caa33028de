"""Expectation ops on JSON values (shared by PostgreSQL ``expect`` and HTTP ``json``)."""

from __future__ import annotations

import datetime as dt

import pytest
from pydantic import ValidationError

from vigil.checks.expect import Expectation, failure, json_equal


def expect(**op):
    return Expectation.model_validate(op)


@pytest.mark.parametrize(
    ("op", "value", "problem"),
    [
        ({"equals": 5}, 5, None),
        ({"equals": 5}, 5.0, None),
        ({"equals": 5}, "5", 'is "5" (a string), expected 5 (a number)'),
        ({"equals": True}, 1, "is 1 (a number), expected true (a boolean)"),
        ({"equals": 1}, True, "is true (a boolean), expected 1 (a number)"),
        ({"equals": None}, None, None),
        ({"equals": None}, 0, "is 0 (a number), expected null (null)"),
        ({"equals": "ok"}, "ok", None),
        ({"equals": [1, "a"]}, [1, "a"], None),
        ({"equals": [1, "a"]}, [1, "b"], 'is [1, "b"], expected [1, "a"]'),
        ({"equals": {"a": 1}}, {"a": 1.0}, None),
        ({"equals": {"a": 1}}, {"a": "1"}, 'is {"a": "1"}, expected {"a": 1}'),
        ({"not_equals": "down"}, "up", None),
        ({"not_equals": "down"}, "down", 'is "down", expected anything but "down"'),
        ({"not_equals": 5}, "5", None),
        ({"matches": "^v[0-9]+"}, "v12", None),
        ({"matches": "^v[0-9]+"}, "x12", 'is "x12", expected to match /^v[0-9]+/'),
        ({"matches": "^4"}, 42, None),
        ({"matches": "true"}, True, None),
        ({"matches": "x"}, None, "is null (null, not text), expected to match /x/"),
        ({"matches": "x"}, ["x"], 'is ["x"] (a list, not text), expected to match /x/'),
        ({"less_than": 5}, 4.5, None),
        ({"less_than": 5}, 5, "is 5, expected less than 5"),
        ({"less_than": 5}, "4", 'is "4" (a string, not a number), expected less than 5'),
        ({"less_than": 5}, False, "is false (a boolean, not a number), expected less than 5"),
        ({"greater_than": 0.5}, 1, None),
        ({"greater_than": 0.5}, 0.5, "is 0.5, expected greater than 0.5"),
        ({"exists": True}, 0, None),
        ({"exists": True}, None, "is null, expected to exist"),
        ({"exists": False}, None, None),
        ({"exists": False}, "x", 'is "x", expected not to exist'),
    ],
)
def test_ops_compare_json_values_by_type(op, value, problem):
    assert failure(expect(**op), value) == problem


def test_a_missing_value_fails_every_op_but_exists_false():
    assert failure(expect(exists=False), None, present=False) is None
    assert failure(expect(exists=True), None, present=False) == "is missing, expected to exist"
    assert failure(expect(equals=None), None, present=False) == "is missing, expected null"


def test_long_values_are_cut_and_a_custom_show_is_used():
    problem = failure(expect(equals="a"), "b" * 500)
    assert problem is not None and len(problem) < 100 and '..."' not in problem
    assert failure(expect(equals="a"), "secret", show=lambda v: "***") == 'is ***, expected "a"'


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (
            {},
            "expected exactly one of: equals, not_equals, matches, less_than, greater_than, "
            "exists (got none)",
        ),
        ({"equals": 1, "less_than": 2}, "(got equals, less_than)"),
        ({"matches": "("}, "not a valid regular expression"),
        ({"less_than": "5"}, "expected a number, got str '5'"),
        ({"less_than": True}, "expected a number, got bool True"),
        ({"exists": "yes"}, "valid boolean"),
        ({"equal": 5}, "Extra inputs are not permitted"),
    ],
)
def test_bad_expectations_are_refused(raw, message):
    with pytest.raises(ValidationError, match=message.replace("(", r"\(").replace(")", r"\)")):
        Expectation.model_validate(raw)


def test_yaml_dates_compare_as_their_iso_text():
    assert expect(equals=dt.date(2026, 1, 2)).equals == "2026-01-02"


def test_json_equal_is_reflexive_on_nested_values():
    value = {"a": [1, 2.5, None, True, {"b": "c"}]}
    assert json_equal(value, value) and not json_equal(value, {"a": [1, 2.5, None, 1, {"b": "c"}]})
