"""Locations and quorum end to end: a home and two probes, three regions at once.

One moto server holds the three regions; each region's stack is created from
template.yaml, and each region's runner handler runs in a process of its own with that
region's environment (``tests.support.regions``), all reading the same checks.yaml.
A run event goes to all three at once, as their ticks would start them; the target is
a real HTTP server on loopback answering each region as the test sets it (it tells
them apart by Vigil's User-Agent). Alerts are read from an SQS queue subscribed to
each region's topic; the combined result from the home's answer and its table.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.support.regions import DOWN, DROP, UP, Alert, Regions, slow
from vigil.pings import Ping
from vigil.store.pings import PingStore
from vigil.times import iso, parse_time

HOME, EAST, SYDNEY = "eu-west-1", "us-east-1", "ap-southeast-2"
PROBES = (EAST, SYDNEY)
ALL = (HOME, *PROBES)
GROUP = "edge"
QUORUM_WAIT_S = 5  # probes report within ~0.1 s here; tests of a missing one wait it out
# The scheduled time of the test group's first run: an hour ago, which the handler
# accepts (every test has fresh tables, so each can start there).
START = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(hours=1)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Regions]:
    with Regions(HOME, PROBES, tmp_path_factory.mktemp("regions")) as regions:
        yield regions


@pytest.fixture
def regions(world: Regions) -> Regions:
    """Fresh stacks in every region (the runner processes stay warm), target up."""
    world.redeploy()
    return world


def minute(n: int) -> str:
    """The scheduled time of the n-th run of the test's 1-minute group."""
    return iso(START + timedelta(minutes=n))


def checks_yaml(checks: str) -> str:
    """The one checks.yaml of all three stacks: the group ``edge`` of ``checks``."""
    return f"""\
locations:
  home: {HOME}
  probes: [{EAST}, {SYDNEY}]
quorum_wait: {QUORUM_WAIT_S}s
defaults:
  timeout: 2s
  failure_threshold: 1
  success_threshold: 1
groups:
  {GROUP}:
    every: 1m
    checks:
{checks}"""


def http_check(regions: Regions, name: str, **keys: object) -> str:
    extra = "".join(f", {key}: {value}" for key, value in keys.items())
    return f"      - {{name: {name}, type: http, url: {regions.target.url('/' + name)}{extra}}}\n"


def combined(answers: dict[str, dict[str, Any]], check: str = "api") -> dict[str, Any]:
    """The home's combined result of ``check`` in its answer to a run."""
    (found,) = [r for r in answers[HOME]["results"] if r["check"] == check]
    return found


def seen(answers: dict[str, dict[str, Any]], check: str = "api") -> dict[str, str | None]:
    """What each location saw, as the home combined it (None: did not report)."""
    locations = combined(answers, check)["details"]["locations"]
    return {region: None if obs is None else obs["status"] for region, obs in locations.items()}


def whats(alerts: list[Alert]) -> list[tuple[str, str, str, str, str]]:
    return [(*a.what, a.document["timestamp"]) for a in alerts]


def assert_probes_alerted_nothing(regions: Regions) -> None:
    for probe in PROBES:
        assert regions.alerts(probe) == [], probe


def test_down_everywhere_alerts_once_at_the_home_and_recovers_once(regions: Regions) -> None:
    regions.configure(checks_yaml(http_check(regions, "api")))
    first = regions.run(GROUP, minute(0))
    assert {region: answer["location"]["role"] for region, answer in first.items()} == {
        HOME: "home",
        EAST: "probe",
        SYDNEY: "probe",
    }
    assert combined(first)["status"] == "healthy"
    assert seen(first) == dict.fromkeys(ALL, "healthy")
    # each location asked from its own region, and said so in its User-Agent
    assert regions.target.regions_seen("/api") == sorted(ALL)

    regions.target.everywhere(DOWN, ALL)
    for n in (1, 2, 3):
        answers = regions.run(GROUP, minute(n))
        assert combined(answers)["status"] == "unhealthy", n
        assert seen(answers) == dict.fromkeys(ALL, "unhealthy")
        assert combined(answers)["reason"].startswith("unhealthy in 3 of 3 locations: ")
    regions.target.everywhere(UP, ALL)
    for n in (4, 5):
        assert combined(regions.run(GROUP, minute(n)))["status"] == "healthy", n

    alerts = regions.alerts(HOME)
    assert whats(alerts) == [
        ("failure", GROUP, "api", "unhealthy", minute(1)),
        ("recovery", GROUP, "api", "healthy", minute(4)),
    ]
    assert alerts[0].document["reason"].startswith("unhealthy in 3 of 3 locations: ")
    assert_probes_alerted_nothing(regions)

    # the home's table keeps the combined result, with what each location saw
    (stored,) = regions.home_store().get_run(GROUP, 0, minute(1)).results
    assert stored.status == "unhealthy"
    locations = stored.details["locations"]
    assert set(locations) == set(ALL)
    for region, observation in locations.items():
        assert observation["status"] == "unhealthy", region
        assert observation["reason"] == "HTTP 503, expected 2xx", region
        assert isinstance(observation["latency_ms"], float) and observation["latency_ms"] > 0
    assert stored.details["quorum"] == 2
    voters = sorted(o["latency_ms"] for o in locations.values())
    assert stored.latency_ms == pytest.approx(voters[1], abs=0.1)  # the median


