from dataclasses import replace

import pytest

from vigil.alerts.document import AlertDocument, AlertEvent
from vigil.budget import checks_budget, longest_check_timeout, reserve_for
from vigil.config import parse_config
from vigil.exceptions import InvalidEventError
from vigil.results import CheckResult, Status
from vigil.run.event import RunRequest
from vigil.run.execution import is_due
from vigil.run.fold import CUT_LIMIT, fold
from vigil.sharding import shard_of
from vigil.state import CheckState
from vigil.store.base import GroupState
from vigil.store.outbox import PendingAlert
from vigil.times import parse_time

CONFIG = parse_config(
    {
        "groups": {
            "core": {
                "checks": [
                    {"name": "api", "type": "tcp", "host": "h", "port": 1, "failure_threshold": 1},
                    {"name": "slow", "type": "tcp", "host": "h", "port": 2, "interval": "5m"},
                ]
            }
        }
    }
)
GROUP = CONFIG.group("core")
NOW = parse_time("2026-11-28T10:00:00Z").timestamp()


@pytest.mark.parametrize(
    ("interval", "elapsed", "due"),
    [
        (None, 1, True),
        (60, 60, True),
        (60, 55, True),
        (60, 53, False),
        (300, 240, False),
        (300, 300, True),
        (120, 60, False),
        (5, 4, True),
        (5, 3.9, False),
    ],
)
def test_is_due_tolerates_jitter(interval, elapsed, due):
    check = GROUP.checks[1].model_copy(update={"interval": interval})
    assert is_due(check, CheckState(last_run=1000.0), 1000.0 + elapsed) is due
    assert is_due(check, None, 0) is True


@pytest.mark.parametrize(
    ("event", "message"),
    [
        (None, "expected an event"),
        ([1, 2], "expected an event"),
        ({"group": 3}, "'group' must be a non-empty string"),
        ({"group": ""}, "'group' must be a non-empty string"),
        ({"group": "x" * 65}, "at most 64 characters, got 65"),
        ({"group": "core", "scheduled_time": "yesterday"}, "ISO 8601"),
        ({"group": "core", "scheduled_time": 12345}, "must be an ISO 8601 string, got int"),
        ({"group": "core", "scheduled_time": "9999-12-31T23:59:00Z"}, "ahead of now"),
        ({"group": "core", "scheduled_time": "2026-11-28T10:06:00Z"}, "ahead of now"),
        ({"group": "core", "scheduled_time": "2026-10-01T00:00:00Z"}, "older than the history"),
        ({"group": "core", "shard": "1"}, "whole number"),
        ({"group": "core", "shard": -1}, "whole number"),
        ({"group": "core", "shard": True}, "whole number"),
        ({"group": "core", "scheduled_tme": "2026-11-28T10:00:00Z"}, "unknown key"),
    ],
)
def test_bad_events_are_refused(event, message):
    with pytest.raises(InvalidEventError, match=message):
        RunRequest.from_event(event, now=NOW, retention_days=30)


def test_a_huge_event_is_quoted_in_at_most_200_characters():
    huge = {"group": "g" * 1_048_576}
    with pytest.raises(InvalidEventError) as caught:
        RunRequest.from_event(huge, now=NOW, retention_days=30)
    assert len(str(caught.value)) < 300
    with pytest.raises(InvalidEventError) as caught:
        RunRequest.from_event(["x" * 1_048_576], now=NOW, retention_days=30)
    assert len(str(caught.value)) < 300


def test_times_within_the_bounds_are_accepted():
    for moment in ("2026-11-28T10:04:59Z", "2026-10-30T10:00:00Z", "2026-11-28T10:00:00+01:00"):
        assert RunRequest.from_event(
            {"group": "core", "scheduled_time": moment}, now=NOW, retention_days=30
        ).scheduled_time


