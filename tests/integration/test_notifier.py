"""The notifier handler end to end: real HTTP receivers on loopback standing in for
Slack, Teams, PagerDuty and a webhook, moto for SNS, SQS, DynamoDB and Secrets
Manager, every resource and variable from template.yaml.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from vigil.alerts.document import AlertDocument, AlertEvent
from vigil.alerts.sns import SnsPublisher
from vigil_cli.local.notify import LocalNotifier, sns_event
from vigil_cli.screen.emf import all_points
from vigil_cli.targets.receivers import Receiver, Reply

SIGNING_KEY = "whsec-7f3a9c1e5b2d4f6a8c0e"
ROUTING_KEY = "R0UT1NGKEY0123456789abcdef012345"
SECRET_PREFIX = "vigil/notify/"


@dataclass
class Receivers:
    slack: Receiver
    teams: Receiver
    pagerduty: Receiver
    webhook: Receiver

    def all(self) -> list[Receiver]:
        return [self.slack, self.teams, self.pagerduty, self.webhook]


CONFIG = """\
groups:
  core:
    checks:
      - name: api
        type: tcp
        host: 127.0.0.1
        port: 9
notifications:  # the receivers are http:// on loopback: allow_private
  - name: ops-slack
    type: slack
    secret: vigil/notify/ops-slack
    allow_private: true
  - name: ops-teams
    type: teams
    secret: vigil/notify/ops-teams
    allow_private: true
  - name: oncall
    type: pagerduty
    secret: vigil/notify/oncall
    severities: [critical, info]
    allow_private: true
  - name: audit
    type: webhook
    secret: vigil/notify/audit
    allow_private: true
  - name: chat
    type: chatbot
    groups: [core]