def test_down_from_one_location_only_never_alerts(regions: Regions) -> None:
    """A majority (2 of 3) must see it: one location alone, whichever, says nothing."""
    regions.configure(checks_yaml(http_check(regions, "api")))
    for n, (region, mode) in enumerate(
        [(HOME, DOWN), (EAST, DOWN), (SYDNEY, DOWN), (EAST, DROP), (HOME, DROP)]
    ):
        regions.target.everywhere(UP, ALL)
        regions.target.everywhere(mode, [region])
        answers = regions.run(GROUP, minute(n))
        assert seen(answers) == {r: "unhealthy" if r == region else "healthy" for r in ALL}
        assert combined(answers)["status"] == "healthy", (region, mode)
        assert combined(answers)["reason"].startswith(
            f"healthy in 2 of 3 locations (below quorum: {region}: unhealthy, "
        )
    assert regions.home_store().load_state(GROUP, 0).checks["api"].status == "healthy"
    assert regions.alerts(HOME) == []
    assert_probes_alerted_nothing(regions)


def test_down_in_two_of_three_alerts_once(regions: Regions) -> None:
    """Whichever two see it, and however they fail (503, or no answer at all)."""
    regions.configure(checks_yaml(http_check(regions, "api")))
    assert combined(regions.run(GROUP, minute(0)))["status"] == "healthy"
    for n, (failing, mode) in enumerate(
        [((HOME, EAST), DOWN), ((EAST, SYDNEY), DROP), ((HOME, SYDNEY), DOWN)], start=1
    ):
        regions.target.everywhere(UP, ALL)
        regions.target.everywhere(mode, failing)
        answers = regions.run(GROUP, minute(n))
        assert seen(answers) == {r: "unhealthy" if r in failing else "healthy" for r in ALL}
        assert combined(answers)["status"] == "unhealthy", failing
        assert combined(answers)["reason"].startswith("unhealthy in 2 of 3 locations: ")
    regions.target.everywhere(UP, ALL)
    assert combined(regions.run(GROUP, minute(4)))["status"] == "healthy"
    assert whats(regions.alerts(HOME)) == [
        ("failure", GROUP, "api", "unhealthy", minute(1)),
        ("recovery", GROUP, "api", "healthy", minute(4)),
    ]
    assert_probes_alerted_nothing(regions)


def test_a_quorum_of_three_needs_every_location(regions: Regions) -> None:
    """Two checks of one group on the same target: ``api`` with the default majority,
    ``strict`` with ``quorum: 3``."""
    regions.configure(
        checks_yaml(http_check(regions, "api") + http_check(regions, "strict", quorum=3))
    )
    first = regions.run(GROUP, minute(0))
    assert combined(first, "api")["details"]["quorum"] == 2
    assert combined(first, "strict")["details"]["quorum"] == 3

    regions.target.everywhere(DOWN, (HOME, EAST))
    two = regions.run(GROUP, minute(1))
    assert seen(two, "strict") == {HOME: "unhealthy", EAST: "unhealthy", SYDNEY: "healthy"}
    assert combined(two, "strict")["status"] == "healthy"
    assert combined(two, "api")["status"] == "unhealthy"

    regions.target.everywhere(DOWN, ALL)
    three = regions.run(GROUP, minute(2))
    assert combined(three, "strict")["status"] == "unhealthy"
    assert combined(three, "strict")["reason"].startswith("unhealthy in 3 of 3 locations: ")

    assert whats(regions.alerts(HOME)) == [
        ("failure", GROUP, "api", "unhealthy", minute(1)),
        ("failure", GROUP, "strict", "unhealthy", minute(2)),
    ]
    assert_probes_alerted_nothing(regions)