def test_event_time_is_normalised():
    request = RunRequest.from_event(
        {"group": "core", "scheduled_time": "2026-11-28T10:01:00+00:00"}
    )
    assert request.scheduled_time == "2026-11-28T10:01:00Z"


def test_shards_partition_checks_stably():
    names = [f"check-{i}" for i in range(200)]
    owners = [shard_of(n, 4) for n in names]
    assert set(owners) == {0, 1, 2, 3}
    assert owners == [shard_of(n, 4) for n in names]
    assert all(shard_of(n, 1) == 0 for n in names)


def test_reserve_scales_with_what_is_left():
    assert reserve_for(60) == 15 and reserve_for(900) == 15 and reserve_for(8) == 2
    # with 3 s or less left the checks still get most of it
    assert 1.5 < checks_budget(3) < 3 and 0.3 < checks_budget(1) < 1
    assert longest_check_timeout(60) == pytest.approx(60 - 0.5 - 15 - 1)


def alert(alert_id: str, **lease) -> PendingAlert:
    doc = AlertDocument(
        AlertEvent.FAILURE, "core", "api", "unhealthy", "healthy", "t", "", alert_id
    )
    return PendingAlert(doc, **lease)


def test_fold_records_transition_as_leased_pending_alert_and_closes_periods():
    state = GroupState("core", hour=None, day=None)
    results = [CheckResult("api", Status.UNHEALTHY, "refused", 3.0)]
    one = fold(
        GROUP,
        state,
        results,
        run_key="2026-11-28T10:59:00Z",
        owner="run-1",
        now=100.0,
        lease_until=160.0,
    )
    assert [t.event for t in one.transitions] == ["failure"]
    assert [(a.lease_owner, a.lease_until) for a in one.state.outbox] == [("run-1", 160.0)]
    assert one.state.outbox[0].document.status == "unhealthy"
    assert one.state.outbox[0].alert_id == "core/api/failure@2026-11-28T10:59:00Z"
    assert one.closed == []
    assert one.state.hour.period == "2026-11-28T10" and one.state.hour.checks["api"].failures == 1
    assert one.state.fence.owner("2026-11-28T10:59:00Z") == "run-1"

    later = [CheckResult("api", Status.UNHEALTHY, "refused", 3.0)]
    two = fold(
        GROUP,
        one.state,
        later,
        run_key="2026-11-28T11:00:00Z",
        owner="run-2",
        now=200.0,
        lease_until=260.0,
    )
    assert two.transitions == []  # confirmed status holds: no repeat
    assert [c.period for c in two.closed] == ["2026-11-28T10"]
    assert two.state.hour.period == "2026-11-28T11"
    # run-1 is over (lease 160 < now 200): run-2 takes over the undelivered alert
    assert two.state.outbox[0].lease_owner == "run-2"
    assert two.state.fence.holds("2026-11-28T10:59:00Z")


def test_fold_leaves_a_live_lease_alone_and_skips_a_first_cut():
    state = GroupState("core", outbox=[alert("a", lease_owner="other", lease_until=500.0)])
    cut = CheckResult("api", Status.ERROR, "deadline", observed=False)
    new = fold(
        GROUP,
        state,
        [cut],
        run_key="2026-11-28T10:00:00Z",
        owner="me",
        now=100.0,
        lease_until=150.0,
    )
    assert new.state.outbox[0].lease_owner == "other"
    assert new.transitions == [] and new.state.checks["api"].cuts == 1
    assert new.state.hour.checks == {}


def test_a_check_cut_on_consecutive_runs_ends_up_alerting():
    state = GroupState("core")
    cut = CheckResult("api", Status.ERROR, "deadline", observed=False)
    events = []
    for minute in range(CUT_LIMIT + 1):
        out = fold(
            GROUP,
            state,
            [cut],
            run_key=f"2026-11-28T10:0{minute}:00Z",
            owner="me",
            now=100.0 + minute,
            lease_until=200.0,
        )
        state = out.state
        events += [(minute, str(t.event), t.status) for t in out.transitions]
    # api has failure_threshold 1: the first counted cut (the CUT_LIMIT-th) confirms it
    assert events == [(CUT_LIMIT - 1, "failure", "error")]
    assert "cut short by the run's deadline" in state.outbox[0].document.reason


