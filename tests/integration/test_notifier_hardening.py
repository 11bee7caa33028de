"""The notifier against the people and targets around it: forged alerts, receivers
that answer with a gzip bomb or a flood, destinations on private addresses (and a
DNS that changes its answer), replayed webhooks and a rotated signing key.

The same world as tests/integration/test_notifier.py: the real handler on moto,
real receivers on loopback.
"""

from __future__ import annotations

import gzip
import json
import ssl
import threading
import time
import tracemalloc
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.integration.test_notifier import CONFIG, SECRET_PREFIX, World, alert, open_world
from vigil_cli.local.notify import sns_event
from vigil_cli.targets.ports import LOCALHOST
from vigil_cli.targets.receivers import Receiver, Reply

MIB = 1024 * 1024


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


def with_destinations(world: World, tmp_path, *lines: str) -> None:
    """Add destinations (YAML flow mappings) to the world's configuration."""
    (tmp_path / "checks.yaml").write_text(CONFIG + "".join(f"  - {line}\n" for line in lines))


# --------------------------------------------------------------------------- forged alerts


def test_a_forged_recovery_for_an_unknown_check_reaches_nobody(world):
    forged = alert(
        "recovery",
        check="payments",
        alert_id="core/payments/recovery@2026-11-29T08:00:00Z",
        reason="all good, close the incident",
    )
    invocation = world.local.harness().invoke(world.publish(forged))
    assert invocation.ok, invocation.error
    for receiver in world.receivers.all():
        assert receiver.requests == [], receiver.name  # no PagerDuty resolve, no webhook
    assert world.local.drain(world.chat_tap) == []
    (letter,) = world.local.dead_letters()
    assert letter["kind"] == "unknown-check"
    assert (letter["group"], letter["check"]) == ("core", "payments")
    assert json.loads(letter["message"]) == forged
    (warning,) = invocation.log_lines()
    assert warning.startswith("WARNING alert 'core/payments/recovery@")
    assert "names no configured check ('core/payments')" in warning
    assert invocation.summary["records"][0]["unknown_check"] == "core/payments"


def test_an_unknown_group_is_dropped_and_a_known_check_is_still_delivered(world):
    harness = world.local.harness()
    ghost = alert("failure", group="ghost", alert_id="ghost/api/failure@1")
    assert harness.invoke(world.publish(ghost)).ok
    assert [r.requests for r in world.receivers.all()] == [[], [], [], []]
    (letter,) = world.local.dead_letters()
    assert (letter["kind"], letter["group"], letter["check"]) == ("unknown-check", "ghost", "api")
    assert harness.invoke(world.publish(alert("failure"))).ok  # core/api is configured
    assert [len(r.requests) for r in world.receivers.all()] == [1, 1, 1, 1]
    assert world.local.dead_letters() == []


def test_a_monitor_alert_of_vigil_is_delivered_without_being_a_configured_check(world):
    monitor = {
        "event": "monitor",
        "group": "vigil",
        "check": "vigil-local-runner-errors",
        "status": "unhealthy",
        "previous_status": "healthy",
        "timestamp": "2026-11-29T08:05:00Z",
        "reason": "Threshold Crossed",
        "alert_id": "vigil/vigil-local-runner-errors/monitor/ALARM@2026-11-29T08:05:00.000+0000",
        "details": {},
    }
    invocation = world.local.harness().invoke(world.publish(monitor))
    assert invocation.ok
    assert len(world.receivers.pagerduty.requests) == 1
    assert world.local.dead_letters() == []


# --------------------------------------------------------------------------- bounded answers


