"""Three simulated days: the real runner handler against a scripted HTTP target with
known outages, then the real status function asked what happened.

The group runs every 15 minutes, scheduled from three days ago up to now (the
status function's windows end at the wall clock). Availability must match the
script within 0.1 points, incidents must be the scripted outages (started at
the run that confirmed them, ended at the run that confirmed the recovery) and
percentiles must be within the sketch's stated error of the exact ones.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from vigil.config import load_config
from vigil.rollups import SKETCH_RELATIVE_ERROR
from vigil.status.api import build_resolver
from vigil.status.queries import StatusQueries
from vigil.store.dynamodb import DynamoDBStore
from vigil_cli.local.status_server import StatusContext, function_url_event

STEP = timedelta(minutes=15)
RUNS = 3 * 24 * 4  # three days of 15-minute runs


def scripted_mode(i: int) -> str:
    """What the target does on run ``i`` (0 = three days ago)."""
    if 36 <= i < 42:  # day 1: 90 minutes of HTTP 500 (6 runs)
        return "failing:500"
    if 180 <= i < 184:  # day 2: an hour slower than degraded_after (4 runs)
        return "slow:260"
    if i in (120, 250):  # two single failed runs: counted, never confirmed
        return "failing:503"
    if i >= RUNS - 3:  # the last three runs: down, still down now
        return "down"
    return f"slow:{3 + (i * 7) % 29}"  # healthy, 3-31 ms


def passed(mode: str) -> bool:
    return mode.startswith("slow")


def expected_availability(times: list[datetime], since: datetime) -> float:
    judged = [passed(scripted_mode(i)) for i, t in enumerate(times) if t >= since]
    return 100.0 * sum(judged) / len(judged)


def exact_quantile(values: list[float], q: float) -> float:
    """The sketch's rank rule on the exact values: the element at floor(q * (n - 1))."""
    ordered = sorted(values)
    return ordered[int(q * (len(ordered) - 1))]


@pytest.fixture
def simulated(aws, invoke, write_config, http_target):
    """The scheduled times, a GET of the status function's routes, and the "now" that
    the status queries are given (held still: their windows and this test's are the
    same, whatever the wall clock does meanwhile - an hour may end during the test)."""
    path = write_config(
        f"""
        groups:
          sim:
            checks:
              - name: api
                type: http
                url: {http_target.url("/scripted/api")}
                timeout: 2s
                degraded_after: 200ms
                failure_threshold: 2
                success_threshold: 1
        """
    )
    end = datetime.now(UTC).replace(second=0, microsecond=0)
    end -= timedelta(minutes=end.minute % 15)
    times = [end - STEP * (RUNS - 1 - i) for i in range(RUNS)]
    for i, moment in enumerate(times):
        http_target.script("api", scripted_mode(i))
        summary = invoke("sim", moment.strftime("%Y-%m-%dT%H:%M:%SZ"))
        assert len(summary["results"]) == 1
    now = datetime.now(UTC)
    queries = StatusQueries(
        load_config(path), DynamoDBStore(aws.table_name), clock=lambda: now.timestamp()
    )
    resolver = build_resolver(lambda: queries)  # the status function's routes

    def get(route: str) -> dict:
        response = resolver.resolve(function_url_event("GET", route), StatusContext())
        assert response["statusCode"] == 200, response
        return json.loads(response["body"])

    return times, get, now


def test_three_days_of_a_scripted_target(simulated):
    times, get, now = simulated
    stamp = lambda i: times[i].strftime("%Y-%m-%dT%H:%M:%SZ")  # noqa: E731

    overview = get("/api/status")
    (group,) = overview["groups"]
    (check,) = group["checks"]
    assert overview["status"] == group["status"] == check["status"] == "unhealthy"
    assert overview["updated_at"] == check["last_run"] == stamp(-1)
    assert check["since"] == stamp(RUNS - 2)  # confirmed at the second run down

    # Availability: the windows are whole hours/days ending now.
    first_hour = now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=23)
    expected_24h = expected_availability(times, first_hour)
    expected_all = expected_availability(times, times[0])
    assert expected_24h < 100 and expected_all < 99
    assert check["availability"]["24h"] == pytest.approx(expected_24h, abs=0.1)
    for window in ("7d", "30d", "90d"):
        assert check["availability"][window] == pytest.approx(expected_all, abs=0.1)

    detail = get("/api/checks/sim/api")
    assert [(i["status"], i["started"], i["ended"]) for i in detail["incidents"]] == [
        ("unhealthy", stamp(RUNS - 2), None),  # still down: open
        ("degraded", stamp(181), stamp(184)),
        ("unhealthy", stamp(37), stamp(42)),
    ]
    assert detail["incidents"][1]["duration_s"] == 3 * STEP.total_seconds()
    assert detail["incidents"][2]["duration_s"] == 5 * STEP.total_seconds()
    assert "500" in detail["incidents"][2]["reason"]
    newest_first = [stamp(i) for i in range(RUNS - 1, RUNS - 61, -1)]
    assert [r["time"] for r in detail["recent"]] == newest_first
    assert detail["recent"][0]["status"] == "unhealthy"
    # No data in the 7 days before the last 7: no availability trend.
    assert detail["trend"]["availability_change"] is None

    # Percentiles against the exact latencies of the passing runs, read back by history.
    history = get(f"/api/checks/sim/api/history?from={stamp(0)}&to={stamp(-1)}")
    assert history["next"] is None
    assert [r["time"] for r in history["results"]] == [stamp(i) for i in range(RUNS)]
    windows = {"24h": first_hour, "7d": times[0], "30d": times[0]}
    for window, since in windows.items():
        latencies = [
            r["latency_ms"]
            for r in history["results"]
            if r["status"] in ("healthy", "degraded")
            and datetime.fromisoformat(r["time"].replace("Z", "+00:00")) >= since
        ]
        for name, q in (("p50", 0.5), ("p95", 0.95), ("p99", 0.99)):
            exact = exact_quantile(latencies, q)
            reported = detail["latency_ms"][window][name]
            # The sketch's bound on the true value, plus rounding: the stored latencies
            # (exact) and the reported percentiles are each rounded to 0.1 ms.
            bound = SKETCH_RELATIVE_ERROR * (exact + 0.05) + 0.05 + 0.05
            assert abs(reported - exact) <= bound + 1e-9, (window, name, reported, exact)

    # Latency trend: 24 h p95 / p95 of the 7 whole days before the day the 24 h begin on.
    def passing(since: datetime, until: datetime) -> list[float]:
        return [
            r["latency_ms"]
            for r in history["results"]
            if r["status"] in ("healthy", "degraded")
            and since <= datetime.fromisoformat(r["time"].replace("Z", "+00:00")) < until
        ]

    day_start = first_hour.replace(hour=0)
    before = passing(day_start - timedelta(days=7), day_start)
    expected_ratio = exact_quantile(passing(first_hour, now), 0.95) / exact_quantile(before, 0.95)
    ratio = detail["trend"]["latency_p95_change"]
    bound = (1 + SKETCH_RELATIVE_ERROR) / (1 - SKETCH_RELATIVE_ERROR)
    assert expected_ratio / bound - 0.01 <= ratio <= expected_ratio * bound + 0.01
