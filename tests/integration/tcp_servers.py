"""Small TCP (and TLS) servers on loopback for the TCP check tests, run on their own loop."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import ssl
import threading
from collections.abc import Awaitable, Callable
from pathlib import Path

import trustme

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


def server_tls_context(
    ca: trustme.CA, days: float = 90, client_ca: trustme.CA | None = None
) -> ssl.SSLContext:
    """A server context with a certificate for 127.0.0.1, ::1 and vigil.test from ``ca``
    expiring in ``days``; with ``client_ca``, a client certificate it issued is required."""
    now = dt.datetime.now(dt.UTC)
    leaf = ca.issue_cert(
        "vigil.test",
        "127.0.0.1",
        "::1",
        not_before=now - dt.timedelta(days=30),
        not_after=now + dt.timedelta(days=days),
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    leaf.configure_cert(context)
    if client_ca is not None:
        context.verify_mode = ssl.CERT_REQUIRED
        client_ca.configure_trust(context)
    return context


async def banner(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Greet like an SMTP/Redis-style server, then wait for the client to leave."""
    writer.write(b"+OK vigil ready\r\n")
    await writer.drain()
    await reader.read()


async def ping(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Answer ``PING`` with ``+PONG``; anything else with ``-ERR``, then hang up."""
    line = await reader.readline()
    if line.strip() != b"PING":
        writer.write(b"-ERR unknown\r\n")
        await writer.drain()
        writer.close()
        return
    writer.write(b"+PONG\r\n")
    await writer.drain()
    await reader.read()


async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Accept and never say a word."""
    await reader.read()


async def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Accept and close at once."""
    writer.close()


async def junk(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Send unprintable bytes and a lot of them, then close."""
    writer.write(b"\x00\x01garbage\x1b[31m\xff" * 50)
    await writer.drain()
    writer.close()


class Servers:
    """Servers on 127.0.0.1, on a loop in a thread of their own; ``close`` stops them all."""

    def __init__(self, workdir: Path):
        self.workdir = workdir
        self.ca = trustme.CA()
        self.ca_path = workdir / "private-ca.pem"
        self.ca.cert_pem.write_to_path(str(self.ca_path))
        self._loop = asyncio.new_event_loop()
        self._loop.set_exception_handler(lambda loop, context: None)  # refused handshakes
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self._servers: list[asyncio.Server] = []
        self._writers: list[asyncio.StreamWriter] = []

    def serve(
        self, handler: Handler, *, tls_days: float | None = None, host: str = "127.0.0.1"
    ) -> int:
        """Start a server; with ``tls_days``, TLS with a certificate for ``vigil.test`` and
        127.0.0.1 that expires that many days from now (negative: already expired)."""
        context = None if tls_days is None else server_tls_context(self.ca, tls_days)

        async def tracked(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            self._writers.append(writer)
            with contextlib.suppress(ConnectionError, OSError):
                await handler(reader, writer)

        async def start() -> asyncio.Server:
            return await asyncio.start_server(tracked, host, 0, ssl=context)

        server = asyncio.run_coroutine_threadsafe(start(), self._loop).result(5)
        self._servers.append(server)
        return server.sockets[0].getsockname()[1]

    def close(self) -> None:
        async def stop() -> None:
            for server in self._servers:
                server.close()
            for writer in self._writers:
                writer.close()
            for server in self._servers:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(server.wait_closed(), 2)

        asyncio.run_coroutine_threadsafe(stop(), self._loop).result(5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        self._loop.close()