def test_degraded_in_one_location_only_says_nothing(regions: Regions) -> None:
    regions.configure(checks_yaml(http_check(regions, "api", degraded_after="500ms", timeout="3s")))
    regions.target.answer(ap_southeast_2=slow(1200))
    for n in (0, 1):
        answers = regions.run(GROUP, minute(n))
        assert seen(answers) == {HOME: "healthy", EAST: "healthy", SYDNEY: "degraded"}
        sydney = combined(answers)["details"]["locations"][SYDNEY]
        assert sydney["reason"].startswith("slow: ") and sydney["latency_ms"] >= 1200
        assert combined(answers)["status"] == "healthy"
    assert regions.alerts(HOME) == []

    regions.target.answer(us_east_1=slow(1200))  # a second location: degraded is confirmed
    answers = regions.run(GROUP, minute(2))
    assert combined(answers)["status"] == "degraded"
    assert combined(answers)["latency_ms"] >= 1200  # the median of the three
    assert whats(regions.alerts(HOME)) == [("degraded", GROUP, "api", "degraded", minute(2))]
    assert_probes_alerted_nothing(regions)


def test_error_in_every_location_is_error_and_alerted(regions: Regions) -> None:
    """A header read from a secret that no region has: the check cannot run anywhere
    (status ``error``, before any request is sent). Every location errs, so none
    votes and the combined status is ``error``, a problem status the policy alerts
    as a ``failure``."""
    token = "{Authorization: {secret: vigil/edge-token-missing}}"  # a name no test creates
    regions.configure(checks_yaml(http_check(regions, "api", headers=token)))
    answers = regions.run(GROUP, minute(0))
    assert seen(answers) == dict.fromkeys(ALL, "error")
    for region, observation in combined(answers)["details"]["locations"].items():
        assert "vigil/edge-token-missing" in observation["reason"], region
        assert "not found" in observation["reason"], region
    assert combined(answers)["status"] == "error"
    assert combined(answers)["reason"].startswith("error in 3 of 3 locations: ")
    assert "quorum" not in combined(answers)["details"]  # nobody voted
    assert regions.target.regions_seen("/api") == []  # no request left any region
    assert whats(regions.alerts(HOME)) == [("failure", GROUP, "api", "error", minute(0))]
    assert_probes_alerted_nothing(regions)


def test_a_secret_only_in_the_homes_region_leaves_the_home_to_judge_alone(
    regions: Regions,
) -> None:
    """Secrets are regional: a probe reads the secret in its own region. Where the
    probes cannot, they do not vote, and the home's own observation decides (the
    quorum is at most the number of voters)."""
    secret = "vigil/edge-token-home-only"  # a name no other test uses (warm caches)
    regions.put_secret(HOME, secret, "s3cr3t-home-only")
    regions.configure(
        checks_yaml(http_check(regions, "api", headers=f"{{X-Api-Key: {{secret: {secret}}}}}"))
    )
    answers = regions.run(GROUP, minute(0))
    assert seen(answers) == {HOME: "healthy", EAST: "error", SYDNEY: "error"}
    assert combined(answers)["status"] == "healthy"
    assert regions.target.regions_seen("/api") == [HOME]

    regions.target.answer(eu_west_1=DOWN)
    answers = regions.run(GROUP, minute(1))
    assert combined(answers)["status"] == "unhealthy"
    assert combined(answers)["details"]["quorum"] == 1
    assert whats(regions.alerts(HOME)) == [("failure", GROUP, "api", "unhealthy", minute(1))]
    assert_probes_alerted_nothing(regions)


def test_a_late_observation_changes_nothing_counted(regions: Regions) -> None:
    """Sydney's run comes after the home has waited ``quorum_wait`` and counted: what it
    saw is stored at the home, but the counted result, the state and the alerts stay
    as they were, even when the home's run is delivered again."""
    regions.configure(checks_yaml(http_check(regions, "api")))
    regions.target.answer(eu_west_1=DOWN, ap_southeast_2=DOWN)
    started = time.monotonic()
    answers = regions.run(GROUP, minute(0), [HOME, EAST])
    assert time.monotonic() - started >= QUORUM_WAIT_S  # the home waited for Sydney
    assert seen(answers) == {HOME: "unhealthy", EAST: "healthy", SYDNEY: None}
    assert combined(answers)["status"] == "healthy"  # 1 of the 2 that reported

    late = regions.run(GROUP, minute(0), [SYDNEY])[SYDNEY]
    assert late["results"][0]["status"] == "unhealthy"
    store = regions.home_store()
    (arrived,) = store.observations(GROUP, 0, minute(0), [SYDNEY])[SYDNEY]
    assert arrived.status == "unhealthy"  # it did reach the home's table

    (counted,) = store.get_run(GROUP, 0, minute(0)).results
    assert counted.status == "healthy"
    assert counted.details["locations"][SYDNEY] is None
    assert store.load_state(GROUP, 0).checks["api"].status == "healthy"
    again = regions.run(GROUP, minute(0), [HOME])[HOME]  # a repeated delivery
    assert again["duplicate"] is True
    assert [(r["check"], r["status"]) for r in again["results"]] == [("api", "healthy")]
    assert regions.alerts(HOME) == []

    # in time, the same observations are two of three: alerted
    answers = regions.run(GROUP, minute(1))
    assert seen(answers) == {HOME: "unhealthy", EAST: "healthy", SYDNEY: "unhealthy"}
    assert whats(regions.alerts(HOME)) == [("failure", GROUP, "api", "unhealthy", minute(1))]


