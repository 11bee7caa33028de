"""Pure parts of the notifier: renderers, retry policy, Retry-After, config, alarms."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from vigil.alerts.document import AlertDocument, AlertEvent
from vigil.config import parse_config
from vigil.exceptions import ConfigError
from vigil.notify import chatbot, pagerduty, slack, teams, webhook
from vigil.notify.alarms import NotAnAlarmError, monitor_alert
from vigil.notify.delivery import RetryPolicy
from vigil.notify.http import json_body, retry_after
from vigil.notify.registry import REGISTRY
from vigil.retry import Backoff

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
    assert list(REGISTRY) == ["slack", "teams", "pagerduty", "webhook", "chatbot"]
    assert REGISTRY["chatbot"].secret_keys is None
    assert REGISTRY["pagerduty"].secret_keys == ("routing_key",)
    for type_name, entry in REGISTRY.items():
        assert entry.channel().type == type_name


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


def test_every_alert_event_is_classified_and_rendered_by_every_channel():
    """Exhaustive: an event added to AlertEvent without saying whether it opens or closes
    a problem fails here (a new triggering event must never resolve an incident)."""
    from vigil.alerts.document import opens_problem

    assert set(STATUS) == set(AlertEvent)
    for event in AlertEvent:
        status, _ = STATUS[event]
        opens = opens_problem(event, status)
        for channel in (entry.channel() for entry in REGISTRY.values()):
            body = channel.render(make(event)).body
            assert json.loads(json_body(body)) == body, (event, channel.type)
            if channel.type == "pagerduty":
                assert body["event_action"] == ("trigger" if opens else "resolve"), event
    assert opens_problem(AlertEvent.MONITOR, "healthy") is False


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


def test_webhook_body_is_the_document_and_the_signature_covers_timestamp_and_body():
    alert = make()
    request = webhook.render(alert)
    assert request.body == alert.to_dict()
    assert request.headers["X-Vigil-Alert-Id"] == alert.alert_id
    body = json_body(request.body)
    expected = hmac.new(b"key", b"1764403200." + body, hashlib.sha256).hexdigest()
    assert webhook.signature(1764403200, body, "key") == f"sha256={expected}"
    assert json.loads(body) == alert.to_dict()


def test_a_rotated_signing_key_gives_one_signature_per_key_in_order():
    body = b'{"a":1}'
    header = webhook.signatures(1764403200, body, ("old-key", "new-key"))
    old, new = header.split(",")
    assert old == webhook.signature(1764403200, body, "old-key")
    assert new == webhook.signature(1764403200, body, "new-key")
    assert webhook.signatures(1764403200, body, "old-key") == old


def test_a_receiver_refuses_a_replayed_or_stale_timestamp():
    from vigil_cli.targets.receivers import signature_valid

    body = b'{"a":1}'
    now = 1764403200
    header = webhook.signatures(now, body, ("old-key", "new-key"))
    assert signature_valid("new-key", str(now), header, body, now=now + 299)
    assert signature_valid("old-key", str(now), header, body, now=now - 299)
    assert not signature_valid("new-key", str(now), header, body, now=now + 301)  # stale
    assert not signature_valid("new-key", str(now + 1), header, body, now=now)  # other time
    assert not signature_valid("new-key", str(now), header, body + b" ", now=now)
    assert not signature_valid("third-key", str(now), header, body, now=now)


@given(st.text(max_size=3000))
def test_every_renderer_accepts_any_reason(reason):
    alert = make(reason=reason)
    for channel in (entry.channel() for entry in REGISTRY.values()):
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
    policy = RetryPolicy(Backoff(attempts=4, base_s=1.0, max_s=3.0, jitter=0), 30.0)
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


class Streamed(httpx.SyncByteStream):
    """An answer's body as a real transport gives it: read as it streams in."""

    def __init__(self, chunks):
        self.chunks = chunks
        self.served = 0  # bytes handed out: what the client read

    def __iter__(self):
        for chunk in self.chunks:
            self.served += len(chunk)
            yield chunk


@pytest.mark.parametrize(
    ("status", "permanent"),
    [
        *[(code, False) for code in (408, 425, 429, 500, 503)],
        *[(code, True) for code in (400, 401, 403, 404, 410, 301)],
    ],
)
def test_http_status_decides_transient_or_permanent(status, permanent):
    import httpx

    from vigil.notify.base import DeliveryError, Transport
    from vigil.notify.http import post

    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(status, headers={"Retry-After": "3"}, stream=Streamed([b"nope"]))

    client = httpx.Client(transport=httpx.MockTransport(answer))
    with client, pytest.raises(DeliveryError) as caught:
        post(Transport(client, allow_private=True), "https://hooks.example/T0/SECRET", b"{}")
    assert caught.value.permanent is permanent
    assert caught.value.retry_after == (None if permanent else 3.0)
    assert str(caught.value) == f"HTTP {status}: nope"
    assert seen[0].headers["content-type"] == "application/json"
    assert seen[0].headers["accept-encoding"] == "identity"