"""


@dataclass
class World:
    local: LocalNotifier
    receivers: Receivers
    alert_tap: str  # SQS queue subscribed to the alert topic, to capture envelopes
    chat_tap: str  # SQS queue subscribed to the chat topic (what AWS Chatbot gets)

    def secrets(self) -> list[str]:
        """Every credential and webhook URL: none may appear in logs or dead letters."""
        found = [SIGNING_KEY, ROUTING_KEY]
        for receiver in self.receivers.all():
            found += [receiver.token, receiver.url]
        return found

    def publish(self, document: dict) -> dict:
        """Publish like the runner does; return the Lambda event SNS would send for it."""
        SnsPublisher(self.local.topics["AlertTopic"]).publish(AlertDocument.from_dict(document))
        (envelope,) = self.local.drain(self.alert_tap)
        return sns_event(
            self.local.topics["AlertTopic"], envelope["Message"], message_id=envelope["MessageId"]
        )


@contextlib.contextmanager
def open_world(tmp_path: Path) -> Iterator[World]:
    """The receivers, the notifier on moto with ``CONFIG`` (in ``tmp_path``), its secrets."""
    with (
        Receiver("slack", default=Reply(200, b"ok")) as slack,
        Receiver("teams", default=Reply(202, b"")) as teams,
        Receiver("pagerduty", default=Reply(202, b'{"status":"success"}')) as pagerduty,
        Receiver("webhook", default=Reply(204, b""), signing_key=SIGNING_KEY) as webhook,
    ):
        receivers = Receivers(slack, teams, pagerduty, webhook)
        config = tmp_path / "checks.yaml"
        config.write_text(CONFIG)
        with LocalNotifier(config) as local:
            local.put_secret(SECRET_PREFIX + "ops-slack", {"url": receivers.slack.url})
            local.put_secret(SECRET_PREFIX + "ops-teams", {"url": receivers.teams.url})
            local.put_secret(
                SECRET_PREFIX + "oncall",
                {"routing_key": ROUTING_KEY, "url": receivers.pagerduty.url},
            )
            local.put_secret(
                SECRET_PREFIX + "audit",
                {"url": receivers.webhook.url, "signing_key": SIGNING_KEY},
            )
            yield World(
                local,
                receivers,
                local.subscribe_queue("AlertTopic"),
                local.subscribe_queue("ChatTopic"),
            )


@pytest.fixture
def world(tmp_path) -> Iterator[World]:
    with open_world(tmp_path) as found:
        yield found


@pytest.fixture
def waits(monkeypatch) -> list[float]:
    """Backoff waits are recorded instead of slept."""
    recorded: list[float] = []
    monkeypatch.setattr("vigil.notify.delivery.sleep", recorded.append)
    return recorded


def alert(event: str = "failure", **overrides) -> dict:
    statuses = {
        "failure": ("unhealthy", "healthy"),
        "recovery": ("healthy", "unhealthy"),
        "degraded": ("degraded", "healthy"),
        "error_rate": ("healthy", "healthy"),
        "error_rate_cleared": ("healthy", "healthy"),
    }
    status, previous = statuses[event]
    document = AlertDocument(
        event=AlertEvent(event),
        group="core",
        check="api",
        status=status,
        previous_status=previous,
        timestamp="2026-11-29T08:00:00Z",
        reason="connection refused <127.0.0.1:9> & more",
        alert_id=f"core/api/{event}@2026-11-29T08:00:00Z",
        details={"target": "tcp://127.0.0.1:9"},
    ).to_dict()
    document.update(overrides)
    return document


def failures(invocation) -> float:
    return sum(p.value for p in all_points(invocation.metrics) if p.name == "NotificationFailures")


def test_each_channel_receives_its_own_payload(world, waits):
    document = alert("failure")
    invocation = world.local.harness().invoke(world.publish(document))
    assert invocation.ok, invocation.error
    r = world.receivers

    (slack,) = r.slack.requests
    assert slack.path == f"/hooks/slack/{r.slack.token}"
    body = slack.json()
    assert body["text"].startswith("[FAILURE] core/api is unhealthy: connection refused")
    assert [b["type"] for b in body["blocks"]] == ["header", "section", "section", "context"]
    assert body["blocks"][0]["text"]["text"] == "[FAILURE] core/api is unhealthy"
    assert body["blocks"][2]["text"]["text"] == "connection refused &lt;127.0.0.1:9&gt; &amp; more"

    (teams,) = r.teams.requests
    body = teams.json()
    assert body["type"] == "message"
    (attachment,) = body["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    card = attachment["content"]
    assert card["type"] == "AdaptiveCard" and card["version"] == "1.4"
    assert card["body"][0]["text"] == "[FAILURE] core/api is unhealthy"
    assert card["body"][0]["color"] == "Attention"
    facts = {f["title"]: f["value"] for f in card["body"][-1]["facts"]}
    assert facts["Alert"] == document["alert_id"]

    (pd,) = r.pagerduty.requests
    body = pd.json()
    assert body["routing_key"] == ROUTING_KEY
    assert body["event_action"] == "trigger"
    assert body["dedup_key"] == "vigil/core/api"
    assert body["payload"]["severity"] == "critical"
    assert body["payload"]["source"] == "vigil/core/api"
    assert body["payload"]["timestamp"] == "2026-11-29T08:00:00Z"
    assert body["payload"]["summary"].startswith("[FAILURE] core/api is unhealthy")
    assert body["payload"]["custom_details"] == document

    (hook,) = r.webhook.requests
    assert hook.json() == document  # the document, unchanged
    assert hook.headers["x-vigil-alert-id"] == document["alert_id"]
    assert hook.headers["x-vigil-signature"].startswith("sha256=")
    assert hook.signature_ok is True  # the receiver recomputed the HMAC over the body

    (chat,) = world.local.drain(world.chat_tap)
    notification = json.loads(chat["Message"])
    assert notification["version"] == "1.0" and notification["source"] == "custom"
    assert notification["content"]["textType"] == "client-markdown"
    assert "core/api is unhealthy" in notification["content"]["title"]
    assert notification["metadata"]["threadId"] == "vigil/core/api"

    assert world.local.dead_letters() == []
    assert failures(invocation) == 0
    assert (
        sum(p.value for p in all_points(invocation.metrics) if p.name == "NotificationsDelivered")
        == 5
    )
    assert waits == []


def test_pagerduty_resolves_on_the_same_dedup_key_and_filters_apply(world):
    harness = world.local.harness()
    for event in ("failure", "recovery", "degraded", "error_rate", "error_rate_cleared"):
        assert harness.invoke(world.publish(alert(event))).ok
    sent = [
        (r.json()["event_action"], r.json()["dedup_key"])
        for r in world.receivers.pagerduty.requests
    ]
    # degraded/error_rate are warnings: the destination wants critical and info only
    assert sent == [
        ("trigger", "vigil/core/api"),
        ("resolve", "vigil/core/api"),
        ("resolve", "vigil/core/api/error_rate"),
    ]
    assert "payload" not in world.receivers.pagerduty.requests[1].json()
    assert len(world.receivers.slack.requests) == 5  # no filter: every alert


def test_503_then_200_is_delivered_once(world, waits):
    world.receivers.slack.script(Reply(503, b"upstream down"))
    invocation = world.local.harness().invoke(world.publish(alert()))
    assert invocation.ok
    assert [r.answered for r in world.receivers.slack.requests] == [503, 200]
    assert waits == [1.0]  # the first backoff step
    assert world.local.dead_letters() == []
    assert failures(invocation) == 0
    assert any("attempt 1 failed (HTTP 503" in line for line in invocation.log_lines())


def test_429_waits_as_long_as_retry_after_says(world, waits):
    world.receivers.pagerduty.script(Reply(429, b"slow down", {"Retry-After": "7"}))
    invocation = world.local.harness().invoke(world.publish(alert()))
    assert invocation.ok
    assert [r.answered for r in world.receivers.pagerduty.requests] == [429, 202]
    assert waits == [7.0]
    assert world.local.dead_letters() == []


def test_transient_failures_end_in_the_dead_letter_queue_after_the_last_attempt(world, waits):
    world.receivers.teams.script(*[Reply(500)] * 4)
    invocation = world.local.harness().invoke(world.publish(alert()))
    assert invocation.ok
    assert len(world.receivers.teams.requests) == 4
    assert waits == [1.0, 2.0, 4.0]
    (letter,) = world.local.dead_letters()
    assert letter["destination"] == "ops-teams" and letter["permanent"] is False
    assert "gave up after 4 attempts" in letter["error"]
    assert failures(invocation) == 1


def test_400_is_permanent_dead_lettered_and_the_others_are_delivered(world, waits):
    world.receivers.teams.script(Reply(400, b"Bad card"))
    document = alert()
    invocation = world.local.harness().invoke(world.publish(document))
    assert invocation.ok
    assert [r.answered for r in world.receivers.teams.requests] == [400]  # not retried
    assert waits == []
    for receiver in (world.receivers.slack, world.receivers.pagerduty, world.receivers.webhook):
        assert len(receiver.requests) == 1
    (letter,) = world.local.dead_letters()
    assert letter["kind"] == "delivery"
    assert letter["destination"] == "ops-teams" and letter["type"] == "teams"
    assert letter["permanent"] is True
    assert letter["error"] == "HTTP 400: Bad card"
    assert letter["alert"] == document
    assert failures(invocation) == 1
    assert any("ops-teams" in line and "dead-letter" in line for line in invocation.log_lines())


def test_a_destination_that_is_down_does_not_hold_back_the_others(world, monkeypatch):
    """Slack (first in the config) waits to retry until the webhook has been served:
    delivered one after another, this would never finish."""
    world.receivers.slack.script(Reply(503))
    webhook = world.receivers.webhook

    def wait_for_the_others(seconds: float) -> None:
        assert webhook.wait_requests(1, timeout=30), "slack's retry held back the webhook"

    monkeypatch.setattr("vigil.notify.delivery.sleep", wait_for_the_others)
    invocation = world.local.harness().invoke(world.publish(alert()))
    assert invocation.ok
    assert [r.answered for r in world.receivers.slack.requests] == [503, 200]
    assert len(webhook.requests) == 1


def test_sns_redelivery_and_cold_start_send_nothing_twice(world, waits):
    world.receivers.teams.script(Reply(400))
    event = world.publish(alert())
    harness = world.local.harness()
    assert harness.invoke(event).ok
    again = harness.invoke(event)  # SNS redelivers the same message to a warm container
    assert again.ok
    cold = world.local.harness().invoke(event)  # ... and to a new container (cold start)
    assert cold.ok
    copy = dict(event["Records"][0]["Sns"], MessageId="another-sns-message-id")
    republished = world.local.harness().invoke({"Records": [{**event["Records"][0], "Sns": copy}]})
    assert republished.ok  # same alert_id under a new SNS message id
    for receiver in world.receivers.all():
        assert len(receiver.requests) == 1, receiver.name
    assert len(world.local.drain(world.chat_tap)) == 1
    assert len(world.local.dead_letters()) == 1  # the 400 is not dead-lettered again
    for invocation in (again, cold, republished):
        deliveries = invocation.summary["records"][0]["deliveries"]
        assert all(d["replayed"] for d in deliveries)
        assert failures(invocation) == 0
    # a new alert for the same check is a new delivery
    assert world.local.harness().invoke(world.publish(alert(alert_id="core/api/failure@2"))).ok
    assert len(world.receivers.slack.requests) == 2


def test_a_missing_secret_is_named_and_the_others_are_delivered(world, tmp_path):
    config = tmp_path / "checks.yaml"
    config.write_text(
        CONFIG + "  - {name: gone, type: slack, secret: vigil/notify/deleted-by-someone}\n"
    )
    invocation = world.local.harness().invoke(world.publish(alert()))
    assert invocation.ok
    for receiver in world.receivers.all():
        assert len(receiver.requests) == 1
    (letter,) = world.local.dead_letters()
    assert letter["destination"] == "gone" and letter["permanent"] is True
    assert letter["error"] == (
        "secret 'vigil/notify/deleted-by-someone' could not be read (ResourceNotFoundException)"
    )
    assert any("deleted-by-someone" in line for line in invocation.log_lines())


def test_a_secret_without_its_key_is_named(world, tmp_path):
    world.local.put_secret(SECRET_PREFIX + "half", {"routing": "x"})
    config = tmp_path / "checks.yaml"
    config.write_text(CONFIG + "  - {name: half, type: pagerduty, secret: vigil/notify/half}\n")
    assert world.local.harness().invoke(world.publish(alert())).ok
    (letter,) = world.local.dead_letters()
    assert (
        letter["error"]
        == "secret 'vigil/notify/half' has no 'routing_key' (type pagerduty needs it)"
    )


def test_no_secret_or_webhook_url_in_any_log_line(world, waits, caplog, capfd):
    caplog.set_level(logging.DEBUG)  # every logger, libraries included
    world.receivers.slack.script(Reply(503, b"down"))
    world.receivers.teams.script(Reply(400, f"echo {world.receivers.teams.url}".encode()))
    world.receivers.pagerduty.script(Reply(429, b"", {"Retry-After": "1"}))
    world.receivers.webhook.script(
        Reply(500, SIGNING_KEY.encode()), Reply(500), Reply(500), Reply(500)
    )
    harness = world.local.harness()
    event = world.publish(alert())
    first = harness.invoke(event)
    second = harness.invoke(event)
    assert first.ok and second.ok
    assert len(world.receivers.webhook.requests) == 4  # failures were really exercised
    letters = world.local.dead_letters()
    assert {letter["destination"] for letter in letters} == {"ops-teams", "audit"}

    written = [json.dumps(record) for record in first.logs + second.logs]
    written += [line for inv in (first, second) for line in inv.other_output]
    written += [json.dumps(inv.summary) for inv in (first, second)]
    written += [record.getMessage() for record in caplog.records]
    written += [json.dumps(letter) for letter in letters]
    captured = capfd.readouterr()
    written += [captured.out, captured.err]
    assert len(first.logs) > 3
    for text in written:
        for secret in world.secrets():
            assert secret not in text, f"{secret[:6]}... leaked into: {text[:200]}"
    teams_error = next(
        letter["error"] for letter in letters if letter["destination"] == "ops-teams"
    )
    assert teams_error.startswith("HTTP 400: echo ") and "***" in teams_error


def test_an_unreadable_message_is_dead_lettered(world):
    invocation = world.local.harness().invoke(
        sns_event(world.local.topics["AlertTopic"], '{"event": "failure"}')
    )
    assert invocation.ok
    (letter,) = world.local.dead_letters()
    assert letter["kind"] == "unreadable" and "KeyError" in letter["error"]
    for receiver in world.receivers.all():
        assert receiver.requests == []


def test_a_bad_notifications_config_fails_the_invocation_with_its_key_path(world, tmp_path):
    config = tmp_path / "checks.yaml"
    config.write_text(CONFIG + "  - {name: x, type: slack, url: https://hooks.example/T0/B0/XYZ}\n")
    invocation = world.local.harness().invoke(world.publish(alert()))
    assert invocation.error is not None
    assert "notifications[5].url: inline secrets are not allowed" in str(invocation.error)
    assert "hooks.example" not in str(invocation.error)
    for receiver in world.receivers.all():
        assert receiver.requests == []


# --------------------------------------------------------------------------- Vigil's own alarms


ALARM = "vigil-local-core-stopped-reporting"


def alarm_message(state: str, changed: str = "2026-11-29T08:05:00.123+0000") -> str:
    """What CloudWatch publishes for an alarm state change (no message attributes)."""
    return json.dumps(
        {
            "AlarmName": "vigil-local-core-stopped-reporting",
            "AlarmDescription": "Vigil group core has not reported a run for 5 minutes.",
            "AWSAccountId": "123456789012",
            "NewStateValue": state,
            "NewStateReason": "Threshold Crossed: no datapoints were received for 1 period.",
            "StateChangeTime": changed,
            "Region": "US East (N. Virginia)",
            "AlarmArn": f"arn:aws:cloudwatch:us-east-1:123456789012:alarm:{ALARM}",
            "OldStateValue": "OK" if state == "ALARM" else "ALARM",
            "Trigger": {"MetricName": "RunDurationMs", "Namespace": "Vigil"},
        }
    )


def alarm_event(world: World, state: str, **kwargs) -> dict:
    """Publish an alarm to the alarm topic as CloudWatch does; the event SNS then sends."""
    import boto3

    tap = world.local.subscribe_queue("AlarmTopic")
    topic = world.local.topics["AlarmTopic"]
    boto3.client("sns", region_name="us-east-1").publish(
        TopicArn=topic,
        Subject=f"{state}: core stopped reporting",
        Message=alarm_message(state, **kwargs),
    )
    (envelope,) = world.local.drain(tap)
    assert "MessageAttributes" not in envelope  # CloudWatch sends none: the defect
    return sns_event(topic, envelope["Message"], message_id=envelope["MessageId"])


def test_an_alarm_reaches_a_subscriber_filtering_on_critical_as_a_monitor_alert(world):
    critical = world.local.subscribe_queue("AlertTopic", {"severity": ["critical"]})
    invocation = world.local.harness().invoke(alarm_event(world, "ALARM"))
    assert invocation.ok, invocation.error

    (envelope,) = world.local.drain(critical)
    attributes = {k: v["Value"] for k, v in envelope["MessageAttributes"].items()}
    assert attributes == {
        "event": "monitor",
        "group": "vigil",
        "check": "vigil-local-core-stopped-reporting",
        "severity": "critical",
    }
    document = json.loads(envelope["Message"])
    assert document["event"] == "monitor" and document["group"] == "vigil"
    assert document["check"] == "vigil-local-core-stopped-reporting"
    assert (document["status"], document["previous_status"]) == ("unhealthy", "healthy")
    assert document["timestamp"] == "2026-11-29T08:05:00.123Z"
    assert document["details"]["alarm_name"] == "vigil-local-core-stopped-reporting"
    assert document["details"]["state"] == "ALARM"
    assert document["details"]["reason"].startswith("Threshold Crossed")
    assert document["alert_id"].startswith("vigil/vigil-local-core-stopped-reporting/")
    assert AlertDocument.from_dict(document).attributes() == attributes
    assert envelope["Subject"] == "[MONITOR] vigil/vigil-local-core-stopped-reporting is unhealthy"


def test_an_alarm_is_relayed_once_per_state_change_and_ok_is_info(world):
    critical = world.local.subscribe_queue("AlertTopic", {"severity": ["critical"]})
    event = alarm_event(world, "ALARM")
    assert world.local.harness().invoke(event).ok
    redelivered = world.local.harness().invoke(event)  # cold start, same message
    assert redelivered.ok and redelivered.summary["records"][0]["relayed"] is False
    assert len(world.local.drain(world.alert_tap)) == 1

    assert (
        world.local.harness()
        .invoke(alarm_event(world, "OK", changed="2026-11-29T08:20:00.000+0000"))
        .ok
    )
    assert len(world.local.drain(critical)) == 1  # only the ALARM
    (ok,) = world.local.drain(world.alert_tap)
    document = json.loads(ok["Message"])
    assert ok["MessageAttributes"]["severity"]["Value"] == "info"
    assert (document["status"], document["previous_status"]) == ("healthy", "unhealthy")
    assert document["timestamp"] == "2026-11-29T08:20:00Z"


def test_a_relayed_alarm_opens_and_closes_a_pagerduty_incident_and_filters_apply(world):
    harness = world.local.harness()
    for state, changed in (
        ("ALARM", "2026-11-29T08:05:00.000+0000"),
        ("OK", "2026-11-29T08:20:00.000+0000"),
    ):
        assert harness.invoke(alarm_event(world, state, changed=changed)).ok
        (envelope,) = world.local.drain(world.alert_tap)
        event = sns_event(world.local.topics["AlertTopic"], envelope["Message"])
        assert harness.invoke(event).ok  # SNS hands the relayed alert back to the notifier
    sent = [
        (r.json()["event_action"], r.json()["dedup_key"])
        for r in world.receivers.pagerduty.requests
    ]
    assert sent == [
        ("trigger", "vigil/vigil/vigil-local-core-stopped-reporting"),
        ("resolve", "vigil/vigil/vigil-local-core-stopped-reporting"),
    ]
    assert len(world.receivers.slack.requests) == 2
    assert (
        world.receivers.slack.requests[0]
        .json()["text"]
        .startswith("[MONITOR] Vigil alarm vigil-local-core-stopped-reporting in ALARM")
    )
    assert world.local.drain(world.chat_tap) == []  # the chat destination wants group core only


def test_template_routes_every_alarm_through_the_alarm_topic(world):
    resources = world.local.template["Resources"]
    alarms = {
        k: v["Properties"] for k, v in resources.items() if v["Type"] == "AWS::CloudWatch::Alarm"
    }
    assert {"NotificationFailuresAlarm", "NotifierDeadLetterAlarm", "NotifierErrorsAlarm"} <= set(
        alarms
    )
    for name, props in alarms.items():
        for key in ("AlarmActions", "OKActions", "InsufficientDataActions"):
            for action in props.get(key, []):
                assert action == {"Ref": "AlarmTopic"}, f"{name}.{key} publishes without attributes"
    notifier = resources["NotifierFunction"]["Properties"]
    topics = {
        e["Properties"]["Topic"]["Ref"] for e in notifier["Events"].values() if e["Type"] == "SNS"
    }
    assert topics == {"AlertTopic", "AlarmTopic"}
    failures_alarm = alarms["NotificationFailuresAlarm"]
    assert failures_alarm["MetricName"] == "NotificationFailures"
    assert failures_alarm["Namespace"] == "Vigil"


def test_the_notifier_role_reads_only_its_own_secrets(world):
    resources = world.local.template["Resources"]
    statements = resources["NotifierRole"]["Properties"]["Policies"][0]["PolicyDocument"][
        "Statement"
    ]
    for statement in statements:
        assert statement["Resource"] != "*"
    (secrets,) = [s for s in statements if "secretsmanager:GetSecretValue" in str(s["Action"])]
    assert secrets["Resource"]["Fn::Sub"].endswith(":secret:${NotificationSecretsPrefix}*")
    assert secrets["Action"] == "secretsmanager:GetSecretValue"


def test_an_alarm_is_relayed_even_when_the_notifications_config_is_broken(world, tmp_path):
    """The alarm that says the notifier fails must not depend on the notifier's config."""
    (tmp_path / "checks.yaml").write_text(CONFIG + "  - {name: x, type: carrier-pigeon}\n")
    harness = world.local.harness()
    assert harness.invoke(world.publish(alert())).error is not None
    world.local.drain(world.alert_tap)
    relayed = harness.invoke(alarm_event(world, "ALARM"))
    assert relayed.ok and relayed.summary["records"][0]["relayed"] is True
    (envelope,) = world.local.drain(world.alert_tap)
    assert json.loads(envelope["Message"])["event"] == "monitor"


