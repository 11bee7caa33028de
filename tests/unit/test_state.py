import pytest
from hypothesis import given
from hypothesis import strategies as st

from vigil.alerts.document import AlertEvent as Event
from vigil.results import UNKNOWN, Status
from vigil.state import CheckState, Thresholds, observe

H, D, U, E = Status.HEALTHY, Status.DEGRADED, Status.UNHEALTHY, Status.ERROR


DEFAULT = Thresholds(2, 1)


def run(observations, thresholds=DEFAULT, state=None):
    state = state or CheckState()
    alerts = []
    for i, status in enumerate(observations):
        state, transition = observe(state, status, thresholds, check="api", at=f"t{i}")
        if transition:
            alerts.append((transition.event, transition.status, transition.previous_status))
    return state, alerts


@pytest.mark.parametrize(
    ("observations", "thresholds", "alerts", "confirmed"),
    [
        ([H, H, H], Thresholds(2, 1), [], H),
        ([H, U], Thresholds(2, 1), [], H),  # a blip stays quiet
        ([H, U, H, U, H], Thresholds(2, 1), [], H),  # flapping under the threshold
        ([H, U, U], Thresholds(2, 1), [(Event.FAILURE, U, H)], U),
        ([H, U, U, U, U], Thresholds(2, 1), [(Event.FAILURE, U, H)], U),  # never repeats
        (
            [H, U, U, H],
            Thresholds(2, 1),
            [(Event.FAILURE, U, H), (Event.RECOVERY, H, U)],
            H,
        ),
        (
            [H, H, U, U, H, U, H, H],
            Thresholds(2, 2),
            [(Event.FAILURE, U, H), (Event.RECOVERY, H, U)],
            H,
        ),
        ([H, D, D], Thresholds(2, 1), [(Event.DEGRADED, D, H)], D),
        ([H, D, U], Thresholds(2, 1), [(Event.FAILURE, U, H)], U),  # latest non-healthy wins
        ([H, E, E], Thresholds(2, 1), [(Event.FAILURE, E, H)], E),
        ([U, U], Thresholds(2, 1), [(Event.FAILURE, U, UNKNOWN)], U),  # new check failing
        ([H], Thresholds(2, 1), [], H),  # first healthy confirms silently
        ([H], Thresholds(2, 2), [], UNKNOWN),
        ([H, U], Thresholds(1, 1), [(Event.FAILURE, U, H)], U),
        (
            [H, U, U, D, D],
            Thresholds(2, 1),
            [(Event.FAILURE, U, H), (Event.DEGRADED, D, U)],
            D,
        ),
    ],
)
def test_transitions(observations, thresholds, alerts, confirmed):
    state, got = run(observations, thresholds)
    assert got == alerts
    assert state.status == confirmed


def test_confirmed_status_records_since_and_resets_streak():
    state, _ = run([H, U, U])
    assert state.since == "t2" and state.streak == 0 and state.streak_status is None
    state, _ = run([U], state=state)
    assert state.since == "t2"


def test_state_round_trips_through_dict():
    state = CheckState(
        status="unhealthy", since="t", streak_status="healthy", streak=1, last_run=5.0
    )
    assert CheckState.from_dict(state.to_dict()) == state
    assert CheckState.from_dict(CheckState().to_dict()) == CheckState()


statuses = st.sampled_from([H, D, U, E])
thresholds = st.builds(Thresholds, st.integers(1, 4), st.integers(1, 4))


@given(st.lists(statuses, max_size=60), thresholds)
def test_alerts_never_repeat_a_status_and_recovery_follows_a_problem(observations, limits):
    _, alerts = run(observations, limits)
    previous_alert_status = None
    for event, status, previous in alerts:
        assert status != previous
        assert status != previous_alert_status  # never the same status twice in a row
        if event == Event.RECOVERY:
            assert previous in (D, U, E)
            assert previous_alert_status in (D, U, E)  # recovery only after a confirmed problem
        previous_alert_status = status


@given(st.lists(statuses, max_size=40), thresholds, statuses)
def test_a_long_enough_run_of_one_status_confirms_it(prefix, limits, final):
    needed = limits.success if final == H else limits.failure
    state, _ = run([*prefix, *[final] * needed], limits)
    assert state.status == final


@given(st.lists(statuses, max_size=40), thresholds)
def test_every_alert_is_backed_by_enough_consecutive_observations(observations, limits):
    state = CheckState()
    for i, status in enumerate(observations):
        state, transition = observe(state, status, limits, at=str(i))
        if transition is None:
            continue
        needed = limits.success if status == H else limits.failure
        window = observations[i - needed + 1 : i + 1]
        assert len(window) == needed
        assert all((s == H) == (status == H) for s in window)
