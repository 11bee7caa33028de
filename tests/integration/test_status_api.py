"""Every route of the status function under moto: fields, errors, paging, shards, secrets."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import vigil.status.queries
from vigil_cli.local.status_server import StatusContext, function_url_event, load_status_function


@pytest.fixture
def status(aws):
    module = load_status_function()

    def get(path: str, expect: int | None = 200) -> dict:
        response = module.handler(function_url_event("GET", path), StatusContext())
        if expect is None:  # any answer but a server error
            assert response["statusCode"] in (200, 400), response
        else:
            assert response["statusCode"] == expect, response
        if response["headers"]["Content-Type"].startswith("application/json"):
            return json.loads(response["body"])
        return response

    return get


def minutes_ago(n: int) -> str:
    moment = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=n)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture
def two_groups(aws, write_config, tcp_target, refused):
    write_config(
        f"""
        groups:
          core:
            checks:
              - {{name: cache, type: tcp, host: 127.0.0.1, port: {tcp_target.port}}}
              - {{name: queue, type: tcp, host: 127.0.0.1, port: {refused}}}
          spread:
            shards: 2
            checks:
              - {{name: a, type: tcp, host: 127.0.0.1, port: {tcp_target.port}}}
              - {{name: b, type: tcp, host: 127.0.0.1, port: {tcp_target.port}}}
              - {{name: c, type: tcp, host: 127.0.0.1, port: {tcp_target.port}}}
        """
    )


def test_before_any_run_everything_is_unknown(two_groups, status):
    overview = status("/api/status")
    assert overview["status"] == "unknown" and overview["updated_at"] is None
    assert [g["group"] for g in overview["groups"]] == ["core", "spread"]
    check = overview["groups"][0]["checks"][0]
    assert check == {
        "check": "cache",
        "status": "unknown",
        "since": None,
        "last_run": None,
        "latency_ms": None,
        "reason": None,
        "availability": {"24h": None, "7d": None, "30d": None, "90d": None},
    }
    detail = status("/api/checks/core/cache")
    assert detail["incidents"] == [] and detail["recent"] == []
    assert detail["latency_ms"]["24h"] == {"p50": None, "p95": None, "p99": None}
    assert status("/api/checks/core/cache/history") == {"results": [], "next": None}


def test_status_detail_and_history_after_runs(two_groups, invoke, status):
    runs = [minutes_ago(n) for n in range(5, -1, -1)]
    for at in runs:
        invoke("core", at)
        for shard in (0, 1):
            invoke("spread", at, shard=shard)

    overview = status("/api/status")
    assert overview["status"] == "unhealthy"  # worst of every group
    assert overview["updated_at"] == runs[-1]
    core, spread = overview["groups"]
    assert core["status"] == "unhealthy" and spread["status"] == "healthy"
    cache, queue = core["checks"]
    assert cache["status"] == "healthy" and cache["since"] == runs[0]
    assert cache["last_run"] == runs[-1] and cache["latency_ms"] > 0
    assert cache["availability"] == {"24h": 100.0, "7d": 100.0, "30d": 100.0, "90d": 100.0}
    assert queue["status"] == "unhealthy" and queue["since"] == runs[1]
    assert "refused" in queue["reason"]
    assert queue["availability"]["24h"] == 0.0
    # checks spread over two shards are all there, in config order
    assert [c["check"] for c in spread["checks"]] == ["a", "b", "c"]
    assert all(c["last_run"] == runs[-1] for c in spread["checks"])

    detail = status("/api/checks/core/queue")
    assert detail["group"] == "core" and detail["check"] == "queue"
    assert set(detail["latency_ms"]) == {"24h", "7d", "30d"}
    assert detail["incidents"] == [
        {
            "status": "unhealthy",
            "started": runs[1],
            "ended": None,
            "duration_s": pytest.approx(
                (datetime.now(UTC) - datetime.fromisoformat(runs[1])).total_seconds(), abs=5
            ),
            "reason": queue["reason"],
        }
    ]
    assert [r["time"] for r in detail["recent"]] == runs[::-1]
    assert {r["status"] for r in detail["recent"]} == {"unhealthy"}
    cache_detail = status("/api/checks/core/cache")
    p = cache_detail["latency_ms"]["24h"]
    assert 0 < p["p50"] <= p["p95"] <= p["p99"]

    spread_b = status("/api/checks/spread/b")
    assert len(spread_b["recent"]) == len(runs)

    history = status(f"/api/checks/core/cache/history?from={runs[1]}&to={runs[4]}")
    assert [r["time"] for r in history["results"]] == runs[1:5]
    assert history["next"] is None
    assert set(history["results"][0]) == {"time", "status", "latency_ms", "reason"}


def test_history_pages_with_a_cursor(two_groups, invoke, status, monkeypatch):
    runs = [minutes_ago(n) for n in range(6, -1, -1)]
    for at in runs:
        invoke("core", at)
    monkeypatch.setattr(vigil.status.queries, "HISTORY_PAGE", 3)
    query = f"from={runs[0]}&to={runs[-1]}"
    seen = []
    page = status(f"/api/checks/core/cache/history?{query}")
    while True:
        seen += [r["time"] for r in page["results"]]
        if page["next"] is None:
            break
        assert len(page["results"]) == 3
        page = status(f"/api/checks/core/cache/history?{query}&cursor={quote(page['next'])}")
    assert seen == runs
    # a cursor belongs to its range
    first = status(f"/api/checks/core/cache/history?{query}")
    other = status(
        f"/api/checks/core/cache/history?from={runs[1]}&to={runs[-1]}&cursor={first['next']}",
        expect=400,
    )
    assert "same 'from' and 'to'" in other["error"]


def _cursor(after: str, start: str, end: str) -> str:
    raw = json.dumps({"a": after, "f": start, "t": end}).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def test_a_tampered_or_oversized_cursor_is_a_400(two_groups, invoke, status):
    """A cursor is sent back by the client: whatever it says, DynamoDB never sees a start
    key it would refuse (a 502 before) or one outside the range asked for."""
    runs = [minutes_ago(n) for n in range(3, -1, -1)]
    for at in runs:
        invoke("core", at)
    start, end = runs[0], runs[-1]
    query = f"/api/checks/core/cache/history?from={start}&to={end}&cursor="
    tampered = [
        _cursor("x" * 2000, start, end),  # a sort key past DynamoDB's 1 KB limit
        _cursor("RUN#2026", start, end),  # not a time
        _cursor("1999-01-01T00:00:00Z", start, end),  # a time outside the range
        _cursor(runs[1].replace("Z", "+00:00"), start, end),  # not the key as stored
        "A" * 5000,  # oversized
        base64.urlsafe_b64encode(b'{"a": 1, "f": [], "t": {}}').decode(),
    ]
    for cursor in tampered:
        body = status(query + quote(cursor), expect=400)
        assert set(body) == {"error"} and "'cursor'" in body["error"]
    # the genuine article still pages
    page = status(query + quote(_cursor(runs[1], start, end)))
    assert [r["time"] for r in page["results"]] == runs[2:]


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    parameter=st.sampled_from(["from", "to", "cursor"]),
    value=st.one_of(
        st.text(max_size=80),
        st.datetimes(timezones=st.just(UTC)).map(lambda d: d.isoformat()),
        st.binary(max_size=300).map(lambda b: base64.urlsafe_b64encode(b).decode()),
    ),
)
def test_no_history_parameter_gives_a_5xx(two_groups, status, parameter, value):
    body = status(
        f"/api/checks/core/cache/history?{parameter}={quote(value, safe='')}", expect=None
    )
    assert set(body) <= {"results", "next", "error"}


@pytest.mark.parametrize(
    ("path", "expect", "words"),
    [
        ("/api/checks/nope/cache", 404, ["unknown group 'nope'", "core", "spread"]),
        ("/api/checks/core/nope", 404, ["unknown check 'nope'", "cache", "queue"]),
        ("/api/checks/core/nope/history", 404, ["unknown check 'nope'", "cache"]),
        ("/api/checks/core/cache/history?from=yesterday", 400, ["'from'", "ISO 8601"]),
        ("/api/checks/core/cache/history?to=2026-13-01", 400, ["'to'", "ISO 8601"]),
        (
            "/api/checks/core/cache/history?from=2026-11-02T00:00:00Z&to=2026-11-01T00:00:00Z",
            400,
            ["must not be after"],
        ),
        ("/api/checks/core/cache/history?cursor=%%%", 400, ["'cursor'"]),
        ("/api/checks/core/cache/history?to=0001-01-01T00:00:00Z", 400, ["'to'", "between"]),
        ("/api/checks/core/cache/history?from=0001-01-01T00:00:00Z", 400, ["'from'"]),
        ("/api/checks/core/cache/history?to=9999-12-31T23:59:59Z", 400, ["'to'", "between"]),
        ("/api/checks/core/cache/history?limit=5", 400, ["unknown parameter 'limit'", "from"]),
        ("/api/status?verbose=1", 400, ["unknown parameter 'verbose'"]),
        ("/api/nothing", 404, ["no route GET /api/nothing", "/api/status"]),
    ],
)
def test_errors_say_what_exists_or_what_was_expected(two_groups, status, path, expect, words):
    body = status(path, expect=expect)
    assert set(body) == {"error"}
    for word in words:
        assert word in body["error"]


def test_html_routes(two_groups, invoke, status):
    invoke("core", minutes_ago(0))
    page = status("/")
    assert page["headers"]["Content-Type"] == "text/html; charset=utf-8"
    assert "script-src" not in page["headers"]["Content-Security-Policy"]
    assert "default-src 'none'" in page["headers"]["Content-Security-Policy"]
    assert '<a href="/checks/core/queue">queue</a>' in page["body"]
    detail = status("/checks/core/queue")
    assert "<svg" in detail["body"] and "Recent runs" in detail["body"]
    missing = status("/checks/core/nope", expect=404)
    assert missing["headers"]["Content-Type"].startswith("text/html")
    assert "unknown check" in missing["body"]


def test_no_secret_is_returned(write_config, refused, invoke, status):
    password = "hunter2-Secr3t"
    write_config(
        f"""
        groups:
          core:
            checks:
              - name: api
                type: http
                url: http://monitor:{password}@127.0.0.1:{refused}/health?token={password}
                failure_threshold: 1
        """
    )
    for n in (1, 0):
        invoke("core", minutes_ago(n))
    encodings = [
        password,
        quote(password),
        base64.b64encode(f"monitor:{password}".encode()).decode(),
        json.dumps(password)[1:-1],
    ]
    bodies = []
    for path in (
        "/api/status",
        "/api/checks/core/api",
        "/api/checks/core/api/history",
        "/",
        "/checks/core/api",
    ):
        body = status(path)
        bodies.append(body["body"] if "body" in body else json.dumps(body))
    assert "refused" in bodies[0]  # the reason is there, without the credentials
    for body in bodies:
        for encoded in encodings:
            assert encoded not in body


def test_an_invalid_config_is_a_500_that_says_where(aws, write_config, status):
    write_config(
        """
        groups:
          core:
            checks:
              - {name: api, type: http, url: "not a url"}
        """
    )
    body = status("/api/status", expect=500)
    assert "groups.core.checks[0].url" in body["error"]


@pytest.mark.parametrize("name", ["status-api", "status-check", "status-page"])
def test_sample_events_are_answered(aws, name):
    """``sam local invoke StatusFunction -e events/<name>.json`` gets a real answer."""
    from vigil_cli.local.local_aws import REPO

    event = json.loads((REPO / "events" / f"{name}.json").read_text())
    response = load_status_function().handler(event, StatusContext())
    assert response["statusCode"] == 200, response