def test_long_lived_objects_are_frozen_once_and_only_in_lambda(monkeypatch):
    import gc

    from vigil import lambda_init

    frozen: list[bool] = []
    monkeypatch.setattr(gc, "freeze", lambda: frozen.append(True))
    monkeypatch.setattr(lambda_init, "_FROZEN", False)
    lambda_init.end({})  # tests, the CLI: would pin everything they hold
    assert frozen == []
    lambda_env = {"AWS_LAMBDA_FUNCTION_NAME": "vigil-runner"}
    lambda_init.end(lambda_env)
    lambda_init.end(lambda_env)
    assert frozen == [True]


class _Publisher:
    def __init__(self, failing: set[str] = frozenset()):
        self.failing, self.published = failing, []

    def publish(self, document):
        from vigil.exceptions import AlertDeliveryError

        if document.alert_id in self.failing:
            raise AlertDeliveryError("SNS down")
        self.published.append(document.alert_id)
        return "m"


def test_a_check_whose_alert_failed_keeps_its_later_alerts_back():
    """Alerts of one check reach the topic in order: a failed failure holds its recovery."""
    from vigil.run.outbox import deliver
    from vigil.store.memory import MemoryStore

    def pending(alert_id: str, check: str) -> PendingAlert:
        doc = AlertDocument(
            AlertEvent.FAILURE, "core", check, "unhealthy", "healthy", "t", "", alert_id
        )
        return PendingAlert(doc, lease_owner="me", lease_until=1e12)

    store = MemoryStore()
    state = store.save_state(
        GroupState("core", outbox=[pending("a1", "a"), pending("b1", "b"), pending("a2", "a")])
    )
    publisher = _Publisher(failing={"a1"})
    state, _ = deliver(state, "me", store, publisher, time_left=lambda: 10.0)
    assert publisher.published == ["b1"]
    assert [a.alert_id for a in state.outbox] == ["a1", "a2"]
    assert all(a.lease_owner is None for a in state.outbox)  # released for the next run


def test_publishing_stops_while_the_settle_still_has_its_time():
    """Each publish takes 2 s of a clock that starts with 5 s left: two alerts go out,
    and the third waits, since settling the outbox needs ``settle_s`` (2 s) left."""
    from vigil.run.outbox import deliver
    from vigil.store.memory import MemoryStore

    class SlowPublisher(_Publisher):
        now = 0.0

        def publish(self, document):
            self.now += 2.0
            return super().publish(document)

    doc = AlertDocument(AlertEvent.FAILURE, "core", "a", "unhealthy", "healthy", "t", "", "x")
    alerts = [
        PendingAlert(
            replace(doc, check=f"c{i}", alert_id=f"id{i}"), lease_owner="me", lease_until=1e12
        )
        for i in range(3)
    ]
    store = MemoryStore()
    state = store.save_state(GroupState("core", outbox=alerts))
    publisher = SlowPublisher()
    state, delivery = deliver(
        state, "me", store, publisher, time_left=lambda: 5.0 - publisher.now, settle_s=2.0
    )
    assert publisher.published == ["id0", "id1"] and delivery.settled
    assert [a.alert_id for a in state.outbox] == ["id2"]


