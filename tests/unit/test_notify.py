"""Pure parts of the notifier: renderers, retry policy, Retry-After, config, alarms."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vigil.alerts.document import AlertDocument, AlertEvent
from vigil.config import parse_config
from vigil.exceptions import ConfigError
from vigil.notify import CHANNELS, chatbot, pagerduty, slack, teams, webhook
from vigil.notify.alarms import NotAnAlarmError, monitor_alert
from vigil.notify.delivery import RetryPolicy
from vigil.notify.http import json_body, retry_after

STATUS = {
    AlertEvent.FAILURE: ("unhealthy", "healthy"),
    AlertEvent.DEGRADED: ("degraded", "healthy"),
    AlertEvent.RECOVERY: ("healthy", "unhealthy"),
    AlertEvent.REMINDER: ("unhealthy", "unhealthy"),
    AlertEvent.ERROR_RATE: ("healthy", "healthy"),
    AlertEvent.ERROR_RATE_CLEARED: ("healthy", "healthy"),
    AlertEvent.MONITOR: ("unhealthy", "healthy"),
}


def make(event: AlertEvent = AlertEvent.FAILURE, **changes) -> AlertDocument:
    status, previous = STATUS[event]
    fields = {
        "event": event,
        "group": "core",
        "check": "api",
        "status": status,
        "previous_status": previous,
        "timestamp": "2026-11-29T08:00:00Z",
        "reason": "HTTP 503 from <api> & co",
        "alert_id": f"core/api/{event}@2026-11-29T08:00:00Z",
        "details": {"status_code": 503},
    }
    fields.update(changes)
    return AlertDocument(**fields)


def test_the_registry_holds_every_documented_type_once():
    assert list(CHANNELS) == ["slack", "teams", "pagerduty", "webhook", "chatbot"]
    assert CHANNELS["chatbot"].secret_keys is None
    assert CHANNELS["pagerduty"].secret_keys == ("routing_key",)


@pytest.mark.parametrize(
    ("event", "action", "key"),
    [
        (AlertEvent.FAILURE, "trigger", "vigil/core/api"),
        (AlertEvent.DEGRADED, "trigger", "vigil/core/api"),
        (AlertEvent.REMINDER, "trigger", "vigil/core/api"),
        (AlertEvent.RECOVERY, "resolve", "vigil/core/api"),
        (AlertEvent.ERROR_RATE, "trigger", "vigil/core/api/error_rate"),
        (AlertEvent.ERROR_RATE_CLEARED, "resolve", "vigil/core/api/error_rate"),
        (AlertEvent.MONITOR, "trigger", "vigil/core/api"),
    ],
)
def test_pagerduty_action_and_dedup_key_per_event(event, action, key):
    body = pagerduty.render(make(event)).body
    assert (body["event_action"], body["dedup_key"]) == (action, key)
    assert "routing_key" not in body  # added by send, from the secret
    if action == "trigger":
        assert body["payload"]["severity"] in ("critical", "warning", "info")
    else:
        assert "payload" not in body


def test_pagerduty_monitor_back_to_ok_resolves():
    ok = make(
        AlertEvent.MONITOR,
        group="vigil",
        check="x-alarm",
        status="healthy",
        previous_status="unhealthy",
    )
    body = pagerduty.render(ok).body
    assert (body["event_action"], body["dedup_key"]) == ("resolve", "vigil/vigil/x-alarm")


def test_slack_escapes_control_characters_and_keeps_text_for_notifications():
    body = slack.render(make()).body
    assert body["text"] == "[FAILURE] core/api is unhealthy: HTTP 503 from <api> & co"
    assert body["blocks"][2]["text"]["text"] == "HTTP 503 from &lt;api&gt; &amp; co"
    assert json.dumps(body)  # JSON-serialisable as is


def test_teams_card_colour_follows_severity():
    colours = {
        event: teams.render(make(event)).body["attachments"][0]["content"]["body"][0]["color"]
        for event in (AlertEvent.FAILURE, AlertEvent.DEGRADED, AlertEvent.RECOVERY)
    }
    assert colours == {
        AlertEvent.FAILURE: "Attention",
        AlertEvent.DEGRADED: "Warning",
        AlertEvent.RECOVERY: "Good",
    }


def test_chatbot_custom_notification_format():
    body = chatbot.render(make()).body
    assert set(body) == {"version", "source", "id", "content", "metadata"}
    assert body["content"]["textType"] == "client-markdown"
    assert len(body["content"]["title"]) <= chatbot.TITLE_LIMIT
    assert all(isinstance(v, str) for v in body["metadata"]["additionalContext"].values())


def test_webhook_body_is_the_document_and_the_signature_is_hmac_sha256():
    alert = make()
    request = webhook.render(alert)
    assert request.body == alert.to_dict()
    assert request.headers["X-Vigil-Alert-Id"] == alert.alert_id
    body = json_body(request.body)
    expected = hmac.new(b"key", body, hashlib.sha256).hexdigest()
    assert webhook.signature(body, "key") == f"sha256={expected}"
    assert json.loads(body) == alert.to_dict()


@given(st.text(max_size=3000))
def test_every_renderer_accepts_any_reason(reason):
    alert = make(reason=reason)
    for channel in CHANNELS.values():
        json.dumps(channel.render(alert).body)
    assert len(pagerduty.render(alert).body["payload"]["summary"]) <= pagerduty.SUMMARY_LIMIT


def test_retry_after_seconds_and_http_date():
    now = datetime(2026, 11, 29, 8, 0, 0, tzinfo=UTC)
    assert retry_after("7") == 7.0
    assert retry_after("Sun, 29 Nov 2026 08:00:30 GMT", now=now) == 30.0
    assert retry_after("Sun, 29 Nov 2026 07:00:00 GMT", now=now) == 0.0
    assert retry_after("soon") is None
    assert retry_after(None) is None


def test_retry_policy_backs_off_and_honours_retry_after_up_to_its_cap():
    policy = RetryPolicy(attempts=4, base_delay=1.0, max_delay=3.0, max_retry_after=30.0)
    assert [policy.wait(n, None) for n in (1, 2, 3)] == [1.0, 2.0, 3.0]
    assert policy.wait(1, 12.0) == 12.0
    assert policy.wait(1, 31.0) is None  # give up: dead letter rather than block


BASE = {"groups": {"core": {"checks": [{"name": "api", "type": "tcp", "host": "h", "port": 1}]}}}


def refused(notifications) -> list[tuple[str, str]]:
    with pytest.raises(ConfigError) as caught:
        parse_config({**BASE, "notifications": notifications})
    return caught.value.problems


def test_notifications_are_optional_and_parsed():
    assert parse_config(BASE).notifications == ()
    config = parse_config(
        {
            **BASE,
            "notifications": [
                {"name": "s", "type": "slack", "secret": "vigil/notify/s", "groups": ["vigil"]},
                {"name": "c", "type": "chatbot", "events": ["failure"], "severities": ["critical"]},
            ],
        }
    )
    slack_dest, chat = config.notifications
    assert slack_dest.wants(make(AlertEvent.MONITOR, group="vigil"))
    assert not slack_dest.wants(make())
    assert chat.wants(make()) and not chat.wants(make(AlertEvent.RECOVERY))


def test_bad_notifications_are_refused_with_key_paths_and_no_secret():
    problems = dict(
        refused(
            [
                {"name": "a", "type": "slack"},
                {"name": "b", "type": "teams", "secret": "s", "url": "https://x.example/T0/SECRET"},
                {"name": "c", "type": "pager", "secret": "s"},
                {"name": "d", "type": "chatbot", "secret": "s"},
                {"name": "e", "type": "webhook", "secret": "s", "groups": ["payments"]},
                {"name": "a", "type": "webhook", "secret": "s", "events": ["boom"]},
                {"name": "f", "type": "webhook", "secret": "s", "severities": []},
                "slack",
            ]
        )
    )
    assert "required for type slack" in problems["notifications[0].secret"]
    assert "inline secrets are not allowed" in problems["notifications[1].url"]
    assert "unknown notification type 'pager'" in problems["notifications[2].type"]
    assert "takes no secret" in problems["notifications[3].secret"]
    assert "unknown group 'payments'" in problems["notifications[4].groups[0]"]
    assert "duplicate name 'a'" in problems["notifications[5].name"]
    assert "expected one of: failure" in problems["notifications[5].events[0]"]
    assert "matches nothing" in problems["notifications[6].severities"]
    assert "expected a mapping" in problems["notifications[7]"]
    assert "SECRET" not in json.dumps(problems)


def test_notifications_must_be_a_list():
    assert refused({"name": "a"}) == [("notifications", "expected a list of destinations")]


def alarm(state: str, **extra) -> dict:
    return {
        "AlarmName": "stack-runner-errors",
        "NewStateValue": state,
        "OldStateValue": "OK",
        "NewStateReason": "Threshold Crossed:\n 1 datapoint",
        "StateChangeTime": "2026-11-29T08:05:00.000+0000",
        **extra,
    }


def test_alarm_becomes_a_monitor_alert():
    document = monitor_alert(alarm("ALARM"))
    assert document is not None
    assert (document.event, document.group, document.check) == (
        "monitor",
        "vigil",
        "stack-runner-errors",
    )
    assert (document.status, document.previous_status, document.severity) == (
        "unhealthy",
        "healthy",
        "critical",
    )
    assert document.timestamp == "2026-11-29T08:05:00Z"
    assert document.reason == "Threshold Crossed: 1 datapoint"
    assert document.details["state"] == "ALARM"
    ok = monitor_alert(alarm("OK", StateChangeTime="2026-11-29T08:09:00.000+0000"))
    assert ok is not None and (ok.status, ok.severity) == ("healthy", "info")
    assert ok.alert_id != document.alert_id
    assert monitor_alert(alarm("ALARM")).alert_id == document.alert_id  # stable per change


def test_insufficient_data_and_non_alarms():
    assert monitor_alert(alarm("INSUFFICIENT_DATA")) is None
    with pytest.raises(NotAnAlarmError):
        monitor_alert({"event": "failure"})


# --------------------------------------------------------------------------- sending


@pytest.mark.parametrize(
    ("status", "permanent"),
    [
        *[(code, False) for code in (408, 425, 429, 500, 503)],
        *[(code, True) for code in (400, 401, 403, 404, 410, 301)],
    ],
)
def test_http_status_decides_transient_or_permanent(status, permanent):
    import httpx

    from vigil.notify.base import DeliveryError
    from vigil.notify.http import post

    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(status, headers={"Retry-After": "3"}, text="nope")

    client = httpx.Client(transport=httpx.MockTransport(answer))
    with client, pytest.raises(DeliveryError) as caught:
        post(client, "https://hooks.example/T0/SECRET", b"{}")
    assert caught.value.permanent is permanent
    assert caught.value.retry_after == (None if permanent else 3.0)
    assert str(caught.value) == f"HTTP {status}: nope"
    assert seen[0].headers["content-type"] == "application/json"


def test_a_network_failure_is_transient_and_names_no_url():
    import httpx

    from vigil.notify.base import DeliveryError
    from vigil.notify.http import post

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("cannot reach https://hooks.example/T0/SECRET")

    client = httpx.Client(transport=httpx.MockTransport(refuse))
    with client, pytest.raises(DeliveryError) as caught:
        post(client, "https://hooks.example/T0/SECRET", b"{}")
    assert caught.value.permanent is False
    assert str(caught.value) == "connection failed (ConnectError)"


class ThrottledSns:
    """An in-memory SNS client that answers with a given error code."""

    def __init__(self, code: str):
        self.code = code
        self.calls = 0

    def publish(self, **kwargs):
        from botocore.exceptions import ClientError

        self.calls += 1
        raise ClientError({"Error": {"Code": self.code, "Message": "m"}}, "Publish")


def chat_destination():
    from vigil.notify.config import Destination

    return Destination(name="chat", type="chatbot")


def test_no_retry_after_the_deadline_and_permanent_codes_are_not_retried(monkeypatch):
    import time

    from vigil.notify.base import Transport
    from vigil.notify.delivery import deliver

    waits: list[float] = []
    monkeypatch.setattr("vigil.notify.delivery.sleep", waits.append)
    throttled = ThrottledSns("Throttling")
    transport = Transport(http=None, sns=throttled, chat_topic_arn="arn:aws:sns:us-east-1:1:chat")
    outcome = deliver(make(), chat_destination(), transport, deadline=time.monotonic() + 0.5)
    assert (outcome.delivered, outcome.permanent, outcome.attempts) == (False, False, 1)
    assert outcome.error.endswith("(no time left to retry)")
    assert waits == []

    refused_sns = ThrottledSns("AuthorizationError")
    transport = Transport(http=None, sns=refused_sns, chat_topic_arn="arn:aws:sns:us-east-1:1:chat")
    outcome = deliver(make(), chat_destination(), transport)
    assert (outcome.permanent, refused_sns.calls) == (True, 1)
    assert outcome.error == "SNS publish to the chat topic failed (AuthorizationError)"


@pytest.mark.parametrize(
    "url", ["hooks.slack.com/services/T0/B0/SECRET", "ftp://x/SECRET", "http://"]
)
def test_a_url_that_is_not_http_is_permanent_and_not_echoed(url):
    import httpx

    from vigil.notify.base import DeliveryError
    from vigil.notify.http import post

    with httpx.Client() as client, pytest.raises(DeliveryError) as caught:
        post(client, url, b"{}")  # refused before any connection is made
    assert caught.value.permanent is True
    assert "SECRET" not in str(caught.value)