def test_a_ledger_failure_retries_the_event_without_sending_twice(world):
    """The ledger's first write fails where botocore sends it: that destination is left
    unsettled (the invocation fails, so Lambda retries it), the others are delivered,
    and the retry delivers the rest exactly once."""
    import threading

    import vigil.environment.notifier
    from vigil_cli.local.local_aws import REPO

    harness = world.local.harness()
    event = world.publish(alert())
    harness.invoke(sns_event(world.local.topics["AlertTopic"], "{}"))  # import + build it
    world.local.dead_letters()
    notifier = vigil.environment.notifier.notifier_from_environment(
        REPO / "functions" / "runner" / "checks.yaml"
    )
    lock, failed = threading.Lock(), []

    def fail_first_put(request, **kwargs):
        with lock:
            if not failed:
                failed.append(request)
                raise RuntimeError("injected: DynamoDB unreachable")

    client = notifier.ledger.persistence.client
    client.meta.events.register_first("before-send.dynamodb.PutItem", fail_first_put)
    first = harness.invoke(event)
    assert failed, "the fault was not injected"
    assert first.error is not None and "1 deliveries could not be settled" in str(first.error)
    chat_first = len(world.local.drain(world.chat_tap))
    assert sum(len(r.requests) for r in world.receivers.all()) + chat_first == 4  # all but one

    retried = harness.invoke(event)  # Lambda's retry of the same event
    assert retried.ok, retried.error
    for receiver in world.receivers.all():
        assert len(receiver.requests) == 1, receiver.name
    assert chat_first + len(world.local.drain(world.chat_tap)) == 1
    deliveries = retried.summary["records"][0]["deliveries"]
    assert sorted(d["replayed"] for d in deliveries) == [False, True, True, True, True]
    assert world.local.dead_letters() == []