class Flood:
    """A receiver that answers 400 with a body of ``declared`` bytes (identity), sent in
    1 MiB writes until the client hangs up or all of it is written."""

    def __init__(self, declared: int = 1024 * MIB):
        self.declared = declared
        self.written = 0
        self.requests = 0
        flood = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                flood.requests += 1
                self.send_response(400)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(flood.declared))
                self.end_headers()
                chunk = b"A" * MIB
                try:
                    while flood.written < flood.declared:
                        self.wfile.write(chunk)
                        flood.written += len(chunk)
                except OSError:  # the notifier stopped reading and closed the connection
                    self.close_connection = True

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer((LOCALHOST, 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://{LOCALHOST}:{self.server.server_address[1]}/hooks/flood/token"

    def __enter__(self) -> Flood:
        self.thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def flood() -> Iterator[Flood]:
    with Flood() as server:
        yield server


def gzip_bomb() -> bytes:
    """About 99 KiB of gzip that inflates to 100 MiB."""
    body = gzip.compress(b"\0" * (100 * MIB), compresslevel=9)
    assert 90 * 1024 < len(body) < 110 * 1024
    return body


def test_a_gzip_bomb_and_a_flood_cost_the_notifier_little_memory(world, tmp_path, flood, waits):
    """Teams answers with a gzip bomb, another destination with a 1 GiB plain body: the
    notifier reads 64 KiB of each (never inflating the bomb), dead-letters both, and
    delivers the others; its peak memory grows by less than 32 MiB."""
    world.receivers.teams.script(
        Reply(400, gzip_bomb(), {"Content-Encoding": "gzip", "Content-Type": "text/plain"})
    )
    with_destinations(
        world,
        tmp_path,
        "{name: flood, type: slack, secret: vigil/notify/flood, allow_private: true}",
    )
    world.local.put_secret(SECRET_PREFIX + "flood", {"url": flood.url})
    harness = world.local.harness()
    event = world.publish(alert())
    harness.invoke(sns_event(world.local.topics["AlertTopic"], "{}"))  # imports, clients
    world.local.dead_letters()

    tracemalloc.start()
    try:
        before, _ = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        invocation = harness.invoke(event)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert invocation.ok, invocation.error
    growth = peak - before
    assert growth < 32 * MIB, f"peak memory grew by {growth / MIB:.1f} MiB"

    assert flood.requests == 1 and flood.written < 64 * MIB  # the rest was never read
    letters = {letter["destination"]: letter for letter in world.local.dead_letters()}
    assert set(letters) == {"ops-teams", "flood"}
    assert letters["ops-teams"]["error"] == "HTTP 400"  # a compressed answer: no excerpt
    assert letters["flood"]["error"] == "HTTP 400: " + "A" * 120
    for receiver in (world.receivers.slack, world.receivers.pagerduty, world.receivers.webhook):
        assert len(receiver.requests) == 1, receiver.name
    (request,) = world.receivers.teams.requests
    assert request.headers["accept-encoding"] == "identity"


# --------------------------------------------------------------------------- private addresses


def test_destinations_on_private_addresses_or_without_https_are_refused(world, tmp_path):
    """Without allow_private, a loopback receiver (an internal service) gets nothing, the
    metadata address is never connected to, and http:// is refused; no error names a URL."""
    with (
        Receiver("internal", default=Reply(403, b"internal: token=s3cr3t")) as internal,
        Receiver("plain", default=Reply(200)) as plain,
    ):
        with_destinations(
            world,
            tmp_path,
            "{name: internal, type: webhook, secret: vigil/notify/internal}",
            "{name: metadata, type: slack, secret: vigil/notify/metadata}",
            "{name: plain, type: teams, secret: vigil/notify/plain}",
        )
        internal_url = internal.url.replace("http://", "https://")
        world.local.put_secret(SECRET_PREFIX + "internal", {"url": internal_url})
        world.local.put_secret(
            SECRET_PREFIX + "metadata",
            {"url": "https://169.254.169.254/latest/meta-data/iam/security-credentials/"},
        )
        world.local.put_secret(SECRET_PREFIX + "plain", {"url": plain.url})
        invocation = world.local.harness().invoke(world.publish(alert()))
        assert invocation.ok
        assert internal.requests == [] and plain.requests == []
    letters = {letter["destination"]: letter for letter in world.local.dead_letters()}
    assert set(letters) == {"internal", "metadata", "plain"}
    assert letters["internal"]["error"] == (
        "destination address is not public (loopback); set allow_private: true to allow it"
    )
    assert letters["metadata"]["error"] == (
        "destination address is not public (link-local); set allow_private: true to allow it"
    )
    assert letters["plain"]["error"] == (
        "the secret's url must be https:// (http:// only with allow_private: true)"
    )
    assert all(letter["permanent"] and letter["attempts"] == 1 for letter in letters.values())
    for receiver in world.receivers.all():  # the allowed ones are still delivered
        assert len(receiver.requests) == 1, receiver.name
    written = json.dumps(letters) + json.dumps(invocation.logs)
    assert internal.token not in written and "169.254" not in written


class NamedReceiver:
    """A TLS receiver whose certificate names ``hooks.vigil.test`` (a throw-away CA), and
    a client that trusts only that CA."""

    HOST = "hooks.vigil.test"

    def __init__(self) -> None:
        import trustme

        ca = trustme.CA()
        server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ca.issue_cert(self.HOST).configure_cert(server)
        self.client_context = ssl.create_default_context()
        ca.configure_trust(self.client_context)
        self.receiver = Receiver("named", default=Reply(202, b""), tls=server)

    def url(self, host: str = HOST) -> str:
        return f"https://{host}:{self.receiver.port}/hooks/named/{self.receiver.token}"


@pytest.fixture
def named() -> Iterator[NamedReceiver]:
    found = NamedReceiver()
    with found.receiver:
        yield found


def test_the_request_goes_to_the_address_checked_and_tls_verifies_the_host_name(named, monkeypatch):
    """A DNS that answers a checked address first and another one afterwards (rebinding)
    gets one lookup per send: the request goes where the check said. 127.0.0.1 stands
    in for a public address here (nothing public may be reached from the tests)."""
    import socket

    import httpx

    import vigil.notify.address
    from vigil.notify.base import DeliveryError, Transport
    from vigil.notify.http import post

    judged = vigil.notify.address.refusal
    monkeypatch.setattr(
        vigil.notify.address,
        "refusal",
        lambda address: None if str(address) == "127.0.0.1" else judged(address),
    )
    answers = {NamedReceiver.HOST: ["127.0.0.1", "127.0.0.2"], "other.vigil.test": ["127.0.0.1"]}
    lookups: list[str] = []

    real_getaddrinfo = socket.getaddrinfo

    def resolve(host, port, *args, **kwargs):
        if host not in answers:  # the address itself, when the client connects to it
            return real_getaddrinfo(host, port, *args, **kwargs)
        lookups.append(host)
        queue = answers[host]
        address = queue.pop(0) if len(queue) > 1 else queue[0]
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]

    monkeypatch.setattr(vigil.notify.address.socket, "getaddrinfo", resolve)
    with httpx.Client(verify=named.client_context, timeout=5) as client:
        transport = Transport(client)
        assert post(transport, named.url(), b"{}") == 202
        (request,) = named.receiver.requests
        assert request.headers["host"] == f"{NamedReceiver.HOST}:{named.receiver.port}"
        assert lookups == [NamedReceiver.HOST]

        with pytest.raises(DeliveryError) as rebound:  # the DNS now says 127.0.0.2
            post(transport, named.url(), b"{}")
        assert rebound.value.permanent is True
        assert "not public (loopback)" in str(rebound.value)

        with pytest.raises(DeliveryError) as mismatch:  # same address, a name not in the cert
            post(transport, named.url("other.vigil.test"), b"{}")
        assert mismatch.value.permanent is False
        assert str(mismatch.value) == "connection failed (ConnectError)"
    assert len(named.receiver.requests) == 1


# --------------------------------------------------------------------------- signed webhooks


def test_a_rotated_signing_key_signs_with_every_key_and_the_send_time(world, tmp_path):
    with (
        Receiver("old", default=Reply(204, b""), signing_key="old-key-0123") as old,
        Receiver("new", default=Reply(204, b""), signing_key="new-key-4567") as new,
    ):
        with_destinations(
            world,
            tmp_path,
            "{name: to-old, type: webhook, secret: vigil/notify/to-old, allow_private: true}",
            "{name: to-new, type: webhook, secret: vigil/notify/to-new, allow_private: true}",
        )
        for name, receiver in (("to-old", old), ("to-new", new)):
            world.local.put_secret(
                SECRET_PREFIX + name,
                {"url": receiver.url, "signing_key": ["old-key-0123", "new-key-4567"]},
            )
        sent_at = time.time()
        assert world.local.harness().invoke(world.publish(alert())).ok
        for receiver in (old, new):
            (request,) = receiver.requests
            assert request.signature_ok is True, receiver.name
            assert len(request.headers["x-vigil-signature"].split(",")) == 2
            assert abs(int(request.headers["x-vigil-timestamp"]) - sent_at) <= 5
    assert world.local.dead_letters() == []


def test_only_signing_key_may_be_a_list(world, tmp_path):
    with_destinations(world, tmp_path, "{name: listed, type: webhook, secret: vigil/notify/listed}")
    world.local.put_secret(
        SECRET_PREFIX + "listed", {"url": ["https://a.example/x"], "signing_key": "k"}
    )
    assert world.local.harness().invoke(world.publish(alert())).ok
    (letter,) = world.local.dead_letters()
    assert letter["error"] == (
        "secret 'vigil/notify/listed' must be a JSON object of strings with 'url' "
        "('signing_key' may also be a non-empty list of strings)"
    )


def test_an_error_answer_that_echoes_the_request_path_keeps_no_token(world, waits):
    teams = world.receivers.teams
    teams.script(Reply(404, f"no route for POST /hooks/teams/{teams.token}".encode()))
    assert world.local.harness().invoke(world.publish(alert())).ok
    (letter,) = world.local.dead_letters()
    assert letter["error"] == "HTTP 404: no route for POST ***"
