"""Group schedules: every (epoch-aligned) and cron, a tick's plan, and the stalled watch."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vigil.config import ConfigError, parse_config
from vigil.cron import CronSchedule
from vigil.results import UNKNOWN
from vigil.run.tick import plan
from vigil.run.watch import group_subjects, judge, silent_subject, stalled
from vigil.schedule import Schedule
from vigil.state import CheckState
from vigil.store.base import GroupState
from vigil.times import iso

T = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)


def groups(**schedules: dict) -> dict:
    return {
        name: {**keys, "checks": [{"name": "a", "type": "tcp", "host": "h", "port": 1}]}
        for name, keys in schedules.items()
    }


def problems(raw: dict) -> dict[str, str]:
    with pytest.raises(ConfigError) as refused:
        parse_config(raw)
    return dict(refused.value.problems)


@pytest.mark.parametrize(
    ("every", "times"),
    [
        ("10s", [T + timedelta(seconds=s) for s in range(0, 60, 10)]),
        ("15s", [T + timedelta(seconds=s) for s in (0, 15, 30, 45)]),
        ("20s", [T + timedelta(seconds=s) for s in (0, 20, 40)]),
        ("30s", [T, T + timedelta(seconds=30)]),
        ("1m", [T]),
        ("5m", [T]),  # 10:00 is a multiple of 5 minutes since the epoch
        ("7m", []),  # 10:00 UTC on 2026-12-01 is not a multiple of 7 minutes
    ],
)
def test_every_is_aligned_to_the_epoch(every, times):
    config = parse_config({"groups": groups(g={"every": every})})
    schedule = config.group("g").schedule
    assert schedule.runs_between(T, T + timedelta(minutes=1)) == times


def test_a_5m_group_runs_at_00_05_10():
    schedule = Schedule(every=300)
    hour = schedule.runs_between(T, T + timedelta(hours=1))
    assert [t.minute for t in hour] == list(range(0, 60, 5))


def test_no_schedule_is_every_minute_and_every_run_is_expected():
    config = parse_config({"groups": groups(g={})})
    schedule = config.group("g").schedule
    assert schedule == Schedule(every=60)
    assert schedule.expected_before(T + timedelta(seconds=1), 3) == [
        T,
        T - timedelta(minutes=1),
        T - timedelta(minutes=2),
    ]


def test_a_cron_group_runs_in_its_time_zone_across_dst():
    """Europe/Berlin: 2026-10-25 03:00 CEST -> 02:00 CET. A 02:30 daily job fires once
    that night (Debian cron), and at 01:30 UTC the nights after."""
    config = parse_config(
        {"groups": groups(nightly={"cron": "30 2 * * *", "timezone": "Europe/Berlin"})}
    )
    schedule = config.group("nightly").schedule
    days = schedule.runs_between(
        datetime(2026, 10, 24, tzinfo=UTC), datetime(2026, 10, 27, tzinfo=UTC)
    )
    assert days == [
        datetime(2026, 10, 24, 0, 30, tzinfo=UTC),
        datetime(2026, 10, 25, 0, 30, tzinfo=UTC),  # 02:30 CEST, the first 02:30
        datetime(2026, 10, 26, 1, 30, tzinfo=UTC),  # 02:30 CET
    ]
    before = schedule.expected_before(datetime(2026, 10, 26, 12, 0, tzinfo=UTC), 2)
    assert before == [days[2], days[1]]


@pytest.mark.parametrize(
    ("keys", "path", "words"),
    [
        ({"every": "45s"}, "groups.g.every", "10s, 15s, 20s, 30s or a whole number of minutes"),
        ({"every": "90s"}, "groups.g.every", "got 90s"),
        ({"every": "25h"}, "groups.g.every", "24h"),
        ({"every": "soon"}, "groups.g.every", "duration"),
        ({"every": "1m", "cron": "* * * * *"}, "groups.g.cron", "either every or cron"),
        ({"cron": "61 * * * *"}, "groups.g.cron", "bad minute"),
        ({"cron": "0 3 * * *", "timezone": "Mars/Olympus"}, "groups.g.timezone", "IANA"),
        ({"timezone": "UTC"}, "groups.g.timezone", "applies to cron"),
        ({"evry": "1m"}, "groups.g.evry", "every"),
    ],
)
def test_a_bad_schedule_is_refused_at_its_key(keys, path, words):
    found = problems({"groups": groups(g=keys)})
    assert path in found, found
    assert words in found[path]


def test_an_interval_must_be_a_multiple_of_its_groups_every():
    def check(interval):
        return {"name": "a", "type": "tcp", "host": "h", "port": 1, "interval": interval}

    fine = parse_config({"groups": {"g": {"every": "30s", "checks": [check("90s")]}}})
    assert fine.group("g").checks[0].interval == 90
    found = problems({"groups": {"g": {"every": "1m", "checks": [check("90s")]}}})
    assert "not a multiple of the group's every (1m)" in found["groups.g.checks[0].interval"]
    found = problems({"groups": {"g": {"every": "1m", "checks": [check("10s")]}}})
    assert "groups.g.checks[0].interval" in found
    found = problems({"groups": {"g": {"cron": "0 3 * * *", "checks": [check("1m")]}}})
    assert "cron group's checks run on every run" in found["groups.g.checks[0].interval"]
    plain = {"name": "a", "type": "tcp", "host": "h", "port": 1}
    found = problems({"defaults": {"interval": "90s"}, "groups": {"g": {"checks": [plain]}}})
    assert any(p.endswith("(from defaults.interval)") for p in found), found


def test_a_tick_plans_every_run_of_its_minute_with_its_delay():
    config = parse_config(
        {"groups": groups(fast={"every": "10s"}, half={"every": "30s"}, five={"every": "5m"})}
    )
    on_time = plan(config.groups.values(), iso(T), now=T.timestamp() + 0.4)
    assert [(d.group, d.scheduled_time[11:19], d.delay_s) for d in on_time] == [
        ("fast", "10:00:00", 0),
        ("fast", "10:00:10", 10),
        ("fast", "10:00:20", 20),
        ("fast", "10:00:30", 30),
        ("fast", "10:00:40", 40),
        ("fast", "10:00:50", 50),
        ("half", "10:00:00", 0),
        ("half", "10:00:30", 30),
        ("five", "10:00:00", 0),
    ]
    late = plan(config.groups.values(), iso(T), now=T.timestamp() + 25)
    assert [d.delay_s for d in late if d.group == "fast"] == [0, 0, 0, 5, 15, 25]
    assert on_time[0].event == {"group": "fast", "scheduled_time": iso(T)}


@given(
    every=st.sampled_from([10, 15, 20, 30, 60, 120, 300, 3600]),
    offset=st.integers(0, 86400 * 3),
)
def test_expected_runs_are_the_scheduled_times_just_before(every, offset):
    """Property: the runs expected before a moment are exactly the scheduled times before
    it, newest first, whatever the moment."""
    schedule = Schedule(every=every)
    moment = T + timedelta(seconds=offset)
    expected = schedule.expected_before(moment, 3)
    window = schedule.runs_between(moment - timedelta(seconds=every * 3), moment)
    assert expected == sorted(window, reverse=True)


@pytest.mark.parametrize(
    ("schedule", "silence", "is_stalled"),
    [
        (Schedule(every=60), timedelta(minutes=3), False),  # 3 runs missed, not yet more
        (Schedule(every=60), timedelta(minutes=4), True),
        (Schedule(every=10), timedelta(seconds=170), False),  # 17 runs, but < 3 minutes
        (Schedule(every=10), timedelta(minutes=4), True),
        (Schedule(every=300), timedelta(minutes=14), False),
        (Schedule(every=300), timedelta(minutes=20), True),
    ],
)
def test_stalled_is_three_missed_runs_and_three_minutes(schedule, silence, is_stalled):
    assert stalled(schedule, T - silence, T) is is_stalled


def test_a_cron_group_is_stalled_after_three_missed_runs():
    daily = Schedule(every=None, cron=CronSchedule.parse("0 3 * * *"))
    newest = datetime(2026, 11, 27, 3, 0, tzinfo=UTC)
    assert not stalled(daily, newest, datetime(2026, 11, 30, 2, 0, tzinfo=UTC))
    assert stalled(daily, newest, datetime(2026, 11, 30, 3, 1, tzinfo=UTC))


def test_the_watch_alerts_a_stall_once_and_its_end_once():
    schedules = {"a": Schedule(every=60), "b": Schedule(every=60)}
    state = GroupState("~watch")

    def at(minutes: int, newest_b: datetime | None):
        nonlocal state
        tick = T + timedelta(minutes=minutes)
        newest = {"a": iso(tick - timedelta(minutes=1)), "b": newest_b and iso(newest_b)}
        subjects = group_subjects(state, schedules, newest, iso(tick))
        checks, alerts = judge(state, subjects, iso(tick))
        state = GroupState("~watch", checks=checks)
        return [(a.check, a.status, a.previous_status) for a in alerts]

    assert at(0, T - timedelta(minutes=1)) == []  # first seen, running
    assert state.checks["stalled/a"].status == "healthy"
    assert at(2, T - timedelta(minutes=1)) == []  # b missed 2 runs (10:00, 10:01): not yet
    assert at(3, T - timedelta(minutes=1)) == [("stalled/b", "unhealthy", "healthy")]
    assert at(5, T - timedelta(minutes=1)) == []  # alerted once
    assert at(6, T + timedelta(minutes=5)) == [("stalled/b", "healthy", "unhealthy")]
    assert at(7, T + timedelta(minutes=6)) == []


def watched(state, schedules, newest, tick):
    return judge(state, group_subjects(state, schedules, newest, tick), tick)


def test_a_group_never_counted_is_watched_from_when_it_was_first_seen():
    schedules = {"new": Schedule(every=60)}
    first = iso(T)
    checks, alerts = watched(GroupState("~watch"), schedules, {"new": None}, first)
    assert alerts == [] and checks["stalled/new"].status == "healthy"
    later = GroupState("~watch", checks=checks)
    _, alerts = watched(later, schedules, {"new": None}, iso(T + timedelta(minutes=3)))
    assert alerts == []
    _, alerts = watched(later, schedules, {"new": None}, iso(T + timedelta(minutes=4)))
    assert [(a.check, a.status) for a in alerts] == [("stalled/new", "unhealthy")]
    assert "never" in alerts[0].reason


def test_a_stalled_group_removed_from_the_config_gets_its_healthy_twin():
    state = GroupState("~watch", checks={"stalled/gone": CheckState("unhealthy", since=iso(T))})
    _, alerts = watched(state, {}, {}, iso(T + timedelta(minutes=1)))
    assert [(a.check, a.status, a.group) for a in alerts] == [("stalled/gone", "healthy", "vigil")]
    assert "no longer in the configuration" in alerts[0].reason


def test_watch_alerts_are_monitor_documents_with_stable_ids():
    state = GroupState(
        "~watch", checks={"stalled/b": CheckState("healthy", last_run=T.timestamp())}
    )
    tick = iso(T + timedelta(minutes=10))
    _, first = watched(state, {"b": Schedule(every=60)}, {"b": iso(T)}, tick)
    _, again = watched(state, {"b": Schedule(every=60)}, {"b": iso(T)}, tick)
    (alert,) = first
    assert alert.to_dict()["event"] == "monitor" and alert.severity == "critical"
    assert alert.alert_id == again[0].alert_id
    assert alert.details["group"] == "b" and alert.details["schedule"] == "every 1m"
    assert UNKNOWN not in (alert.status, alert.previous_status)


def test_the_home_is_silent_when_no_group_has_run_there_for_its_most_frequent_groups_runs():
    """A probe watching the home: a daily group does not hold the alert back for days, and
    one stalled group of a live home is the home's own ``stalled/<group>`` to tell."""
    schedules = {"a": Schedule(every=60), "b": Schedule(every=300), "d": Schedule(every=86400)}
    state = GroupState("~watch")
    tick = iso(T)

    def home(newest):
        subject = silent_subject(
            state, "home-silent/x", "the home (x)", schedules, newest, tick, every_group=False
        )
        return subject

    fresh = {"a": iso(T - timedelta(minutes=1)), "b": iso(T - timedelta(minutes=40)), "d": None}
    assert not home(fresh).silent  # b is stalled, but the home runs a
    stale = {"a": iso(T - timedelta(minutes=5)), "b": iso(T - timedelta(minutes=5)), "d": iso(T)}
    assert not home(stale).silent  # the daily group ran just now
    stale["d"] = iso(T - timedelta(hours=5))
    subject = home(stale)
    assert subject.silent and "the home (x) has run no group" in subject.down


