"""At-least-once delivery and overlapping runs never alert twice or count twice."""

from __future__ import annotations

import threading

import pytest

from tests.integration.conftest import minute
from vigil.exceptions import AlertDeliveryError


def failing_tcp_config(port: int, threshold: int = 2) -> str:
    return f"""
    groups:
      core:
        checks:
          - name: cache
            type: tcp
            host: 127.0.0.1
            port: {port}
            timeout: 1s
            failure_threshold: {threshold}
    """


def test_repeated_delivery_of_a_scheduled_time_counts_once(aws, invoke, write_config, refused):
    write_config(failing_tcp_config(refused))
    first = invoke("core", minute(0))
    again = invoke("core", minute(0))
    assert first["results"][0]["status"] == "unhealthy"
    assert again.get("duplicate") is True and again["results"] == first["results"]
    # threshold 2: the repeated delivery did not count as the second failure
    assert aws.drain_alerts() == []
    invoke("core", minute(1))
    alerts = aws.drain_alerts()
    assert [a.document["event"] for a in alerts] == ["failure"]
    assert invoke("core", minute(1)).get("duplicate") is True
    assert aws.drain_alerts() == []


@pytest.mark.parametrize("same_time", [True, False], ids=["same-scheduled-time", "adjacent-times"])
def test_overlapping_runs_send_one_alert(aws, invoke, write_config, refused, same_time):
    write_config(failing_tcp_config(refused, threshold=1))
    barrier = threading.Barrier(4)
    outcomes: list[dict] = []
    errors: list[BaseException] = []

    def run(n: int) -> None:
        barrier.wait()
        try:
            outcomes.append(invoke("core", minute(0 if same_time else n)))
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    alerts = aws.drain_alerts()
    assert [a.document["check"] for a in alerts] == ["cache"]
    duplicates = [o for o in outcomes if o.get("duplicate")]
    assert len(duplicates) == (3 if same_time else 0)


def test_alert_survives_sns_failure_and_is_sent_once_next_run(
    aws, invoke, write_config, refused, monkeypatch, runner_app
):
    from vigil.alerts.sns import SnsPublisher

    write_config(failing_tcp_config(refused, threshold=1))
    real_publish = SnsPublisher.publish
    calls = {"n": 0}

    def broken(self, doc, *, deadline=None):
        calls["n"] += 1
        raise AlertDeliveryError("SNS publish failed: EndpointConnectionError: unreachable")

    monkeypatch.setattr(SnsPublisher, "publish", broken)
    summary = invoke("core", minute(0))
    assert summary["alerts"] == {"sent": 0, "pending": 1}
    assert calls["n"] == 1 and aws.drain_alerts() == []

    monkeypatch.setattr(SnsPublisher, "publish", real_publish)
    summary = invoke("core", minute(1))
    assert summary["alerts"] == {"sent": 1, "pending": 0}
    alerts = aws.drain_alerts()
    assert [(a.document["event"], a.document["timestamp"]) for a in alerts] == [
        ("failure", minute(0))
    ]
    invoke("core", minute(2))
    assert aws.drain_alerts() == []


def test_a_run_that_dies_after_counting_has_its_alert_sent_once_by_the_retry(
    aws, invoke, write_config, refused, monkeypatch, runner_app
):
    """Killed between counting and publishing: Lambda's retry of the same event finds
    the run counted (nothing counted twice) and, once the lease lapsed, publishes."""
    import time

    from vigil.environment.runner import runner_from_environment
    from vigil.run import outbox

    write_config(failing_tcp_config(refused, threshold=1))
    real_deliver = outbox.deliver

    def killed(*args, **kwargs):
        raise RuntimeError("Lambda timed out")

    monkeypatch.setattr(outbox, "deliver", killed)
    with pytest.raises(RuntimeError, match="timed out"):
        invoke("core", minute(0))
    monkeypatch.setattr(outbox, "deliver", real_deliver)

    retry = invoke("core", minute(0))  # the lease of the dead invocation still holds
    assert retry["duplicate"] is True and retry["alerts"] == {"sent": 0, "pending": 1}
    assert aws.drain_alerts() == []

    runner = runner_from_environment(runner_app.DEFAULT_CONFIG)
    monkeypatch.setattr(runner, "clock", lambda: time.time() + 120)  # the lease has lapsed
    retry = invoke("core", minute(0))
    assert retry["duplicate"] is True and retry["alerts"] == {"sent": 1, "pending": 0}
    assert [a.document["alert_id"] for a in aws.drain_alerts()] == [
        f"core/cache/failure@{minute(0)}"
    ]
    assert invoke("core", minute(0))["alerts"] == {"sent": 0, "pending": 0}
    assert aws.drain_alerts() == []