def test_a_state_save_that_fails_with_no_time_left_stops_instead_of_hammering():
    """The runner's clock is injected: a save that fails after the run's time is spent is
    re-read once (did it take effect?) and not tried again at once, nor after a sleep."""
    from vigil.exceptions import StoreConflictError
    from vigil.run.runner import Runner, _GroupRun
    from vigil.store.memory import MemoryStore

    class Clock:
        now = 1000.0

        def __call__(self) -> float:
            return self.now

    clock, slept, saves = Clock(), [], []

    class Throttled(MemoryStore):
        def save_state(self, state):
            saves.append(state.version)
            clock.now += 120  # the call took the rest of the run's time, and failed
            raise RuntimeError("ProvisionedThroughputExceededException")

    config = parse_config(
        {"groups": {"core": {"checks": [{"name": "db", "type": "tcp", "host": "h", "port": 1}]}}}
    )
    store = Throttled()
    runner = Runner(
        config,
        store,
        _Publisher(),
        emit_metrics=lambda *args, **kwargs: None,
        monotonic=clock,
        sleep=slept.append,
    )
    run = _GroupRun(
        runner, config.group("core"), 0, RunRequest("core", "2026-11-28T10:00:00Z"), clock(), 60.0
    )
    with pytest.raises(StoreConflictError, match="after 1 tries"):
        run.count(store.load_state("core", 0), [])
    assert saves == [0] and slept == []


def test_no_garbage_collection_runs_while_checks_are_measured(monkeypatch):
    """A full collection of a large heap stood the event loop still for 200-300 ms, read
    as latency by every check in flight: collections wait until the checks are done."""
    import asyncio
    import gc

    from vigil.run import execution

    seen: list[bool] = []

    class Probe:
        def __init__(self, config, resources):
            self.config = config

        async def run(self):
            seen.append(gc.isenabled())
            return CheckResult(self.config.name, Status.HEALTHY, "ok", latency_ms=1.0)

    monkeypatch.setattr(execution, "build_check", Probe)
    assert gc.isenabled()
    results, _ = asyncio.run(execution.run_checks(list(GROUP.checks), deadline=float("inf")))
    assert [r.status for r in results] == [Status.HEALTHY, Status.HEALTHY]
    assert seen == [False, False] and gc.isenabled()


def test_the_home_waits_for_probes_only_when_something_is_to_be_combined():
    """The home reads the probes' observations every half second until all reported or
    quorum_wait passed; a run with nothing a probe observes (heartbeats only, or no
    result) neither reads nor waits."""
    from vigil.locations import HOME
    from vigil.results import CheckResult, Status
    from vigil.run.runner import LocationRole, Runner, _GroupRun
    from vigil.store.memory import MemoryStore

    class Clock:
        now = 0.0

        def __call__(self) -> float:
            return self.now

    clock, slept = Clock(), []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        clock.now += seconds

    config = parse_config(
        {
            "locations": {"home": "eu-west-1", "probes": ["us-east-1", "ap-southeast-2"]},
            "quorum_wait": "3s",
            "groups": {
                "core": {
                    "checks": [
                        {"name": "db", "type": "tcp", "host": "h", "port": 1, "timeout": "1s"},
                        {"name": "nightly", "type": "heartbeat", "period": "1d"},
                    ]
                }
            },
        }
    )
    store, reads = MemoryStore(), []
    original = store.observations

    def observations(*args):
        reads.append(args)
        return original(*args)

    store.observations = observations
    runner = Runner(
        config,
        store,
        _Publisher(),
        emit_metrics=lambda *args, **kwargs: None,
        monotonic=clock,
        sleep=sleep,
    )
    home = LocationRole(config.locations, "eu-west-1", HOME)
    request = RunRequest("core", "2026-11-28T10:00:00Z")
    run = _GroupRun(runner, config.group("core"), 0, request, clock(), 60.0)
    beat = CheckResult("nightly", Status.HEALTHY, "on time", 1000.0)
    assert run.combine(home, [beat]) == [beat]
    assert run.combine(home, []) == []
    assert reads == [] and slept == []

    db = CheckResult("db", Status.UNHEALTHY, "refused", None, {"target": "h:1"})
    store.put_observations("core", 0, request.scheduled_time, "us-east-1", [db], 2_000_000_000)
    combined = {r.check: r for r in run.combine(home, [db, beat])}
    assert sum(slept) == pytest.approx(3.0) and all(s <= 0.5 for s in slept)  # one silent
    assert combined["db"].status == Status.UNHEALTHY  # 2 of the 2 that reported
    assert combined["db"].details["locations"]["ap-southeast-2"] is None
    assert combined["db"].details["target"] == "h:1"  # the home's own details are kept
    assert combined["nightly"] is beat
    assert [regions for _, _, _, regions in reads] == [["us-east-1", "ap-southeast-2"]] + [
        ["ap-southeast-2"]  # read again: only the probe still missing
    ] * (len(reads) - 1)

    def failing(*args):
        raise RuntimeError("throttled past retries")

    store.observations, slept[:] = failing, []
    alone = run.combine(home, [db])  # judged by the home alone, at once, not an error
    assert alone[0].status == Status.UNHEALTHY and slept == []
    assert alone[0].details["locations"] == {
        "eu-west-1": alone[0].details["locations"]["eu-west-1"],
        "us-east-1": None,
        "ap-southeast-2": None,
    }


