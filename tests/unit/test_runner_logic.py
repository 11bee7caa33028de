import pytest

from vigil.checks.base import CheckResult, Status
from vigil.config import parse_config
from vigil.exceptions import InvalidEventError
from vigil.runner import RunRequest, fold, is_due, reserve_for, shard_of
from vigil.state import CheckState
from vigil.store.base import GroupState, PendingAlert

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
        ({"group": 3}, "expected an event"),
        ({"group": "core", "scheduled_time": "yesterday"}, "ISO 8601"),
        ({"group": "core", "shard": "1"}, "whole number"),
        ({"group": "core", "shard": -1}, "whole number"),
    ],
)
def test_bad_events_are_refused(event, message):
    with pytest.raises(InvalidEventError, match=message):
        RunRequest.from_event(event)


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


def test_reserve_is_bounded():
    assert reserve_for(10) == 3 and reserve_for(60) == 12 and reserve_for(900) == 15


def test_fold_records_transition_as_leased_pending_alert_and_closes_periods():
    state = GroupState("core", hour=None, day=None)
    results = [CheckResult("api", Status.UNHEALTHY, "refused", 3.0)]
    state1, transitions, completed = fold(
        GROUP, state, results, "2026-11-28T10:59:00Z", 1.0, 100.0, "run-1", 160.0
    )
    assert [t.event for t in transitions] == ["failure"]
    assert [(a.lease_owner, a.lease_until) for a in state1.outbox] == [("run-1", 160.0)]
    assert state1.outbox[0].document["status"] == "unhealthy"
    assert completed == []
    assert state1.hour.period == "2026-11-28T10" and state1.hour.checks["api"].failures == 1

    later = [CheckResult("api", Status.UNHEALTHY, "refused", 3.0)]
    state2, transitions2, completed2 = fold(
        GROUP, state1, later, "2026-11-28T11:00:00Z", 2.0, 200.0, "run-2", 260.0
    )
    assert transitions2 == []  # confirmed status holds: no repeat
    assert [c.period for c in completed2] == ["2026-11-28T10"]
    assert state2.hour.period == "2026-11-28T11"
    # run-1 is over (lease 160 < now 200): run-2 takes over the undelivered alert
    assert state2.outbox[0].lease_owner == "run-2"


def test_fold_leaves_a_live_lease_alone_and_skips_uncounted_results():
    alert = PendingAlert("a", {"x": 1}, "t", lease_owner="other", lease_until=500.0)
    state = GroupState("core", outbox=[alert])
    cut = CheckResult("api", Status.ERROR, "deadline", observed=False)
    new, transitions, _ = fold(GROUP, state, [cut], "2026-11-28T10:00:00Z", 1.0, 100.0, "me", 150.0)
    assert new.outbox[0].lease_owner == "other"
    assert transitions == [] and "api" not in new.checks
    assert new.hour.checks == {}


def test_long_lived_objects_are_frozen_once_and_only_in_lambda(monkeypatch):
    import gc

    from vigil import runner

    frozen: list[bool] = []
    monkeypatch.setattr(gc, "freeze", lambda: frozen.append(True))
    monkeypatch.setattr(runner, "_LONG_LIVED_FROZEN", False)
    runner.freeze_long_lived_objects({})  # tests, the CLI: would pin everything they hold
    assert frozen == []
    lambda_env = {"AWS_LAMBDA_FUNCTION_NAME": "vigil-runner"}
    runner.freeze_long_lived_objects(lambda_env)
    runner.freeze_long_lived_objects(lambda_env)
    assert frozen == [True]