def test_a_network_failure_is_transient_and_names_no_url():
    import httpx

    from vigil.notify.base import DeliveryError, Transport
    from vigil.notify.http import post

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("cannot reach https://hooks.example/T0/SECRET")

    client = httpx.Client(transport=httpx.MockTransport(refuse))
    with client, pytest.raises(DeliveryError) as caught:
        post(Transport(client, allow_private=True), "https://hooks.example/T0/SECRET", b"{}")
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
    ("url", "allow_private"),
    [
        ("hooks.slack.com/services/T0/B0/SECRET", False),
        ("ftp://x/SECRET", False),
        ("https://", False),
        ("http://hooks.example/SECRET", False),
        ("ftp://x/SECRET", True),
        ("http://", True),
    ],
)
def test_a_url_that_is_not_https_is_permanent_and_not_echoed(url, allow_private):
    import httpx

    from vigil.notify.base import DeliveryError, Transport
    from vigil.notify.http import post

    with httpx.Client() as client, pytest.raises(DeliveryError) as caught:
        post(Transport(client, allow_private=allow_private), url, b"{}")  # before connecting
    assert caught.value.permanent is True
    assert "SECRET" not in str(caught.value) and "hooks" not in str(caught.value)
    expected = "https:// or http://" if allow_private else "must be https://"
    assert expected in str(caught.value)


# --------------------------------------------------------------------------- untrusted receivers


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("127.0.0.1", "loopback"),
        ("127.8.9.10", "loopback"),
        ("10.1.2.3", "private"),
        ("172.16.0.1", "private"),
        ("172.31.255.254", "private"),
        ("192.168.1.1", "private"),
        ("169.254.169.254", "link-local"),  # the instance metadata service
        ("100.64.0.1", "shared address space (CGNAT)"),
        ("100.127.255.254", "shared address space (CGNAT)"),
        ("0.0.0.0", "unspecified"),
        ("224.0.0.251", "multicast"),
        ("240.0.0.1", "reserved"),
        ("255.255.255.255", "reserved"),
        ("192.0.2.10", "not globally routable"),  # documentation
        ("198.18.0.1", "not globally routable"),  # benchmarking
        ("::1", "loopback"),
        ("::", "unspecified"),
        ("fe80::1", "link-local"),
        ("fc00::1", "unique-local"),
        ("fd12:3456::1", "unique-local"),
        ("ff02::1", "multicast"),
        ("2001:db8::1", "not globally routable"),
        ("::ffff:127.0.0.1", "loopback"),  # IPv4-mapped
        ("::ffff:169.254.169.254", "link-local"),
        ("64:ff9b::a00:1", "private"),  # NAT64 to 10.0.0.1
        ("2002:a9fe:a9fe::1", "link-local"),  # 6to4 of 169.254.169.254
        ("8.8.8.8", None),
        ("1.1.1.1", None),
        ("2606:4700:4700::1111", None),
        ("::ffff:8.8.8.8", None),
        ("64:ff9b::808:808", None),
    ],
)
def test_an_address_is_public_or_says_why_not(address, reason):
    import ipaddress

    from vigil.notify.address import refusal

    assert refusal(ipaddress.ip_address(address)) == reason


def test_a_name_with_one_private_address_among_public_ones_is_refused(monkeypatch):
    import socket

    from vigil.notify.address import public_addresses
    from vigil.notify.base import DeliveryError

    answers = {"hooks.example": ["8.8.8.8", "10.0.0.7"], "ok.example": ["8.8.8.8", "1.1.1.1"]}

    def resolve(host, port, *args, **kwargs):
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port)) for a in answers[host]]

    monkeypatch.setattr("vigil.notify.address.socket.getaddrinfo", resolve)
    with pytest.raises(DeliveryError) as caught:
        public_addresses("hooks.example", 443)
    assert caught.value.permanent is True
    assert str(caught.value) == (
        "destination address is not public (private); set allow_private: true to allow it"
    )
    assert [str(a) for a in public_addresses("ok.example", 443)] == ["8.8.8.8", "1.1.1.1"]