def test_a_home_that_cannot_be_read_is_judged_from_its_newest_run_as_last_read():
    """Each tick remembers the home's newest run it read; a tick that cannot read the
    home's table (its region down) judges from that, so one failed read is no alarm and
    a home gone for good is told once its runs are stalled."""
    schedules = {"a": Schedule(every=60)}
    name, what = "home-silent/x", "the home (x)"
    state = GroupState("~watch")
    read = silent_subject(state, name, what, schedules, {"a": iso(T)}, iso(T), every_group=False)
    checks, alerts = judge(state, {name: read}, iso(T))
    assert checks[name].first_run == T.timestamp() and alerts == []
    state.checks.update(checks)

    def unreadable(minutes: int):
        tick = iso(T + timedelta(minutes=minutes))
        return silent_subject(state, name, what, schedules, None, tick, every_group=False)

    assert not unreadable(1).silent
    gone = unreadable(10)
    assert gone.silent and gone.down.endswith(f"newest run {iso(T)}")
    assert gone.newest_seen == T.timestamp()  # kept as it was


def test_a_probe_is_silent_as_soon_as_one_of_its_groups_is_stalled():
    """The home watching a probe (which has no watch of its own groups): the stalled
    groups are named; a group the probe never ran counts from when it was first seen."""
    schedules = {"a": Schedule(every=60), "b": Schedule(every=300)}
    state = GroupState("~watch")
    tick = iso(T)

    def probe(newest):
        return silent_subject(
            state, "location-silent/y", "probe y", schedules, newest, tick, every_group=True
        )

    assert not probe(
        {"a": iso(T - timedelta(minutes=1)), "b": iso(T - timedelta(minutes=6))}
    ).silent
    subject = probe({"a": iso(T - timedelta(minutes=1)), "b": iso(T - timedelta(minutes=40))})
    assert subject.silent and subject.details["stalled_groups"] == ["b"]
    assert subject.down.startswith("probe y has stopped running b: 3 runs missed")
    assert not probe({"a": iso(T - timedelta(minutes=1)), "b": None}).silent  # first seen now
