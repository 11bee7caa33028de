"""The alert policy's parts on their own: cron expressions, maintenance window membership,
the refusals of ``depends_on``/``error_rate``/``maintenance`` at load, and the policy
memory's packed form."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.unit.policy_sim import tcp
from vigil.alerts.document import AlertDocument, AlertEvent
from vigil.config import parse_config
from vigil.cron import CronSchedule
from vigil.exceptions import ConfigError
from vigil.policy.memory import AlertMemory, Held
from vigil.policy.windows import MaintenanceWindow

# --- cron ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "after", "fires"),
    [
        ("0 2 * * *", (1, 0, 0), [(1, 2, 0), (2, 2, 0)]),
        ("*/15 * * * *", (1, 0, 1), [(1, 0, 15), (1, 0, 30)]),
        ("5-20/5 10 * * *", (1, 10, 0), [(1, 10, 5), (1, 10, 10)]),
        ("1,2,58-59 10 * * *", (1, 10, 3), [(1, 10, 58), (1, 10, 59)]),
        ("0 22/1 * * *", (1, 21, 0), [(1, 22, 0), (1, 23, 0), (2, 22, 0)]),  # start + step
        ("0 0 1,15 * *", (1, 1, 0), [(15, 0, 0)]),
        ("0 0 * * 7", (1, 0, 0), [(6, 0, 0)]),  # 7 is Sunday too (2026-12-06)
        ("0 0 * * sun,6", (1, 0, 0), [(5, 0, 0), (6, 0, 0)]),
        ("0 0 * * MON-FRI", (4, 0, 0), [(7, 0, 0)]),  # Friday 4th -> Monday 7th
        ("0 3 1 * MON", (1, 3, 0), [(7, 3, 0), (14, 3, 0)]),  # both restricted: either day
        ("0 3 */2 * MON", (1, 3, 0), [(7, 3, 0), (21, 3, 0)]),  # */2 starts with *: odd Mondays
    ],
)
def test_cron_fires_as_debian_cron(expression, after, fires):
    """December 2026 in UTC: the 1st is a Tuesday."""
    schedule = CronSchedule.parse(expression)
    moment = utc(2026, 12, *after)
    found = []
    for _ in fires:
        moment = schedule.next_start(moment)
        found.append(moment)
    assert found == [utc(2026, 12, *f) for f in fires]
    assert schedule.latest_start(found[-1]) == found[-1]  # a start is its own latest
    assert schedule.latest_start(found[-1] - timedelta(seconds=1)) < found[-1]


def test_cron_starts_lists_a_span_and_keeps_wall_clock_across_dst():
    """Europe/Berlin leaves summer time on 2026-10-25 (03:00 CEST -> 02:00 CET): a daily
    03:00 job keeps its local time, so its UTC time moves by an hour."""
    schedule = CronSchedule.parse("0 3 * * *", "Europe/Berlin")
    starts = list(schedule.starts(utc(2026, 10, 23, 0, 0), utc(2026, 10, 27, 0, 0)))
    assert starts == [utc(2026, 10, d, h, 0) for d, h in ((23, 1), (24, 1), (25, 2), (26, 2))]


def test_cron_in_an_hour_a_dst_change_skips_or_repeats_fires_once():
    """As Debian's cron: 02:30 on the spring change (Europe/Berlin 2026-03-29: 02:00 ->
    03:00) fires at 03:00 CEST; on the autumn change (02:00-03:00 twice) it fires once."""
    schedule = CronSchedule.parse("30 2 * * *", "Europe/Berlin")
    spring = list(schedule.starts(utc(2026, 3, 28, 12, 0), utc(2026, 3, 29, 12, 0)))
    assert spring == [utc(2026, 3, 29, 1, 0)]  # 03:00 CEST
    autumn = list(schedule.starts(utc(2026, 10, 24, 12, 0), utc(2026, 10, 25, 12, 0)))
    assert autumn == [utc(2026, 10, 25, 0, 30)]  # the first 02:30 (CEST)


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("0 2 * *", r"cron needs 5 fields .* got 4: '0 2 \* \*'"),
        ("0 2 * * * *", "got 6"),
        ("", "got 0"),
        ("60 * * * *", r"bad minute in '60 \* \* \* \*'"),
        ("* 24 * * *", "bad hour"),
        ("* * 0 * *", "bad day-of-month"),
        ("* * * 13 *", "bad month"),
        ("* * * * 8", "bad day-of-week"),
        ("10-5 * * * *", "bad minute"),
        ("*/0 * * * *", "bad minute"),
        ("*/x * * * *", "bad minute"),
        ("a * * * *", "bad minute"),
        ("* * * * FUNDAY", "bad day-of-week"),
        ("* * * MON *", "bad month"),  # a day name is no month
        ("1,,2 * * * *", "bad minute"),
        ("-1 * * * *", "bad minute"),
        ("0 0 31 2 *", "bad day-of-month"),  # a day no month has
    ],
)
def test_bad_cron_expressions_say_which_field_and_why(expression, message):
    with pytest.raises(ValueError, match=message):
        CronSchedule.parse(expression)


def test_a_cron_time_zone_must_be_an_iana_name():
    with pytest.raises(ValueError, match="unknown timezone 'Mars/Olympus'"):
        CronSchedule.parse("0 2 * * *", "Mars/Olympus")


@settings(max_examples=200, deadline=None)
@given(
    minute=st.integers(0, 59),
    hour=st.integers(0, 23),
    duration=st.integers(1, 300),
    probe=st.integers(-600, 600),
)
def test_started_within_is_start_plus_duration_half_open(minute, hour, duration, probe):
    """Property: a daily ``m h * * *`` window of ``duration`` minutes covers exactly
    [start, start + duration), to the second, across midnight."""
    schedule = CronSchedule.parse(f"{minute} {hour} * * *")
    start = datetime(2026, 12, 10, hour, minute, tzinfo=UTC)
    moment = start + timedelta(seconds=probe * 37)  # seconds that do not fall on a minute
    inside = start <= moment < start + timedelta(minutes=duration)
    # the day before's start also counts when the window is long enough
    inside |= start - timedelta(days=1) <= moment < start - timedelta(days=1, minutes=-duration)
    assert schedule.started_within(moment, timedelta(minutes=duration)) is inside


# --- maintenance windows ----------------------------------------------------------------


def window(**keys) -> MaintenanceWindow:
    return MaintenanceWindow.model_validate({"name": "deploy", "checks": ["*"], **keys})


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_a_one_off_window_is_start_inclusive_end_exclusive_in_any_offset():
    w = window(start="2026-12-01T02:00:00+01:00", end="2026-12-01T03:30:00+01:00")
    assert not w.active_at(utc(2026, 12, 1, 0, 59, 59))
    assert w.active_at(utc(2026, 12, 1, 1, 0))  # 02:00+01:00
    assert w.active_at(utc(2026, 12, 1, 2, 29, 59))
    assert not w.active_at(utc(2026, 12, 1, 2, 30))  # the end is outside
    assert w.active_at(datetime(2026, 12, 1, 10, 0, tzinfo=ZoneInfo("Asia/Tokyo")))


def test_a_cron_window_is_read_in_its_time_zone_across_daylight_saving():
    """``0 2 * * *`` for 90 minutes in Europe/Paris: 01:00-02:30 UTC in winter, 00:00-01:30
    UTC in summer; an unnamed zone is UTC."""
    paris = window(cron="0 2 * * *", duration="90m", timezone="Europe/Paris")
    assert paris.active_at(utc(2026, 12, 1, 1, 0))
    assert paris.active_at(utc(2026, 12, 1, 2, 29))
    assert not paris.active_at(utc(2026, 12, 1, 2, 30))
    assert not paris.active_at(utc(2026, 12, 1, 0, 59))
    assert paris.active_at(utc(2026, 7, 1, 0, 0))
    assert not paris.active_at(utc(2026, 7, 1, 1, 30))
    plain = window(cron="0 2 * * *", duration="90m")
    assert plain.active_at(utc(2026, 12, 1, 2, 0)) and not plain.active_at(utc(2026, 12, 1, 1, 0))
    kolkata = window(cron="30 23 * * SAT", duration="1h", timezone="Asia/Kolkata")  # +05:30
    assert kolkata.active_at(utc(2026, 12, 5, 18, 0))  # Sat 23:30 local
    assert kolkata.active_at(utc(2026, 12, 5, 18, 59))  # Sun 00:29 local: still Saturday's
    assert not kolkata.active_at(utc(2026, 12, 5, 19, 0))
    assert not kolkata.active_at(utc(2026, 12, 6, 18, 0))  # Sunday 23:30 local


@pytest.mark.parametrize(
    ("patterns", "covered"),
    [
        (["*"], {"core/api", "core/web", "data/db", "data/cache"}),
        (["core/*"], {"core/api", "core/web"}),
        (["core/api", "data/db"], {"core/api", "data/db"}),
        (["data/d?"], {"data/db"}),
    ],
)
def test_window_patterns_cover_group_and_check(patterns, covered):
    w = window(checks=patterns, start="2026-12-01T00:00:00Z", end="2026-12-02T00:00:00Z")
    everyone = {"core/api", "core/web", "data/db", "data/cache"}
    assert {ref for ref in everyone if w.covers(*ref.split("/"))} == covered


# --- refusals at load -------------------------------------------------------------------


def problems(raw) -> dict[str, str]:
    with pytest.raises(ConfigError) as caught:
        parse_config(raw)
    found: dict[str, str] = {}
    for path, message in caught.value.problems:  # several at one key: one per line
        found[path] = f"{found[path]}\n{message}" if path in found else message
    return found


def groups(**named):
    return {name: {"checks": checks} for name, checks in named.items()}


def test_an_unknown_parent_is_refused_at_its_depends_on():
    found = problems({"groups": groups(core=[tcp("api", depends_on=["db", "data/cache"])])})
    path = "groups.core.checks[0].depends_on"
    assert list(found) == [path]
    assert "check core/api depends on unknown check 'core/db'" in found[path]
    assert "check core/api depends on unknown check 'data/cache'" in found[path]
    assert "'name' for the same group or 'group/name'" in found[path]
    assert "known: core/api" in found[path]
    both = problems({"groups": groups(core=[tcp("api", depends_on="db")], data=[tcp("db")])})
    assert "unknown check 'core/db'" in both[path]  # a bare name is the same group's


def test_a_cycle_is_refused_naming_it():
    found = problems({"groups": groups(core=[tcp("a", depends_on="b"), tcp("b", depends_on="a")])})
    assert list(found) == ["groups.core.checks[0].depends_on"]  # reported once
    assert (
        found["groups.core.checks[0].depends_on"]
        == "depends_on forms a cycle: core/a -> core/b -> core/a"
    )
    across = problems(
        {
            "groups": groups(
                core=[tcp("api", depends_on="data/db")], data=[tcp("db", depends_on="core/api")]
            )
        }
    )
    assert "core/api -> data/db -> core/api" in across["groups.core.checks[0].depends_on"]
    itself = problems({"groups": groups(core=[tcp("a", depends_on="a")])})
    assert itself["groups.core.checks[0].depends_on"].endswith("core/a -> core/a")
    long = problems(
        {
            "groups": groups(
                core=[
                    tcp("a", depends_on="b"),
                    tcp("b", depends_on="c"),
                    tcp("c", depends_on="a"),
                    tcp("d", depends_on="a"),
                ]
            )
        }
    )
    assert list(long) == ["groups.core.checks[0].depends_on"]
    assert long["groups.core.checks[0].depends_on"].endswith("core/a -> core/b -> core/c -> core/a")


def test_dependencies_within_and_across_groups_load():
    vigil = parse_config(
        {
            "defaults": {"reminder_every": "1h", "error_rate": {"window": "1h", "above": 30}},
            "groups": groups(
                core=[tcp("api", depends_on=["db", "data/cache"]), tcp("db")],
                data=[tcp("cache")],
            ),
        }
    )
    api = vigil.group("core").check("api")
    assert api.depends_on == ("db", "data/cache")
    assert api.reminder_every == 3600
    assert (api.error_rate.window, api.error_rate.above, api.error_rate.min_runs) == (3600, 30, 5)


@pytest.mark.parametrize(
    ("error_rate", "path", "message"),
    [
        ({"window": "1h"}, "error_rate.above", "required key is missing"),
        ({"above": 20}, "error_rate.window", "required key is missing"),
        ({"window": "1h", "above": 0}, "error_rate.above", "greater than 0"),
        ({"window": "1h", "above": 150}, "error_rate.above", "less than or equal to 100"),
        ({"window": "0s", "above": 20}, "error_rate.window", "greater than 0"),
        ({"window": "soon", "above": 20}, "error_rate.window", "soon"),
        ({"window": "1h", "above": 20, "min_runs": 0}, "error_rate.min_runs", "greater than 0"),
        ({"window": "1h", "abvoe": 20}, "error_rate.abvoe", "did you mean `above`?"),
        ("often", "error_rate", "valid dictionary"),
    ],
)
def test_bad_error_rate_is_refused_at_its_key(error_rate, path, message):
    found = problems({"groups": groups(core=[tcp("api", error_rate=error_rate)])})
    key = f"groups.core.checks[0].{path}"
    assert key in found, found
    assert message in found[key]
    inherited = problems(
        {"defaults": {"error_rate": error_rate}, "groups": groups(core=[tcp("api")])}
    )
    assert f"defaults.{path}" in inherited, inherited


def test_a_misspelt_or_mistyped_policy_key_is_refused_at_its_path():
    found = problems({"groups": groups(core=[tcp("api")]), "maintenence": []})
    assert found == {"maintenence": "unknown key; did you mean `maintenance`?"}
    found = problems({"groups": groups(core=[tcp("api", depends_on=3)])})
    assert list(found) == ["groups.core.checks[0].depends_on"]
    found = problems({"groups": groups(core=[tcp("api", depends_on=["db", ""])])})
    assert "at least 1 character" in found["groups.core.checks[0].depends_on[1]"]


def test_a_misspelt_policy_key_gets_a_suggestion():
    found = problems({"groups": groups(core=[tcp("api", reminder_evry="1h", depend_on="db")])})
    assert (
        found["groups.core.checks[0].reminder_evry"]
        == "unknown key; did you mean `reminder_every`?"
    )
    assert found["groups.core.checks[0].depend_on"] == "unknown key; did you mean `depends_on`?"
    found = problems({"groups": groups(core=[tcp("api", reminder_every="-1m")])})
    assert "groups.core.checks[0].reminder_every" in found


@pytest.mark.parametrize(
    ("windows", "path", "message"),
    [
        ("daily", "maintenance", "expected a list of maintenance windows"),
        (
            [{"checks": ["*"], "cron": "0 2 * * *", "duration": "1h"}],
            "maintenance[0].name",
            "required key is missing",
        ),
        (
            [{"name": "x", "cron": "0 2 * * *", "duration": "1h"}],
            "maintenance[0].checks",
            "required key is missing",
        ),
        (
            [{"name": "x", "checks": ["*"]}],
            "maintenance[0]",
            "give start and end (one-off) or cron and duration",
        ),
        (
            [{"name": "x", "checks": ["*"], "start": "2026-12-01T02:00:00Z"}],
            "maintenance[0]",
            "a one-off window needs both start and end",
        ),
        (
            [
                {
                    "name": "x",
                    "checks": ["*"],
                    "start": "2026-12-01T02:00:00",
                    "end": "2026-12-01T03:00:00",
                }
            ],
            "maintenance[0]",
            "need an offset",
        ),
        (
            [
                {
                    "name": "x",
                    "checks": ["*"],
                    "start": "2026-12-01T03:00:00Z",
                    "end": "2026-12-01T03:00:00Z",
                }
            ],
            "maintenance[0]",
            "end must be after start",
        ),
        (
            [{"name": "x", "checks": ["*"], "start": "soon", "end": "2026-12-01T03:00:00Z"}],
            "maintenance[0].start",
            "datetime",
        ),
        (
            [{"name": "x", "checks": ["*"], "cron": "0 2 * * *"}],
            "maintenance[0]",
            "a recurring window needs both cron and duration",
        ),
        (
            [{"name": "x", "checks": ["*"], "cron": "0 25 * * *", "duration": "1h"}],
            "maintenance[0]",
            "bad hour in '0 25 * * *'",
        ),
        (
            [{"name": "x", "checks": ["*"], "cron": "0 2 * *", "duration": "1h"}],
            "maintenance[0]",
            "cron needs 5 fields",
        ),
        (
            [
                {
                    "name": "x",
                    "checks": ["*"],
                    "cron": "0 2 * * *",
                    "duration": "1h",
                    "timezone": "Mars/Olympus",
                }
            ],
            "maintenance[0]",
            "unknown timezone 'Mars/Olympus'; use an IANA name",
        ),
        (
            [{"name": "x", "checks": ["*"], "cron": "0 2 * * *", "duration": "0s"}],
            "maintenance[0].duration",
            "greater than 0",
        ),
        (
            [
                {
                    "name": "x",
                    "checks": ["*"],
                    "cron": "0 2 * * *",
                    "duration": "1h",
                    "start": "2026-12-01T02:00:00Z",
                    "end": "2026-12-01T03:00:00Z",
                }
            ],
            "maintenance[0]",
            "not both",
        ),
        (
            [
                {
                    "name": "x",
                    "checks": ["*"],
                    "cron": "0 2 * * *",
                    "duration": "1h",
                    "timzone": "UTC",
                }
            ],
            "maintenance[0].timzone",
            "did you mean `timezone`?",
        ),
        (
            [{"name": "x", "checks": [], "cron": "0 2 * * *", "duration": "1h"}],
            "maintenance[0].checks",
            "at least 1 item",
        ),
    ],
)
def test_bad_maintenance_windows_are_refused_at_their_key(windows, path, message):
    found = problems({"groups": groups(core=[tcp("api")]), "maintenance": windows})
    assert path in found, found
    assert message in found[path]


def test_maintenance_windows_load():
    vigil = parse_config(
        {
            "groups": groups(core=[tcp("api")]),
            "maintenance": [
                {
                    "name": "deploy",
                    "checks": ["core/*"],
                    "start": "2026-12-01T02:00:00+01:00",
                    "end": "2026-12-01T03:00:00+01:00",
                },
                {
                    "name": "nightly",
                    "checks": ["*"],
                    "cron": "0 2 * * MON-FRI",
                    "duration": "30m",
                    "timezone": "Europe/Paris",
                },
            ],
        }
    )
    assert [w.name for w in vigil.maintenance] == ["deploy", "nightly"]
    assert vigil.maintenance[1].duration == 1800 and vigil.maintenance[1].schedule is not None


# --- the policy's memory ----------------------------------------------------------------

DOC = AlertDocument(
    AlertEvent.FAILURE,
    "web",
    "api",
    "unhealthy",
    "healthy",
    "2026-11-30T00:01:00Z",
    "HTTP 503",
    "web/api/failure@2026-11-30T00:01:00Z",
    {"status_code": 503, "held_by": "data/db"},
)

MEMORIES = st.builds(
    AlertMemory,
    alerted=st.sampled_from(["healthy", "degraded", "unhealthy", "error"]),
    alerted_at=st.none() | st.integers(0, 2_000_000_000).map(float),
    held=st.none()
    | st.builds(Held, st.just(DOC), st.none() | st.sampled_from(["data/db", "core/db"])),
    observations=st.lists(
        st.tuples(st.integers(1_700_000_000, 1_800_000_000), st.booleans()),
        max_size=60,
        unique_by=lambda o: o[0],
    ).map(lambda obs: tuple(sorted(obs))),
    error_rate_open=st.booleans(),
    maintenance=st.none() | st.sampled_from(["deploy", "nightly"]),
)


@settings(max_examples=200, deadline=None)
@given(memory=MEMORIES)
def test_alert_memory_round_trips_through_its_packed_form(memory):
    """Property: ``AlertMemory.from_dict(memory.to_dict()) == memory``; the default packs to
    nothing and the observations as small deltas."""
    import json

    packed = memory.to_dict()
    assert AlertMemory.from_dict(json.loads(json.dumps(packed))) == memory
    if memory.observations:
        assert packed["w"][0] // 2 == memory.observations[0][0]
        assert all(0 < value // 2 <= 100_000_000 for value in packed["w"][1:])


def test_states_saved_before_the_keys_were_renamed_still_read():
    """The error-rate window was packed as "o" (also the streak's key in a check's state)
    and the fence's owners too; both now have a key of their own, and old states read."""
    from vigil.store.fence import RunFence

    memory = AlertMemory.from_dict({"o": [3_000_000_001, 120]})
    assert memory.observations == ((1_500_000_000, True), (1_500_000_060, False))
    fence = RunFence.from_dict({"d": [1000], "o": {"1970-01-01T00:00:01Z": "me"}})
    assert fence.owner("1970-01-01T00:00:01Z") == "me"
    assert "by" in fence.to_dict() and "w" in memory.to_dict()


def test_default_memory_packs_to_nothing_and_held_keeps_its_document():
    assert AlertMemory().to_dict() == {}
    assert AlertMemory.from_dict(None) == AlertMemory() == AlertMemory.from_dict({})
    held = Held(DOC, "data/db")
    assert Held.from_dict(held.to_dict()) == held
    assert Held.from_dict(Held(DOC, None).to_dict()).parent is None


def test_a_recurring_window_keeps_its_length_across_a_dst_change():
    """Europe/Paris leaves summer time on 2026-10-25 at 03:00 local: a 2 h window
    opening at 01:30 local lasts 2 real hours (23:30 to 01:30 UTC)."""
    window = MaintenanceWindow(
        name="n", checks=["*"], cron="30 1 * * *", duration="2h", timezone="Europe/Paris"
    )
    opens, closes = (
        datetime(2026, 10, 24, 23, 30, tzinfo=UTC),
        datetime(2026, 10, 25, 1, 30, tzinfo=UTC),
    )
    assert not window.active_at(opens - timedelta(seconds=1))
    assert window.active_at(opens) and window.active_at(closes - timedelta(seconds=1))
    assert not window.active_at(closes)