def test_a_name_that_does_not_resolve_is_transient_and_not_named(monkeypatch):
    import socket

    from vigil.notify.address import public_addresses
    from vigil.notify.base import DeliveryError

    def fail(*args, **kwargs):
        raise socket.gaierror(-2, "Name or service not known")

    monkeypatch.setattr("vigil.notify.address.socket.getaddrinfo", fail)
    with pytest.raises(DeliveryError) as caught:
        public_addresses("hooks.example", 443)
    assert caught.value.permanent is False
    assert "hooks.example" not in str(caught.value)


@pytest.mark.parametrize(
    "url",
    [
        "https://169.254.169.254/latest/meta-data/iam/security-credentials/SECRET",
        "https://127.0.0.1:8443/hooks/SECRET",
        "https://[::ffff:10.0.0.1]/hooks/SECRET",
        "https://[fd00::1]/hooks/SECRET",
    ],
)
def test_a_non_public_address_is_refused_before_any_request(url):
    from vigil.notify.base import DeliveryError, Transport
    from vigil.notify.http import post

    seen: list[httpx.Request] = []
    client = httpx.Client(transport=httpx.MockTransport(lambda r: seen.append(r)))
    with client, pytest.raises(DeliveryError) as caught:
        post(Transport(client), url, b"{}")
    assert caught.value.permanent is True
    assert "set allow_private: true to allow it" in str(caught.value)
    assert "SECRET" not in str(caught.value) and "169.254" not in str(caught.value)
    assert seen == []


def test_the_request_goes_to_the_checked_address_with_the_host_name_for_tls(monkeypatch):
    """One lookup; the request is sent to that address, ``Host`` and SNI name the host."""
    import socket

    from vigil.notify.base import Transport
    from vigil.notify.http import post

    lookups: list[str] = []

    def resolve(host, port, *args, **kwargs):
        lookups.append(host)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("8.8.4.4", port))]

    monkeypatch.setattr("vigil.notify.address.socket.getaddrinfo", resolve)
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, stream=Streamed([b"ok"]))

    client = httpx.Client(transport=httpx.MockTransport(answer))
    with client:
        post(Transport(client), "https://hooks.example:8443/T0/SECRET?x=1", b"{}")
    (request,) = seen
    assert lookups == ["hooks.example"]
    assert str(request.url) == "https://8.8.4.4:8443/T0/SECRET?x=1"
    assert request.headers["host"] == "hooks.example:8443"
    assert request.extensions["sni_hostname"] == "hooks.example"
    assert request.headers["connection"] == "close"  # a pooled one could be another name's


def test_when_connecting_fails_the_next_checked_address_is_tried(monkeypatch):
    import socket

    from vigil.notify.base import DeliveryError, Transport
    from vigil.notify.http import post

    def resolve(host, port, *args, **kwargs):
        return [
            (socket.AF_INET6, socket.SOCK_STREAM, 6, "", ("2606:4700::1", port, 0, 0)),
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("8.8.4.4", port)),
        ]

    monkeypatch.setattr("vigil.notify.address.socket.getaddrinfo", resolve)
    hosts: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        hosts.append(request.url.host)
        raise httpx.ConnectError("unreachable")

    client = httpx.Client(transport=httpx.MockTransport(answer))
    with client, pytest.raises(DeliveryError) as caught:
        post(Transport(client), "https://hooks.example/T0/SECRET", b"{}")
    assert hosts == ["2606:4700::1", "8.8.4.4"]
    assert caught.value.permanent is False
    assert str(caught.value) == "connection failed (ConnectError)"


def test_an_answer_is_read_up_to_64_kib_and_a_compressed_one_never_decoded():
    import gzip

    from vigil.notify.base import DeliveryError, Transport
    from vigil.notify.http import READ_LIMIT, post

    def endless():
        while True:
            yield b"x" * 16384

    bodies: list[Streamed] = []

    def answer(request: httpx.Request) -> httpx.Response:
        if len(bodies) == 0:
            bodies.append(Streamed(endless()))
            return httpx.Response(200, stream=bodies[-1])
        bodies.append(Streamed([gzip.compress(b"invalid_token " * 1000)]))
        return httpx.Response(403, headers={"Content-Encoding": "gzip"}, stream=bodies[-1])

    client = httpx.Client(transport=httpx.MockTransport(answer))
    transport = Transport(client, allow_private=True)
    with client:
        assert post(transport, "https://hooks.example/T0", b"{}") == 200
        assert bodies[0].served == READ_LIMIT  # then the body was closed unread
        with pytest.raises(DeliveryError) as caught:
            post(transport, "https://hooks.example/T0", b"{}")
    assert str(caught.value) == "HTTP 403"  # no excerpt of a compressed answer


