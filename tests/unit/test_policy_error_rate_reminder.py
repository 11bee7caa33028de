"""``error_rate`` and ``reminder_every`` as properties over random observation sequences
with random gaps between scheduled times, through ``fold``."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import example, given, settings
from hypothesis import strategies as st

from tests.unit.policy_sim import BASE, FAILING, STATUS_EVENTS, Sim, config, tcp
from vigil.alerts.document import AlertEvent as Event

STATUSES = st.sampled_from(["healthy", "healthy", "degraded", "unhealthy", "error"])
GAPS = st.sampled_from([30, 60, 60, 60, 120, 300])
THRESHOLDS = st.fixed_dictionaries(
    {"failure_threshold": st.integers(1, 4), "success_threshold": st.integers(1, 2)}
)
RATE_EVENTS = (Event.ERROR_RATE, Event.ERROR_RATE_CLEARED)
# runs of the same status, so that failures and recoveries get confirmed often
STEPS = st.lists(st.tuples(STATUSES, GAPS, st.integers(1, 4)), min_size=1, max_size=12).map(
    lambda blocks: [(status, gap) for status, gap, times in blocks for _ in range(times)]
)


def schedule(steps: list[tuple[str, int]]) -> list[tuple[float, str]]:
    """(seconds after BASE, observed status) of each run: strictly increasing times."""
    seconds, out = 0.0, []
    for status, gap in steps:
        out.append((seconds, status))
        seconds += gap
    return out


@settings(max_examples=500, deadline=None)
@given(
    steps=STEPS,
    thresholds=THRESHOLDS,
    window_minutes=st.sampled_from([3, 5, 10]),
    above=st.sampled_from([20, 34, 50, 75, 100]),
    min_runs=st.integers(1, 6),
    maintenance=st.none() | st.tuples(st.integers(0, 600), st.integers(30, 400)),
)
@example(  # a recovery confirmed inside a maintenance window starts a new count too
    steps=[("unhealthy", 60)] * 3 + [("healthy", 60)] * 3,
    thresholds={"failure_threshold": 2, "success_threshold": 1},
    window_minutes=10,
    above=50,
    min_runs=1,
    maintenance=(180, 60),
)
def test_error_rate_fires_once_per_episode_and_clears_once(
    steps, thresholds, window_minutes, above, min_runs, maintenance
):
    """Property: ``error_rate`` fires once per episode and clears once; never while a failure
    is confirmed; ``min_runs`` applies to firing, not clearing; the window holds the
    counted runs in (now - window, now], without maintenance runs and without anything
    before the last confirmed recovery.

    An independent model of the window (from the observations and the confirmed
    transitions) decides on every run whether ``error_rate`` or ``error_rate_cleared`` is
    owed; the run sends exactly that, with ``details.runs``/``failed_runs`` as counted.
    """
    rule = {"window": f"{window_minutes}m", "above": above, "min_runs": min_runs}
    top = {}
    if maintenance is not None:
        start = BASE + timedelta(seconds=maintenance[0])
        end = start + timedelta(seconds=maintenance[1])
        top["maintenance"] = [
            {"name": "m", "checks": ["*"], "start": start.isoformat(), "end": end.isoformat()}
        ]
    sim = Sim.of(config({"core": [tcp("api", error_rate=rule, **thresholds)]}, **top), "core")
    counted: list[tuple[float, bool]] = []
    episode_open = False
    for seconds, status in schedule(steps):
        run = sim.step(seconds, {"api": status})
        in_maintenance = run.outcome.results[0].maintenance
        if any(t.event == Event.RECOVERY for t in run.outcome.transitions):
            counted = []  # nothing before the last confirmed recovery
        if not in_maintenance:
            counted.append((seconds, status in FAILING))
        sent = [a for a in run.of("api") if a.event in RATE_EVENTS]
        if in_maintenance:
            assert sent == []
            continue
        window = [bad for moment, bad in counted if moment > seconds - 60 * window_minutes]
        share = 100 * sum(window) / len(window)
        owed = None
        if run.confirmed["api"] in FAILING:
            episode_open = False  # ends silently: the failure says it all
        elif not episode_open and len(window) >= min_runs and share >= above:
            owed, episode_open = Event.ERROR_RATE, True
        elif episode_open and share < above / 2:
            owed, episode_open = Event.ERROR_RATE_CLEARED, False
        assert [a.event for a in sent] == ([owed] if owed else []), (seconds, window, sent)
        if sent:
            assert (sent[0].details["runs"], sent[0].details["failed_runs"]) == (
                len(window),
                sum(window),
            )


@settings(max_examples=200, deadline=None)
@given(
    steps=STEPS,
    thresholds=THRESHOLDS,
    every_minutes=st.sampled_from([2, 3, 5, 10]),
)
def test_reminders_come_at_the_spacing_stop_at_recovery_and_never_twice_for_one_run(
    steps, thresholds, every_minutes
):
    """Property: reminders come at the configured spacing in scheduled time, stop at
    recovery, and a repeated fold of the same run never sends one twice.

    A reminder is owed on a run that sends nothing else for the check, whose confirmed
    status is failing, whose last status alert was a failure, and whose scheduled time is
    at least ``reminder_every`` after that failure alert or the last reminder. Each run is
    also folded again from the same state (a retry: the same alerts, the same ids) and
    once more on the state it produced (a repeated delivery: no new reminder).
    """
    every = 60 * every_minutes
    sim = Sim.of(
        config({"core": [tcp("api", reminder_every=f"{every_minutes}m", **thresholds)]}),
        "core",
    )
    anchor = None  # scheduled time of the last failure alert or reminder
    for seconds, status in schedule(steps):
        before = sim.state
        last_alerted = sim.last_alerted("api")
        run = sim.step(seconds, {"api": status})
        retry = sim.fold(seconds, [r for r in run.outcome.results], state=before)
        assert [a.to_dict() for a in retry.alerts] == [a.to_dict() for a in run.alerts]
        again = sim.fold(seconds, run.outcome.results)
        assert Event.REMINDER not in [a.event for a in again.alerts]
        ids = [p.alert_id for p in again.state.outbox]
        assert len(ids) == len(set(ids))

        sent = run.of("api")
        reminders = [a for a in sent if a.event is Event.REMINDER]
        others = [a for a in sent if a.event in STATUS_EVENTS]
        owed = (
            not others
            and run.confirmed["api"] in FAILING
            and last_alerted in FAILING
            and anchor is not None
            and seconds - anchor >= every
        )
        assert len(reminders) == (1 if owed else 0), (seconds, anchor, sent)
        if reminders:
            assert reminders[0].status == run.confirmed["api"]
            assert reminders[0].alert_id.endswith(f"reminder@{run.key}")
            anchor = seconds
        for alert in others:
            anchor = seconds if alert.status in FAILING else None
