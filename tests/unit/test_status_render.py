"""The page renderer on its own: every value from a target is escaped (the browser
test in tests/integration/test_status_page.py shows the result in Chromium)."""

from __future__ import annotations

from vigil.status.page import day_bar, link, render_detail, render_error, render_overview
from vigil.status.records import (
    CheckDetail,
    CheckSummary,
    GroupSummary,
    HourLatency,
    Incident,
    RunPoint,
    StatusOverview,
)

HOSTILE = '<script>alert(1)</script>"><img src=x onerror=alert(2)>'
WINDOWS = {"24h": 99.5, "7d": None, "30d": 100.0, "90d": 12.345}


def summary(reason: str = HOSTILE) -> CheckSummary:
    days = tuple((f"2026-11-{d:02d}", 100.0 if d % 2 else None) for d in range(1, 31))
    return CheckSummary("core", "api", "unhealthy", None, None, 12.5, reason, WINDOWS, days)


def assert_inert(page: str) -> None:
    assert "<script" not in page and "<img" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;&quot;&gt;&lt;img" in page


def test_overview_escapes_reasons_and_shows_the_figures():
    overview = StatusOverview(
        "unhealthy", "2026-11-28T10:00:00Z", (GroupSummary("core", "unhealthy", (summary(),)),)
    )
    page = render_overview(overview)
    assert_inert(page)
    assert "99.500%" in page and "12.345%" in page and "–" in page
    assert '<a href="/checks/core/api">api</a>' in page


def test_detail_escapes_reasons_of_incidents_and_runs():
    detail = CheckDetail(
        summary=summary(),
        latency={"24h": {"p50": 1.0, "p95": 2.0, "p99": None}},
        trend={"latency_p95_change": 1.25, "availability_change": -0.5},
        incidents=(Incident("unhealthy", "2026-11-28T09:00:00Z", None, 3600.0, HOSTILE),),
        recent=(RunPoint("2026-11-28T10:00:00Z", "unhealthy", None, HOSTILE),),
        hourly=(HourLatency("2026-11-28T09", 1.0, 2.0), HourLatency("2026-11-28T10", None, None)),
    )
    page = render_detail(detail)
    assert_inert(page)
    assert page.count("&lt;script&gt;") == 3  # the reason, the incident, the run
    assert "1 h 00 min" in page and "1.250×" in page


def test_helpers():
    assert link("checks", "a b", "c/d") == "/checks/a%20b/c%2Fd"
    bar = day_bar((("2026-11-01", 99.99), ("2026-11-02", 50.0), ("2026-11-03", None)))
    assert bar.count("<rect") == 3 and "no data" in bar and "99.990%" in bar
    assert_inert(render_error(404, HOSTILE))
