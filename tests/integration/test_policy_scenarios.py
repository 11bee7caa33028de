"""The alert policy end to end: the real handler under moto, scripted targets, alerts
read back from the topic's SQS subscriber. One scenario per rule."""

from __future__ import annotations

from datetime import timedelta

from tests.support.times import DAY
from vigil.times import iso, parse_time

START = parse_time(f"{DAY}T09:00:00Z")


def at(minutes: int) -> str:
    return iso(START + timedelta(minutes=minutes))


def events(aws) -> list[tuple[str, str, str]]:
    """(event, check, timestamp) of every alert delivered since the last call."""
    return [
        (a.document["event"], a.document["check"], a.document["timestamp"])
        for a in aws.drain_alerts()
    ]


def run(invoke, http_target, minute: int, modes: dict[str, str], group: str = "core") -> dict:
    for name, mode in modes.items():
        http_target.script(name, mode)
    return invoke(group, at(minute))


def test_intermittent_failures_raise_error_rate_then_clear(aws, invoke, write_config, http_target):
    write_config(f"""
    groups:
      core:
        checks:
          - name: flaky
            type: http
            url: {http_target.url("/scripted/flaky")}
            failure_threshold: 2
            error_rate: {{window: 30m, above: 30, min_runs: 5}}
    """)
    seen = []
    for minute in range(12):  # fails one run in three: never two in a row
        mode = "failing:500" if minute % 3 == 2 else "healthy"
        summary = run(invoke, http_target, minute, {"flaky": mode})
        seen += events(aws)
        assert summary["transitions"] == []  # the thresholds never confirm a failure
    assert seen == [("error_rate", "flaky", at(5))]  # 2 of 6 runs = 33% >= 30%
    for minute in range(12, 40):  # healthy again: the share falls below 15%
        run(invoke, http_target, minute, {"flaky": "healthy"})
        seen += events(aws)
    assert [e for e, *_ in seen] == ["error_rate", "error_rate_cleared"]
    (_, _, cleared_at) = seen[1]
    assert parse_time(cleared_at) - START < timedelta(minutes=40)


def test_a_three_hour_outage_with_hourly_reminders(aws, invoke, write_config, http_target):
    write_config(f"""
    groups:
      core:
        checks:
          - name: api
            type: http
            url: {http_target.url("/scripted/api")}
            failure_threshold: 2
            reminder_every: 1h
    """)
    for minute in range(0, 200, 10):  # a 10-minute schedule; down from 0:00 to 3:00
        mode = "failing:503" if minute < 180 else "healthy"
        run(invoke, http_target, minute, {"api": mode})
    assert events(aws) == [
        ("failure", "api", at(10)),
        ("reminder", "api", at(70)),
        ("reminder", "api", at(130)),
        ("recovery", "api", at(180)),
    ]


def test_a_database_outage_alerts_once_then_the_child_still_down(
    aws, invoke, write_config, http_target
):
    children = "\n".join(
        f"""          - name: {name}
            type: http
            url: {http_target.url(f"/scripted/{name}")}
            failure_threshold: 1
            depends_on: [database]"""
        for name in ("orders", "billing", "search")
    )
    write_config(f"""
    groups:
      core:
        checks:
          - name: database
            type: http
            url: {http_target.url("/scripted/database")}
            failure_threshold: 1
{children}
    """)
    all_up = {name: "healthy" for name in ("database", "orders", "billing", "search")}
    run(invoke, http_target, 0, all_up)
    down = {name: "failing:500" for name in all_up}
    run(invoke, http_target, 1, down)
    run(invoke, http_target, 2, down)
    assert events(aws) == [("failure", "database", at(1))]  # one alert, not four
    # the database recovers; search stays down: its held failure is sent, as it was
    run(invoke, http_target, 3, {**all_up, "search": "failing:500"})
    delivered = aws.drain_alerts()
    by_event = sorted((a.document["event"], a.document["check"]) for a in delivered)
    assert by_event == [("failure", "search"), ("recovery", "database")]
    (held,) = [a.document for a in delivered if a.document["check"] == "search"]
    assert held["details"]["held_by"] == "core/database" and held["timestamp"] == at(1)
    run(invoke, http_target, 4, all_up)  # its failure was sent, so its recovery is too
    assert events(aws) == [("recovery", "search", at(4))]


def maintenance_config(http_target, start: str, end: str) -> str:
    return f"""
    maintenance:
      - name: deploy
        checks: ["core/*"]
        start: {start}
        end: {end}
    groups:
      core:
        checks:
          - name: api
            type: http
            url: {http_target.url("/scripted/api")}
            failure_threshold: 1
    """


def test_a_window_covering_a_failure_and_its_recovery_sends_nothing(
    aws, invoke, write_config, http_target
):
    write_config(maintenance_config(http_target, at(2), at(6)))
    modes = ["healthy", "healthy", "failing:500", "failing:500", "healthy", "healthy"]
    modes += ["healthy"] * 3
    for minute, mode in enumerate(modes):
        summary = run(invoke, http_target, minute, {"api": mode})
        inside = 2 <= minute < 6
        assert summary["results"][0].get("maintenance", False) is inside
    assert events(aws) == []


def test_a_window_ending_in_failure_sends_one_alert_after_it(
    aws, invoke, write_config, http_target
):
    write_config(maintenance_config(http_target, at(2), at(6)))
    for minute in range(10):
        mode = "healthy" if minute < 3 else "failing:500"
        run(invoke, http_target, minute, {"api": mode})
    delivered = aws.drain_alerts()
    assert [(a.document["event"], a.document["timestamp"]) for a in delivered] == [
        ("failure", at(6))
    ]
    assert delivered[0].document["details"]["after_maintenance"] == "deploy"
    assert delivered[0].attributes["severity"] == "critical"