def test_fold_leaves_the_state_it_read_as_it_was():
    """A failed save folds the same state again: the first fold must not have changed it."""
    first = fold(
        GROUP,
        GroupState("core"),
        [CheckResult("api", Status.HEALTHY, "ok", 120.0)],
        run_key="2026-11-28T10:58:00Z",
        owner="run-1",
        now=100.0,
        lease_until=160.0,
    )
    read = first.state
    hour, day = read.hour.to_dict(), read.day.to_dict()
    again = [CheckResult("api", Status.UNHEALTHY, "refused", 3.0)]
    folds = [
        fold(
            GROUP,
            read,
            again,
            run_key="2026-11-28T10:59:00Z",
            owner="run-2",
            now=200.0,
            lease_until=260.0,
        )
        for _ in range(2)
    ]
    assert (read.hour.to_dict(), read.day.to_dict()) == (hour, day)
    assert folds[0].state.hour.to_dict() == folds[1].state.hour.to_dict()
    assert folds[1].state.hour.checks["api"].runs == 2


def test_no_automatic_collection_runs_during_a_run_and_it_is_back_on_after(monkeypatch):
    """Reading, folding and saving the state, like the checks, run with the collector off;
    it is on again once the run returns, or fails."""
    import gc

    from vigil.exceptions import StoreConflictError
    from vigil.run import execution
    from vigil.run.runner import Runner
    from vigil.store.memory import MemoryStore

    seen: list[tuple[str, bool]] = []

    class Watched(MemoryStore):
        def load_state(self, group, shard=0):
            seen.append(("load", gc.isenabled()))
            return super().load_state(group, shard)

        def save_state(self, state):
            seen.append(("save", gc.isenabled()))
            if state.last_run_key == "2026-11-28T10:01:00Z":
                raise ValueError("the table is gone")
            return super().save_state(state)

    class Refused:  # the check's own part needs no network here
        def __init__(self, config, resources):
            self.config = config

        async def run(self):
            return CheckResult(self.config.name, Status.UNHEALTHY, "connection refused")

    monkeypatch.setattr(execution, "build_check", Refused)
    config = parse_config(
        {"groups": {"core": {"checks": [{"name": "db", "type": "tcp", "host": "h", "port": 1}]}}}
    )
    runner = Runner(
        config, Watched(), _Publisher(), emit_metrics=lambda *a, **k: None, sleep=lambda s: None
    )
    assert gc.isenabled()
    runner.run(RunRequest("core", "2026-11-28T10:00:00Z"))
    assert seen == [("load", False), ("save", False)] and gc.isenabled()
    with pytest.raises(StoreConflictError, match="could not save"):
        runner.run(RunRequest("core", "2026-11-28T10:01:00Z"))
    assert gc.isenabled()
