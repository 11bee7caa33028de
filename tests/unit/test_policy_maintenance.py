"""Maintenance windows as a property over random observation sequences and window
placements (one-off with an offset, or cron + duration + time zone), through ``fold``."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.unit.policy_sim import BASE, FAILING, STATUS_EVENTS, Sim, config, standing, tcp
from vigil.alerts.document import AlertEvent

STATUSES = st.sampled_from(["healthy", "healthy", "degraded", "unhealthy", "error"])
THRESHOLDS = st.fixed_dictionaries(
    {"failure_threshold": st.integers(1, 3), "success_threshold": st.integers(1, 2)}
)
ZONES = st.sampled_from(
    ["UTC", "Europe/Paris", "America/New_York", "Asia/Kolkata", "Australia/Adelaide"]
)


@st.composite
def windows(draw):
    """A window from ``start_minute`` lasting ``minutes``, and its config mapping."""
    start = BASE + timedelta(minutes=draw(st.integers(0, 12)))
    minutes = draw(st.integers(1, 8))
    zone = ZoneInfo(draw(ZONES))
    pattern = draw(st.sampled_from(["core/api", "core/*", "*"]))
    window = {"name": "deploy", "checks": [pattern]}
    if draw(st.booleans()):
        start += timedelta(seconds=draw(st.sampled_from([0, 0, 0, 1, 30, 59])))
        end = start + timedelta(minutes=minutes)
        window |= {"start": start.astimezone(zone).isoformat(), "end": end.isoformat()}
    else:
        local = start.astimezone(zone)
        dom = draw(st.sampled_from(["*", str(local.day)]))
        window |= {
            "cron": f"{local.minute} {local.hour} {dom} * *",
            "duration": f"{minutes}m",
            "timezone": zone.key,
        }
    return window, start.timestamp(), start.timestamp() + 60 * minutes


@settings(max_examples=200, deadline=None)
@given(
    runs=st.lists(st.tuples(STATUSES, STATUSES), min_size=3, max_size=30),
    api=THRESHOLDS,
    web=THRESHOLDS,
    placed=windows(),
)
def test_nothing_is_alerted_inside_a_window_and_one_alert_after_it_if_the_status_changed(
    runs, api, web, placed
):
    """Property: no alert inside a maintenance window; at its end exactly one alert for a
    check whose confirmed status differs from the one last alerted (with
    ``details.after_maintenance``), none for one whose status did not.

    Windows are [start, end) (one-off with any offset, or cron + duration + time zone);
    the results of the runs inside are marked ``maintenance``. ``api`` also has reminders
    and an error rate: inside, nothing of any kind is sent. Outside windows, every check's
    alerts end on its confirmed status; a check the window does not cover is alerted as if
    there were no window.
    """
    window, start, end = placed
    policy = {"reminder_every": "3m", "error_rate": {"window": "5m", "above": 40, "min_runs": 2}}
    vigil = config({"core": [tcp("api", **api, **policy), tcp("web", **web)]}, maintenance=[window])
    covered = {"api": True, "web": window["checks"] != ["core/api"]}
    sim = Sim.of(vigil, "core")
    before_window = {"api": "healthy", "web": "healthy"}
    for minute, (api_seen, web_seen) in enumerate(runs):
        moment = BASE.timestamp() + 60 * minute
        inside = start <= moment < end
        was_inside = start <= moment - 60 < end and minute > 0
        if inside and not was_inside:
            before_window = {c: sim.last_alerted(c) for c in before_window}
        run = sim.step(60 * minute, {"api": api_seen, "web": web_seen})
        marked = {r.check: r.maintenance for r in run.outcome.results}
        for check in ("api", "web"):
            in_window = inside and covered[check]
            assert marked[check] is in_window, (minute, check)
            now = standing(run.confirmed[check])
            if in_window:
                assert run.of(check) == [], (minute, run.of(check))  # no kind of alert at all
                continue
            # reminders and error rate go on after a window by their own rules
            sent = [a for a in run.of(check) if a.event in STATUS_EVENTS]
            if was_inside and covered[check]:
                if now != before_window[check]:
                    assert len(sent) == 1, (minute, check, sent)
                    assert sent[0].status == now
                    assert sent[0].details["after_maintenance"] == "deploy"
                    assert sent[0].event in STATUS_EVENTS
                else:
                    assert sent == [], (minute, check, sent)
            else:
                assert all("after_maintenance" not in a.details for a in run.of(check))
            assert sim.last_alerted(check) == now, (minute, check)


POLICIES = st.fixed_dictionaries(
    {"failure_threshold": st.integers(1, 3), "success_threshold": st.integers(1, 2)},
    optional={
        "reminder_every": st.sampled_from(["2m", "5m"]),
        "error_rate": st.fixed_dictionaries(
            {"window": st.sampled_from(["3m", "10m"]), "above": st.sampled_from([25, 50])},
            optional={"min_runs": st.integers(1, 4)},
        ),
    },
)


@settings(max_examples=200, deadline=None)
@given(
    runs=st.lists(st.tuples(STATUSES, STATUSES), min_size=3, max_size=30),
    db=POLICIES,
    api=POLICIES,
    placed=windows(),
    pattern=st.sampled_from(["core/api", "core/db", "core/*"]),
)
def test_every_rule_together_keeps_the_alert_stream_true(runs, db, api, placed, pattern):
    """Property: with every rule at once (``api`` depends on ``db``, either or both in a
    window, reminders and error rates), no alert is sent twice or inside a window, the
    status alerts of a check alternate (no recovery without its failure, no status twice
    in a row), no ``error_rate`` is sent while a failure is confirmed, and outside its
    window a check whose parent is not failing has alerts that end on its status."""
    window, start, end = placed
    window["checks"] = [pattern]
    vigil = config(
        {"core": [tcp("db", **db), tcp("api", depends_on="db", **api)]}, maintenance=[window]
    )
    sim = Sim.of(vigil, "core")
    seen: set[str] = set()
    for minute, (db_seen, api_seen) in enumerate(runs):
        run = sim.step(60 * minute, {"db": db_seen, "api": api_seen})
        inside = start <= BASE.timestamp() + 60 * minute < end
        for alert in run.alerts:
            assert alert.alert_id not in seen, alert
            seen.add(alert.alert_id)
            covered = pattern in ("core/*", f"core/{alert.check}")
            assert not (inside and covered), (minute, alert)
            if alert.event in (AlertEvent.ERROR_RATE, AlertEvent.ERROR_RATE_CLEARED):
                assert run.confirmed[alert.check] not in FAILING
        for check, parent_failing in (("db", False), ("api", run.confirmed["db"] in FAILING)):
            covered = pattern in ("core/*", f"core/{check}")
            if not (inside and covered) and not parent_failing:
                assert sim.last_alerted(check) == standing(run.confirmed[check]), (minute, check)
    for check in ("db", "api"):
        last = "healthy"
        for alert in sim.alerts(check):
            if alert.event in STATUS_EVENTS:
                assert alert.status != last, sim.alerts(check)
                last = alert.status