def test_an_error_answer_leaves_a_short_printable_excerpt():
    from vigil.notify.base import DeliveryError, Transport
    from vigil.notify.http import EXCERPT_LIMIT, post

    text = "forbidden:\x1b[31m internal\x00 token=abc\r\n" + "é" + "y" * 500

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(403, stream=Streamed([text.encode()]))

    client = httpx.Client(transport=httpx.MockTransport(answer))
    with client, pytest.raises(DeliveryError) as caught:
        post(Transport(client, allow_private=True), "https://hooks.example/T0", b"{}")
    message = str(caught.value)
    excerpt = message.removeprefix("HTTP 403: ")
    assert excerpt.startswith("forbidden: [31m internal token=abc ")
    assert len(excerpt) == EXCERPT_LIMIT
    assert excerpt.isascii() and excerpt.isprintable()


# --------------------------------------------------------------------------- markup from targets

LINK_REASON = "HTTP 503: [click](https://evil.example) <https://evil.example|here> **now** _x_"


def literal(markdown: str) -> str:
    """What a Markdown renderer shows for escaped text: escapes and entities resolved."""
    import html
    import re

    return html.unescape(re.sub(r"\\([\\`*_~\[\]<>])", r"\1", markdown))


def test_teams_shows_target_text_literally():
    import re

    card = teams.render(make(reason=LINK_REASON, check="api_[x](https://e.example)")).body
    content = card["attachments"][0]["content"]
    texts = [block["text"] for block in content["body"] if block["type"] == "TextBlock"]
    texts += [fact["value"] for fact in content["body"][-1]["facts"]]
    live_link = re.compile(r"(?<!\\)\[[^\]]*(?<!\\)\]\(")
    for text in texts:
        assert not live_link.search(text), text
        assert not re.search(r"(?<!\\)<https?:", text), text
    assert texts[1] == (
        r"HTTP 503: \[click\](https://evil.example) \<https://evil.example|here\> "
        r"\*\*now\*\* \_x\_"
    )
    assert literal(texts[1]) == LINK_REASON  # shown as written
    assert literal(texts[0]) == "[FAILURE] core/api_[x](https://e.example) is unhealthy"


def test_chatbot_shows_target_text_literally_in_slack_and_teams_markup():
    import re

    body = chatbot.render(make(reason=LINK_REASON)).body
    description = body["content"]["description"]
    assert not re.search(r"(?<!\\)\[[^\]]*(?<!\\)\]\(", description)  # Markdown link
    assert "<" not in description and ">" not in description  # Slack's <url|label>
    assert literal(description) == LINK_REASON
    long = chatbot.render(make(reason="[" * 9000)).body["content"]["description"]
    assert len(long) <= chatbot.DESCRIPTION_LIMIT and long == "\\[" * 4000


def test_allow_private_is_a_boolean_for_destinations_with_a_url():
    config = parse_config(
        {
            **BASE,
            "notifications": [
                {"name": "s", "type": "slack", "secret": "vigil/notify/s", "allow_private": True},
                {"name": "t", "type": "teams", "secret": "vigil/notify/t"},
            ],
        }
    )
    assert [d.allow_private for d in config.notifications] == [True, False]
    problems = dict(
        refused(
            [
                {"name": "a", "type": "slack", "secret": "s", "allow_private": "yes"},
                {"name": "b", "type": "chatbot", "allow_private": True},
            ]
        )
    )
    assert "valid boolean" in problems["notifications[0].allow_private"]
    assert "sends to no URL" in problems["notifications[1].allow_private"]


def test_the_readme_webhook_verification_accepts_vigil_and_refuses_replays(monkeypatch):
    """The README's receiver example, run as written against what ``send`` signs."""
    import re
    import time
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    pattern = r"```python\n(import hashlib, hmac, time\n+def verified.*?)```"
    block = re.search(pattern, readme, re.S)
    assert block is not None, "the README's webhook verification example is gone"
    namespace: dict = {}
    exec(block.group(1), namespace)
    verified = namespace["verified"]

    body = json_body(make().to_dict())
    now = int(time.time())
    header = webhook.signatures(now, body, ("old-key", "new-key"))
    sent = {"X-Vigil-Timestamp": str(now), "X-Vigil-Signature": header}
    assert verified(sent, body, ["new-key"]) and verified(sent, body, ["old-key"])
    assert not verified(sent, body, ["other-key"])
    assert not verified(sent, body + b" ", ["new-key"])
    assert not verified({**sent, "X-Vigil-Timestamp": str(now - 1)}, body, ["new-key"])
    replayed = {
        "X-Vigil-Timestamp": str(now - 301),
        "X-Vigil-Signature": webhook.signatures(now - 301, body, "new-key"),
    }
    assert not verified(replayed, body, ["new-key"])  # a genuine request, 5 minutes late
