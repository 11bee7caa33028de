import pytest
from hypothesis import given
from hypothesis import strategies as st

from vigil.checks.base import CheckResult, Status
from vigil.rollups import PeriodRollups, Rollup, period_of


def result(status=Status.HEALTHY, latency=100.0, name="api"):
    return CheckResult(name, status, "", latency)


def test_counts_and_availability():
    rollup = Rollup()
    for status in [Status.HEALTHY] * 6 + [Status.DEGRADED, Status.UNHEALTHY, Status.ERROR]:
        rollup.add(result(status))
    assert (rollup.runs, rollup.healthy, rollup.degraded, rollup.failures, rollup.errors) == (
        9,
        6,
        1,
        1,
        1,
    )
    assert rollup.availability == pytest.approx(7 / 8)  # errors are not judged
    assert rollup.latency_count == 7  # latency of passing runs only
    assert Rollup().availability is None and Rollup().quantile(0.5) is None


@given(st.lists(st.floats(1, 60_000), min_size=1, max_size=300), st.sampled_from([0.5, 0.95]))
def test_sketch_quantiles_are_within_ten_percent(latencies, q):
    rollup = Rollup()
    for latency in latencies:
        rollup.add(result(latency=latency))
    ordered = sorted(latencies)
    exact = ordered[int(q * (len(ordered) - 1))]
    assert rollup.quantile(q) == pytest.approx(exact, rel=0.1)
    assert rollup.latency_max == pytest.approx(max(latencies), abs=0.1)


def test_merge_equals_adding_everything_once():
    a, b, both = Rollup(), Rollup(), Rollup()
    for i, latency in enumerate([10, 200, 30, 4000, 55]):
        (a if i % 2 else b).add(result(latency=latency))
        both.add(result(latency=latency))
    merged = a.merge(b)
    assert merged.to_dict() == both.to_dict()


def test_round_trip_and_periods():
    period = PeriodRollups("hour", "2026-11-28T10")
    period.add(result())
    period.add(result(Status.UNHEALTHY, name="db"))
    again = PeriodRollups.from_dict("hour", period.to_dict())
    assert again.to_dict() == period.to_dict()
    assert period_of("hour", "2026-11-28T10:01:02Z") == "2026-11-28T10"
    assert period_of("day", "2026-11-28T10:01:02Z") == "2026-11-28"
