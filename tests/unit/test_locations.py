"""Locations and quorum, pure: the configuration, the roles, and combining observations."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vigil.config import ConfigError, parse_config
from vigil.locations import Locations, combine, majority
from vigil.results import CheckResult, Status

H, D, U, E = Status.HEALTHY, Status.DEGRADED, Status.UNHEALTHY, Status.ERROR
REGIONS = ("eu-west-1", "us-east-1", "ap-southeast-2")


def seen(*statuses, latencies=(100.0, 200.0, 300.0)) -> dict[str, CheckResult | None]:
    return {
        region: None if status is None else CheckResult("api", status, f"{status} here", ms)
        for region, status, ms in zip(REGIONS, statuses, latencies, strict=False)
    }


@pytest.mark.parametrize(
    ("statuses", "quorum", "combined"),
    [
        ((U, U, U), None, U),  # down everywhere
        ((U, H, H), None, H),  # down from one region: never alerted
        ((U, U, H), None, U),  # down from two of three
        ((U, U, H), 3, H),  # quorum 3 needs all three
        ((U, U, U), 3, U),
        ((D, H, H), None, H),  # degraded in one region: nothing
        ((D, U, H), None, D),  # degraded or worse in two: degraded
        ((E, E, E), None, E),  # no voter at all
        ((U, E, E), None, U),  # errors do not vote: one voter, k = min(2, 1)
        ((U, H, None), None, H),  # did not report: 2 report, majority 2, one says down
        ((U, U, None), None, U),
        ((U, None, None), None, U),  # only the home reported
    ],
)
def test_the_worst_status_that_at_least_k_voters_saw(statuses, quorum, combined):
    assert combine("api", seen(*statuses), quorum).status == combined


def test_the_reason_and_details_say_who_saw_what():
    result = combine("api", seen(U, U, H), None)
    assert result.reason == (
        "unhealthy in 2 of 3 locations: eu-west-1: unhealthy here; us-east-1: unhealthy here"
    )
    assert result.details["locations"]["ap-southeast-2"] == {
        "status": "healthy",
        "latency_ms": 300.0,
        "reason": "healthy here",
    }
    assert result.latency_ms == 200.0  # the median of the voters
    quiet = combine("api", seen(U, H, None), None)
    assert quiet.reason.startswith("healthy in 1 of 3 locations (below quorum: eu-west-1")
    assert quiet.details["locations"]["ap-southeast-2"] is None
    assert combine("api", seen(E, E, E), None).reason.startswith("error in 3 of 3 locations")


@given(st.lists(st.sampled_from([H, D, U, E, None]), min_size=1, max_size=3), st.integers(1, 3))
def test_more_failing_voters_never_make_it_better(statuses, quorum):
    """Property: turning one voter's healthy into unhealthy never improves the result."""
    rank = {H: 0, D: 1, U: 2, E: -1}
    before = combine("api", seen(*statuses), quorum).status
    for index, status in enumerate(statuses):
        if status == H:
            worse = list(statuses)
            worse[index] = U
            after = combine("api", seen(*worse), quorum).status
            assert before == E or rank[after] >= rank[before]


def test_the_default_quorum_is_a_majority():
    assert [majority(n) for n in (1, 2, 3, 4, 5)] == [1, 2, 2, 3, 3]


BASE = {"groups": {"g": {"checks": [{"name": "a", "type": "tcp", "host": "h", "port": 1}]}}}
TWO = {"home": "eu-west-1", "probes": ["us-east-1"]}


def test_locations_parse_with_their_wait_and_roles():
    config = parse_config(
        {**BASE, "locations": {"home": "eu-west-1", "probes": ["us-east-1"]}, "quorum_wait": "7s"}
    )
    assert config.locations == Locations("eu-west-1", ("us-east-1",), 7.0)
    assert config.locations.role("eu-west-1") == "home"
    assert config.locations.role("us-east-1") == "probe"
    with pytest.raises(ValueError, match="region ap-south-1 is not in locations"):
        config.locations.role("ap-south-1")
    assert parse_config(BASE).locations is None