def test_template_retries_failed_events_into_the_dead_letter_queue(world):
    notifier = world.local.template["Resources"]["NotifierFunction"]["Properties"]
    assert notifier["DeadLetterQueue"] == {
        "Type": "SQS",
        "TargetArn": {"Fn::GetAtt": ["NotifierDeadLetterQueue", "Arn"]},
    }
    assert notifier["EventInvokeConfig"]["MaximumRetryAttempts"] == 2
    env = world.local.environment
    assert (
        env["VIGIL_NOTIFY_DEAD_LETTER_QUEUE_URL"] == world.local.queues["NotifierDeadLetterQueue"]
    )
    assert env["VIGIL_NOTIFY_TABLE"].endswith("NotificationTable")


def test_an_alarm_published_straight_to_the_alert_topic_is_relayed_with_attributes(world):
    """An alarm a user points at the alert topic itself still reaches filtered subscribers."""
    critical = world.local.subscribe_queue("AlertTopic", {"severity": ["critical"]})
    event = sns_event(world.local.topics["AlertTopic"], alarm_message("ALARM"))
    invocation = world.local.harness().invoke(event)
    assert invocation.ok and invocation.summary["records"][0]["relayed"] is True
    (envelope,) = world.local.drain(critical)
    assert envelope["MessageAttributes"]["event"]["Value"] == "monitor"
    for receiver in world.receivers.all():
        assert receiver.requests == []  # the raw alarm itself is not delivered


def test_the_sample_events_run_through_the_handler(world):
    from vigil_cli.local.local_aws import REPO

    harness = world.local.harness()
    alert_event = json.loads((REPO / "events" / "notifier-alert.json").read_text())
    assert harness.invoke(alert_event).ok
    assert len(world.receivers.slack.requests) == 1
    alarm = json.loads((REPO / "events" / "notifier-alarm.json").read_text())
    relayed = harness.invoke(alarm)
    assert relayed.ok and relayed.summary["records"][0]["relayed"] is True
