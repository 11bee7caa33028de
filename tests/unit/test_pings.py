"""Heartbeat pings, pure: tokens, paths, what a summary keeps, and the judging."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vigil.pings import (
    EXCERPT_CHARS,
    Ping,
    PingPathError,
    PingSummary,
    excerpt,
    judge,
    parse_path,
    token,
    token_matches,
)

KEY = b"k" * 48
T0 = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)


def ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def ping(kind: str, at: datetime, *, rid=None, exit_status=None, body=None) -> Ping:
    return Ping("jobs", "backup", kind, exit_status, rid, ms(at), body)


def test_the_token_is_32_characters_of_base64url_of_the_hmac():
    import base64
    import hashlib
    import hmac

    digest = hmac.new(KEY, b"jobs/backup", hashlib.sha256).digest()
    expected = base64.urlsafe_b64encode(digest).decode().rstrip("=")[:32]
    assert token(KEY, "jobs", "backup") == expected and len(expected) == 32
    assert token(KEY, "jobs", "other") != expected
    assert token(b"another key", "jobs", "backup") != expected  # a new key revokes every URL
    assert token_matches(KEY, "jobs", "backup", expected)
    assert not token_matches(KEY, "jobs", "backup", expected[:-1] + "A")


@pytest.mark.parametrize(
    ("path", "parsed"),
    [
        ("/jobs/backup/" + "a" * 32, ("success", None)),
        ("/jobs/backup/" + "a" * 32 + "/start", ("start", None)),
        ("/jobs/backup/" + "a" * 32 + "/fail", ("fail", None)),
        ("/jobs/backup/" + "a" * 32 + "/log", ("log", None)),
        ("/jobs/backup/" + "a" * 32 + "/0", ("success", 0)),
        ("/jobs/backup/" + "a" * 32 + "/3", ("fail", 3)),
        ("/jobs/backup/" + "a" * 32 + "/255", ("fail", 255)),
    ],
)
def test_paths_name_the_check_and_what_the_ping_says(path, parsed):
    group, check, given_token, kind, status = parse_path(path)
    assert (group, check, given_token) == ("jobs", "backup", "a" * 32)
    assert (kind, status) == parsed


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/jobs/backup", 404),
        ("/jobs/backup/short", 404),
        ("/jobs/../" + "a" * 32, 404),
        ("/jobs/backup/" + "a" * 32 + "/x/y", 404),
        ("/jobs/backup/" + "a" * 32 + "/256", 400),
        ("/jobs/backup/" + "a" * 32 + "/-1", 400),
        ("/jobs/backup/" + "a" * 32 + "/finish", 400),
        ("/jobs/backup/" + "a" * 32 + "/0255", 400),
    ],
)
def test_a_path_that_is_no_ping_is_refused(path, status):
    with pytest.raises(PingPathError) as refused:
        parse_path(path)
    assert refused.value.status == status


def test_an_excerpt_is_the_first_1000_characters_decoded_with_replacement():
    assert excerpt(None) is None and excerpt(b"") is None
    assert excerpt(b"ok \xff") == "ok \ufffd"
    big = ("é" * 60_000).encode()  # 100+ KiB
    assert excerpt(big) == "é" * EXCERPT_CHARS


def test_a_success_paired_by_rid_gives_the_run_duration():
    summary = PingSummary()
    summary = summary.apply(ping("start", T0, rid="a"))
    summary = summary.apply(ping("start", T0 + timedelta(minutes=1), rid="b"))
    summary = summary.apply(ping("success", T0 + timedelta(minutes=5), rid="a"))
    assert summary.duration_ms == 5 * 60_000 and dict(summary.starts) == {"b": ms(T0) + 60_000}
    summary = summary.apply(ping("success", T0 + timedelta(minutes=7), rid="b"))
    assert summary.duration_ms == 6 * 60_000 and summary.starts == ()
    logged = summary.apply(ping("log", T0 + timedelta(minutes=8), body="note"))
    assert logged.success_ms == summary.success_ms and logged.excerpt == "note"
    assert logged.last_kind == "log"


@given(
    kinds=st.lists(
        st.tuples(
            st.sampled_from(["start", "success", "fail", "log"]),
            st.sampled_from([None, "a", "b"]),
            st.integers(0, 10**6),
        ),
        max_size=30,
    )
)
def test_a_summary_round_trips_and_keeps_few_starts(kinds):
    summary = PingSummary()
    for kind, rid, offset in kinds:
        summary = summary.apply(ping(kind, T0 + timedelta(seconds=offset), rid=rid))
    assert PingSummary.from_item(summary.to_item()) == summary
    assert len(summary.starts) <= 8


@given(
    pings=st.lists(
        st.tuples(
            st.sampled_from(["start", "success", "fail", "log"]),
            st.sampled_from([None, 1, 2]),
            st.integers(0, 10**6),
        ),
        max_size=12,
        unique_by=lambda p: p[2],
    ),
    data=st.data(),
)
def test_pings_counted_out_of_order_move_no_time_back(pings, data):
    """Two containers may count a check's pings in the other order: the times a verdict
    reads (last ping, last success, last failure and its exit status) are the newest
    whatever the order."""
    events = [ping(k, T0 + timedelta(seconds=s), exit_status=x) for k, x, s in pings]
    in_order = PingSummary()
    for event in sorted(events, key=lambda e: e.at_ms):
        in_order = in_order.apply(event)
    shuffled = PingSummary()
    for event in data.draw(st.permutations(events)):
        shuffled = shuffled.apply(event)
    times = ("last_ping_ms", "last_kind", "success_ms", "failure_ms", "exit_status")
    assert [getattr(shuffled, t) for t in times] == [getattr(in_order, t) for t in times]


def test_a_start_counted_after_the_success_that_ended_it_is_not_left_running():
    ended = PingSummary().apply(ping("success", T0 + timedelta(minutes=1)))
    late_start = ended.apply(ping("start", T0))
    assert late_start.starts == () and late_start.last_ping_ms == ms(T0) + 60_000
    assert verdict(late_start, T0 + timedelta(hours=5)).status == "healthy"
    # with a rid, a later start of the same run is not ended by an older success
    running = PingSummary().apply(ping("start", T0 + timedelta(minutes=2), rid="r"))
    assert running.apply(ping("success", T0, rid="r")).starts == (("r", ms(T0) + 120_000),)


def daily(moment: datetime) -> datetime:
    return moment + timedelta(days=1)


def verdict(summary: PingSummary, at: datetime, **keys):
    options = {
        "expected_after": daily,
        "grace": timedelta(hours=1),
        "max_duration": timedelta(hours=2),
        "first_seen": T0 - timedelta(days=10),
        **keys,
    }
    return judge(summary, at, **options)


def test_on_time_late_and_missing():
    done = PingSummary().apply(ping("success", T0))
    assert verdict(done, T0 + timedelta(hours=23)).status == "healthy"
    late = verdict(done, T0 + timedelta(days=1, minutes=30))
    assert late.status == "degraded" and late.reason == "late: expected by 2026-12-02T03:00:00Z"
    missing = verdict(done, T0 + timedelta(days=1, hours=2))
    assert missing.status == "unhealthy" and missing.reason == "no ping since 2026-12-01T03:00:00Z"
    assert missing.details["expected_by"] == "2026-12-02T03:00:00Z"


def test_a_failure_and_an_exit_status_say_why_with_the_first_line():
    done = PingSummary().apply(ping("success", T0))
    failed = done.apply(ping("fail", T0 + timedelta(hours=1), body="disk full\nmore"))
    found = verdict(failed, T0 + timedelta(hours=2))
    assert (found.status, found.reason) == ("unhealthy", "failed: disk full")
    exited = done.apply(ping("fail", T0 + timedelta(hours=1), exit_status=3))
    found = verdict(exited, T0 + timedelta(hours=2))
    assert (found.status, found.reason) == ("unhealthy", "failed (exit status 3)")
    assert found.details["exit_status"] == 3
    recovered = exited.apply(ping("success", T0 + timedelta(hours=3)))
    assert verdict(recovered, T0 + timedelta(hours=4)).status == "healthy"


def test_a_start_not_finished_within_max_duration():
    started = PingSummary().apply(ping("success", T0)).apply(ping("start", T0 + timedelta(days=1)))
    assert verdict(started, T0 + timedelta(days=1, hours=1)).status == "degraded"  # late
    stuck = verdict(started, T0 + timedelta(days=1, hours=2, seconds=1))
    assert stuck.status == "unhealthy"
    assert stuck.reason == "started at 2026-12-02T03:00:00Z, not finished within 2h"


def test_a_check_never_pinged_counts_from_its_first_run():
    first = T0
    assert verdict(PingSummary(), T0, first_seen=first).status == "healthy"
    at = first + timedelta(days=1, hours=1, seconds=1)
    never = verdict(PingSummary(), at, first_seen=first)
    assert (never.status, never.reason) == ("unhealthy", "no ping since never")


def test_latency_is_the_last_finished_runs_duration():
    summary = PingSummary().apply(ping("start", T0, rid="x"))
    summary = summary.apply(ping("success", T0 + timedelta(seconds=90), rid="x"))
    found = verdict(summary, T0 + timedelta(hours=1))
    assert found.latency_ms == 90_000.0 and found.details["duration_ms"] == 90_000
    assert verdict(PingSummary().apply(ping("success", T0)), T0).latency_ms is None
