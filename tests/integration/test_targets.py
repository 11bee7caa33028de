"""The local targets do what their contracts promise (real sockets, a real PostgreSQL)."""

from __future__ import annotations

import asyncio
import socket
import ssl
import time
from datetime import UTC, datetime, timedelta

import httpx
import pg8000.exceptions
import pg8000.native
import pytest

from vigil_cli.targets import HttpTarget, RequestRecord, TcpTarget, free_port, refused_port


def connect_refused(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(2)
        try:
            sock.connect(("127.0.0.1", port))
        except ConnectionRefusedError:
            return True
    return False


# ---------------------------------------------------------------- HTTP


def test_ok_status_body_and_redirect_loop(http_target: HttpTarget) -> None:
    with httpx.Client(base_url=http_target.base_url, timeout=5) as client:
        ok = client.get("/ok")
        assert (ok.status_code, ok.text) == (200, "ok")
        assert client.get("/status/503").status_code == 503
        assert client.get("/status/204").status_code == 204
        assert client.get("/nope").status_code == 404
        assert client.get("/body", params={"text": "héllo wörld"}).text == "héllo wörld"
        loop = client.get("/redirect-loop")
        assert (loop.status_code, loop.headers["location"]) == (302, "/redirect-loop")
        with pytest.raises(httpx.TooManyRedirects):
            client.get("/redirect-loop", follow_redirects=True)


def test_slow_is_slow_and_recorded(http_target: HttpTarget) -> None:
    started = time.perf_counter()
    response = httpx.get(http_target.url("/slow?ms=200"), timeout=5)
    elapsed = time.perf_counter() - started
    assert response.text == "ok" and elapsed >= 0.2
    [record] = http_target.wait_records(1, "/slow")
    assert (record.method, record.query, record.status) == ("GET", "ms=200", 200)
    assert 0.2 <= record.seconds <= elapsed
    http_target.reset_records()
    assert http_target.records() == []


def test_garbage_is_not_http(http_target: HttpTarget) -> None:
    with pytest.raises(httpx.RemoteProtocolError):
        httpx.get(http_target.url("/garbage"), timeout=5)
    assert [r.status for r in http_target.wait_records(1, "/garbage")] == [None]


def test_huge_streams_64_mib(http_target: HttpTarget) -> None:
    with httpx.stream("GET", http_target.url("/huge"), timeout=10) as response:
        assert int(response.headers["content-length"]) == 64 * 1024 * 1024
        received = sum(len(chunk) for chunk in response.iter_raw())
    assert received == 64 * 1024 * 1024


def test_huge_survives_a_client_that_hangs_up(http_target: HttpTarget) -> None:
    with httpx.stream("GET", http_target.url("/huge"), timeout=10) as response:
        next(response.iter_raw())
    assert httpx.get(http_target.url("/ok"), timeout=5).text == "ok"


def test_scripted_modes(http_target: HttpTarget) -> None:
    url = http_target.url("/scripted/api")
    assert httpx.get(url, timeout=5).status_code == 200  # healthy by default
    http_target.script("api", "failing:502")
    assert httpx.get(url, timeout=5).status_code == 502
    http_target.script("api", "slow:150")
    started = time.perf_counter()
    assert httpx.get(url, timeout=5).status_code == 200
    assert time.perf_counter() - started >= 0.15
    http_target.script("api", "down")
    with pytest.raises(httpx.RemoteProtocolError):
        httpx.get(url, timeout=5)
    assert httpx.get(http_target.url("/scripted/other"), timeout=5).status_code == 200
    http_target.script("api", "healthy")
    assert httpx.get(url, timeout=5).text == "ok"
    with pytest.raises(ValueError):
        http_target.script("api", "sideways")


def test_500_concurrent_slow_requests(http_target: HttpTarget) -> None:
    """Raw asyncio clients, so that only the server's concurrency is measured."""

    async def one() -> bytes:
        reader, writer = await asyncio.open_connection(http_target.host, http_target.port)
        writer.write(b"GET /slow?ms=200 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        answer = await reader.read()
        writer.close()
        await writer.wait_closed()
        return answer.split(b"\r\n", 1)[0]

    async def burst() -> list[bytes]:
        return await asyncio.gather(*(one() for _ in range(500)))

    status_lines = asyncio.run(burst())
    assert status_lines == [b"HTTP/1.1 200 OK"] * 500
    records = http_target.wait_records(500, "/slow")
    assert all(r.seconds >= 0.2 for r in records)
    # Served concurrently, not one after another: most requests were in the server at once.
    assert most_at_once(records) >= 250


def most_at_once(records: list[RequestRecord]) -> int:
    """The largest number of requests the server was handling at the same moment."""
    edges = sorted(
        [(r.started, 1) for r in records] + [(r.started + r.seconds, -1) for r in records],
        key=lambda edge: (edge[0], edge[1]),  # an end before a start at the same instant
    )
    current = peak = 0
    for _, change in edges:
        current += change
        peak = max(peak, current)
    return peak


def test_https_with_a_private_ca(https_target: HttpTarget) -> None:
    assert https_target.base_url.startswith("https://127.0.0.1:")
    with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
        httpx.get(https_target.url("/ok"), timeout=5)
    trusted = httpx.get(https_target.url("/ok"), verify=https_target.client_ssl_context())
    assert trusted.text == "ok"
    # the CA's PEM file trusts it too, as a check's ca_bundle would
    assert https_target.cert_path is not None
    bundle = ssl.create_default_context(cafile=str(https_target.cert_path))
    assert httpx.get(https_target.url("/ok"), verify=bundle).text == "ok"


def test_https_certificate_expiry_is_chosen() -> None:
    expires = datetime.now(UTC).replace(microsecond=0) + timedelta(days=2)
    with HttpTarget(tls=True, cert_not_after=expires) as target:
        context = target.client_ssl_context()
        with (
            socket.create_connection((target.host, target.port), timeout=5) as raw,
            context.wrap_socket(raw, server_hostname="localhost") as tls,
        ):
            served = tls.getpeercert()
        assert served is not None
        not_after = datetime.fromtimestamp(ssl.cert_time_to_seconds(served["notAfter"]), UTC)
        assert not_after == expires
        cert_path = target.cert_path
        assert cert_path is not None and cert_path.exists()
    assert not cert_path.exists()  # close() removes the CA file


def test_http_target_restarts_on_the_same_port() -> None:
    with HttpTarget() as target:
        port = target.port
        assert httpx.get(target.url("/ok"), timeout=5).status_code == 200
        target.stop()
        assert connect_refused(port)
        target.start()
        assert target.port == port
        assert httpx.get(target.url("/ok"), timeout=5).status_code == 200


# ---------------------------------------------------------------- TCP and ports


def test_tcp_target_close_and_reopen(tcp_target: TcpTarget) -> None:
    socket.create_connection(tcp_target.address, timeout=2).close()
    tcp_target.close()
    assert connect_refused(tcp_target.port)
    port = tcp_target.port
    assert tcp_target.reopen() == port
    socket.create_connection(tcp_target.address, timeout=2).close()
    deadline = time.monotonic() + 2
    while tcp_target.accepted < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert tcp_target.accepted == 2


def test_port_helpers() -> None:
    assert connect_refused(refused_port())
    assert 0 < free_port() < 65536


# ---------------------------------------------------------------- PostgreSQL


@pytest.mark.postgres
def test_postgres_password_auth_and_restart(postgres_server, postgres_credentials) -> None:
    creds = postgres_credentials
    assert (creds.host, creds.user, creds.database) == ("127.0.0.1", "monitor", "app")

    conn = pg8000.native.Connection(**creds.connect_kwargs(), timeout=5)
    assert conn.run("SELECT current_user, current_database()") == [["monitor", "app"]]
    conn.close()

    wrong = creds.connect_kwargs() | {"password": "not-the-password"}
    with pytest.raises(pg8000.exceptions.DatabaseError) as failed:
        pg8000.native.Connection(**wrong, timeout=5)
    assert failed.value.args[0]["C"] == "28P01"  # invalid_password

    port = postgres_server.port
    postgres_server.stop()
    try:
        assert not postgres_server.running
        with pytest.raises(pg8000.exceptions.InterfaceError):
            pg8000.native.Connection(**creds.connect_kwargs(), timeout=5)
    finally:
        postgres_server.start()
    assert postgres_server.port == port
    conn = pg8000.native.Connection(**creds.connect_kwargs(), timeout=5)
    assert conn.run("SELECT 1") == [[1]]
    conn.close()
    assert postgres_server.execute("SELECT rolname FROM pg_roles WHERE rolname = :n", n="monitor")