def test_a_heartbeat_is_judged_at_the_home_alone(regions: Regions) -> None:
    """A heartbeat calls nothing: its job pings the home's stack, so no probe runs it, and
    its result (reason, details) is the home's own, not one "of 3 locations"."""
    regions.configure(
        checks_yaml(
            http_check(regions, "api")
            + "      - {name: nightly, type: heartbeat, period: 1d, grace: 1m}\n"
        )
    )
    pings = PingStore(regions.stacks[HOME].table, client=regions.cloud.client("dynamodb", HOME))
    failed_at = parse_time(minute(0)) - timedelta(minutes=5)
    ping = Ping(GROUP, "nightly", "fail", 3, None, int(failed_at.timestamp() * 1000), "boom")
    pings.count(ping, int(failed_at.timestamp()) + 86400)

    answers = regions.run(GROUP, minute(0))
    for probe in PROBES:
        assert [r["check"] for r in answers[probe]["results"]] == ["api"]
    nightly = combined(answers, "nightly")
    assert nightly["status"] == "unhealthy"
    assert nightly["reason"] == "failed (exit status 3): boom"
    assert "locations" not in nightly["details"]
    assert nightly["details"]["exit_status"] == 3
    assert nightly["details"]["excerpt"] == "boom"
    assert set(seen(answers, "api")) == set(ALL)  # the http check is combined as ever
    (alert,) = regions.alerts(HOME)
    assert alert.what == ("failure", GROUP, "nightly", "unhealthy")
    assert alert.document["reason"] == "failed (exit status 3): boom"


def monitor_alerts(answer: dict[str, Any]) -> list[tuple[str, str]]:
    return [(a["check"], a["status"]) for a in answer["alerted"]]


def test_a_silent_probe_is_alerted_once_at_the_home_and_once_when_back(
    regions: Regions,
) -> None:
    regions.configure(checks_yaml(http_check(regions, "api")))
    regions.run(GROUP, minute(0))
    assert monitor_alerts(regions.tick(minute(1), [HOME])[HOME]) == []
    answers = regions.run(GROUP, minute(3), [HOME, EAST])  # Sydney has stopped running
    assert seen(answers)[SYDNEY] is None

    silent = f"location-silent/{SYDNEY}"
    assert monitor_alerts(regions.tick(minute(4), [HOME])[HOME]) == [(silent, "unhealthy")]
    assert monitor_alerts(regions.tick(minute(5), [HOME])[HOME]) == []  # said once
    regions.run(GROUP, minute(5))  # Sydney runs again
    assert monitor_alerts(regions.tick(minute(6), [HOME])[HOME]) == [(silent, "healthy")]

    alerts = regions.alerts(HOME)
    assert whats(alerts) == [
        ("monitor", "vigil", silent, "unhealthy", minute(4)),
        ("monitor", "vigil", silent, "healthy", minute(6)),
    ]
    assert alerts[0].document["reason"].startswith(f"probe {SYDNEY} has stopped running {GROUP}: ")
    assert_probes_alerted_nothing(regions)


def test_a_silent_home_is_alerted_once_at_each_probe_and_once_when_back(
    regions: Regions,
) -> None:
    regions.configure(checks_yaml(http_check(regions, "api")))
    regions.run(GROUP, minute(0))
    assert all(monitor_alerts(a) == [] for a in regions.tick(minute(1), PROBES).values())
    regions.run(GROUP, minute(3), PROBES)  # the home has stopped; the probes go on

    silent = f"home-silent/{HOME}"
    for answer in regions.tick(minute(4), PROBES).values():
        assert monitor_alerts(answer) == [(silent, "unhealthy")]
    for answer in regions.tick(minute(5), PROBES).values():
        assert monitor_alerts(answer) == []  # said once
    regions.run(GROUP, minute(5))  # the home runs again
    for answer in regions.tick(minute(6), PROBES).values():
        assert monitor_alerts(answer) == [(silent, "healthy")]

    for probe in PROBES:  # on each probe's own topic
        alerts = regions.alerts(probe)
        assert whats(alerts) == [
            ("monitor", "vigil", silent, "unhealthy", minute(4)),
            ("monitor", "vigil", silent, "healthy", minute(6)),
        ], probe
        assert alerts[0].document["reason"].startswith(f"the home ({HOME}) has run no group ")
    assert regions.alerts(HOME) == []
