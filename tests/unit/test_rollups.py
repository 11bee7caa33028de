import pytest
from hypothesis import given
from hypothesis import strategies as st

from vigil.alerts.document import AlertEvent as Event
from vigil.results import CheckResult, Status
from vigil.rollups import (
    DAYS_KEPT,
    SKETCH_RELATIVE_ERROR,
    CountHistory,
    PeriodRollups,
    Rollup,
    period_of,
)
from vigil.state import Transition


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


# ---------------------------------------------------------------- transitions and counts


def transition(at, status, previous, reason="", check="api"):
    event = {"healthy": Event.RECOVERY, "degraded": Event.DEGRADED}.get(status, Event.FAILURE)
    return Transition(check, event, status, previous, at, reason, {})


def test_record_transition_keeps_what_incidents_need_once():
    period = PeriodRollups("day", "2026-11-28")
    period.record_transition(transition("2026-11-28T10:02:00Z", "unhealthy", "healthy", "x" * 500))
    period.record_transition(transition("2026-11-28T10:02:00Z", "unhealthy", "healthy"))  # again
    period.record_transition(transition("2026-11-28T11:00:00Z", "healthy", "unhealthy"))
    marks = period.transitions["api"]
    assert [(m.at, m.status, m.previous_status) for m in marks] == [
        ("2026-11-28T10:02:00Z", "unhealthy", "healthy"),
        ("2026-11-28T11:00:00Z", "healthy", "unhealthy"),
    ]
    assert len(marks[0].reason) == 200
    again = PeriodRollups.from_dict("day", period.to_dict())
    assert again.transitions == period.transitions


def test_maintenance_results_count_nowhere_but_maintenance():
    rollup = Rollup()
    rollup.add(result(Status.UNHEALTHY))
    rollup.add(CheckResult("api", Status.UNHEALTHY, "", 50.0, maintenance=True))
    assert (rollup.runs, rollup.failures, rollup.maintenance) == (1, 1, 1)
    assert Rollup.from_dict(rollup.to_dict()).maintenance == 1


def day_rollups(day: str, judged: int, failed: int, marks=()) -> PeriodRollups:
    period = PeriodRollups("day", day)
    for i in range(judged):
        period.add(result(Status.UNHEALTHY if i < failed else Status.HEALTHY))
    period.add(result(Status.ERROR))  # never judged
    for mark in marks:
        period.record_transition(mark)
    return period


def test_count_history_absorbs_idempotently_and_keeps_the_last_periods():
    history = CountHistory("day", keep=3)
    days = [f"2026-11-{d:02d}" for d in range(1, 6)]
    for i, day in enumerate(days):
        marks = [transition(f"{day}T10:00:00Z", "unhealthy", "healthy")] if i in (0, 3) else []
        history.absorb(day_rollups(day, 10, i, marks))
    history.absorb(day_rollups(days[-1], 10, 4))  # the same closed day again
    assert history.periods == days[2:]
    assert history.counts[days[-1]] == {"api": (10, 6)}
    # the transition before the oldest kept day stays: it says how that day began
    assert [m.at[:10] for m in history.transitions["api"]] == [days[0], days[3]]
    again = CountHistory.from_dict(history.to_dict())
    assert again.counts == history.counts and again.transitions == history.transitions


def test_count_history_of_many_checks_is_small():
    import json
    import zlib

    history = CountHistory("day", keep=DAYS_KEPT)
    for d in range(DAYS_KEPT):
        day = PeriodRollups("day", f"2026-{1 + d // 28:02d}-{1 + d % 28:02d}")
        for c in range(500):
            r = Rollup(runs=1440, healthy=1440 - (d == c % 90), failures=int(d == c % 90))
            day.checks[f"service-{c:03d}"] = r
        history.absorb(day)
    size = len(zlib.compress(json.dumps(history.to_dict()).encode(), 6))
    assert size < 64 * 1024, size


@given(
    st.lists(st.floats(1, 600_000), min_size=1, max_size=200), st.sampled_from([0.5, 0.95, 0.99])
)
def test_sketch_error_is_within_its_stated_bound(latencies, q):
    rollup = Rollup()
    for latency in latencies:
        rollup.add(result(latency=latency))
    exact = sorted(latencies)[int(q * (len(latencies) - 1))]
    assert abs(rollup.quantile(q) - exact) <= SKETCH_RELATIVE_ERROR * exact * (1 + 1e-9)


def test_a_copy_is_independent_and_serialises_the_same():
    period = PeriodRollups("hour", "2026-11-28T10")
    period.add(result(latency=120.0))
    period.add(result(Status.UNHEALTHY, latency=None, name="db"))
    period.record_transition(transition("2026-11-28T10:02:00Z", "unhealthy", "healthy"))
    copy = period.copy()
    assert copy.to_dict() == period.to_dict()
    before = period.to_dict()
    copy.add(result(latency=900.0))
    copy.add(result(Status.ERROR, latency=None, name="new"))
    copy.record_transition(transition("2026-11-28T10:05:00Z", "healthy", "unhealthy"))
    assert period.to_dict() == before  # the original saw none of it
    assert copy.checks["api"].runs == 2 and period.checks["api"].runs == 1
    assert len(copy.transitions["api"]) == 2 and len(period.transitions["api"]) == 1