@pytest.mark.parametrize(
    ("extra", "path", "words"),
    [
        ({"locations": {"home": "Europe", "probes": ["us-east-1"]}}, "locations.home", "region"),
        ({"locations": {"home": "eu-west-1", "probes": []}}, "locations.probes", "at least one"),
        (
            {"locations": {"home": "eu-west-1", "probes": ["eu-west-1"]}},
            "locations.probes[0]",
            "twice",
        ),
        (
            {"locations": {"home": "eu-west-1", "probe": ["us-east-1"]}},
            "locations.probe",
            "unknown",
        ),
        ({"quorum_wait": "5s"}, "quorum_wait", "applies with locations"),
        ({"locations": TWO, "quorum_wait": "soon"}, "quorum_wait", "duration"),
        ({"locations": TWO, "quorum_wait": "41s"}, "quorum_wait", "at most 40s"),
        ({"locations": TWO, "quorum_wait": "0s"}, "quorum_wait", "more than 0s"),
        ({"defaults": {"quorum": 2}}, "groups.g.checks[0].quorum", "needs locations"),
        (
            {
                "defaults": {"quorum": 3},
                "locations": {"home": "eu-west-1", "probes": ["us-east-1"]},
            },
            "groups.g.checks[0].quorum",
            "more than the 2 locations",
        ),
    ],
)
def test_bad_locations_are_refused_at_their_key(extra, path, words):
    with pytest.raises(ConfigError) as refused:
        parse_config({**BASE, **extra})
    found = dict(refused.value.problems)
    assert path in found, found
    assert words in found[path]


@pytest.mark.parametrize(
    "home", [["eu-west-1"], {"eu": 1}, "eu-west-1\n", None], ids=["list", "map", "newline", "none"]
)
def test_a_home_that_is_no_region_is_one_problem_at_its_key(home):
    """Shapes YAML can give (a list, a mapping, a trailing newline): one problem where it
    is, and no second one about the quorum that needs valid locations."""
    raw = {**BASE, "defaults": {"quorum": 1}, "locations": {"home": home, "probes": ["us-east-1"]}}
    with pytest.raises(ConfigError) as refused:
        parse_config(raw)
    assert [path for path, _ in refused.value.problems] == ["locations.home"]


def test_a_heartbeat_takes_no_quorum():
    raw = {
        "locations": TWO,
        "groups": {
            "g": {"checks": [{"name": "b", "type": "heartbeat", "period": "1h", "quorum": 1}]}
        },
    }
    with pytest.raises(ConfigError) as refused:
        parse_config(raw)
    assert dict(refused.value.problems) == {
        "groups.g.checks[0].quorum": "a heartbeat check is judged by the home alone: no quorum"
    }


def test_quorum_wait_leaves_the_probes_their_slowest_checks_timeout_and_2s():
    """The probes write what they saw once their slowest check ends: a quorum_wait shorter
    than that would judge a hanging target by the home alone, the false alarm a quorum is
    for. Heartbeats are not run by probes and do not count."""

    def config(wait: str, timeout: str) -> dict:
        checks = [
            {"name": "a", "type": "tcp", "host": "h", "port": 1, "timeout": "3s"},
            {"name": "slow", "type": "tcp", "host": "h", "port": 1, "timeout": timeout},
            {"name": "b", "type": "heartbeat", "period": "1h"},
        ]
        return {"locations": TWO, "quorum_wait": wait, "groups": {"g": {"checks": checks}}}

    assert parse_config(config("12s", "10s")).locations.quorum_wait == 12.0
    with pytest.raises(ConfigError) as refused:
        parse_config(config("11s", "10s"))
    assert dict(refused.value.problems) == {
        "quorum_wait": "11s is too short for the probes to report groups.g.checks[1] (timeout "
        "10s): at least its timeout and 2s more, or a target that hangs is judged by the "
        "home alone"
    }
