"""HTTP handlers for the loopback servers of ``tcp_servers.Servers``: bodies, TLS, slowness.

Each factory returns a handler ``(reader, writer)`` that reads one request
head and answers it; ``tls(...)`` wraps a handler in a server-side TLS
handshake (optionally demanding a client certificate); ``SlowHandshakeServer`` delays one.
"""

from __future__ import annotations

import asyncio
import http
import json
import socket
import ssl
import threading
import time
import zlib
from collections.abc import Mapping, Sequence

from tests.integration.tcp_servers import Handler

Route = tuple[int, Sequence[tuple[str, str]], bytes]


async def read_head(reader: asyncio.StreamReader) -> tuple[str, str, dict[str, str]]:
    """The request's method, target and headers (names lower-cased)."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    method, target, _ = lines[0].split(" ", 2)
    headers = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if sep:
            headers[name.strip().lower()] = value.strip()
    return method, target, headers


def head_bytes(status: int, headers: Sequence[tuple[str, str]]) -> bytes:
    reason = http.HTTPStatus(status).phrase
    lines = [f"HTTP/1.1 {status} {reason}", *(f"{k}: {v}" for k, v in headers)]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def routes(table: Mapping[str, Route], seen: list[dict[str, str]] | None = None) -> Handler:
    """Answer by path (query ignored) from ``table``; 404 otherwise. Keeps the connection
    open for more requests (redirects to the same origin reuse it). ``seen`` collects
    each request's headers."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            try:
                _, target, headers = await read_head(reader)
            except (asyncio.IncompleteReadError, ConnectionError):
                return
            if seen is not None:
                seen.append(headers)
            status, extra, body = table.get(target.split("?")[0], (404, (), b"not found"))
            fields = [*extra, ("Content-Length", str(len(body)))]
            writer.write(head_bytes(status, fields) + body)
            await writer.drain()

    return handle


def body(data: bytes, *, encoding: str | None = None, content_type: str = "text/plain") -> Route:
    """A 200 route with ``data``, encoded with ``gzip``, ``deflate`` or ``raw-deflate``."""
    headers = [("Content-Type", content_type)]
    if encoding == "gzip":
        compressor = zlib.compressobj(wbits=31)
        data = compressor.compress(data) + compressor.flush()
    elif encoding == "deflate":
        data = zlib.compress(data)
    elif encoding == "raw-deflate":
        compressor = zlib.compressobj(wbits=-15)
        data = compressor.compress(data) + compressor.flush()
    if encoding is not None:
        headers.append(("Content-Encoding", "deflate" if "deflate" in encoding else encoding))
    return 200, headers, data


def json_body(document: object) -> Route:
    return body(json.dumps(document).encode(), content_type="application/json")


def redirect(location: str, status: int = 302) -> Route:
    return status, [("Location", location)], b""


class BombStats:
    """What the gzip bomb sent: compressed bytes written before the client left."""

    def __init__(self) -> None:
        self.compressed_bytes = 0
        self.finished = threading.Event()


def gzip_bomb(stats: BombStats, decoded_gib: int = 4) -> Handler:
    """A 200 whose gzip body decodes to ``decoded_gib`` GiB of zeros, streamed chunk by chunk.

    With a full flush after each MiB the compressor forgets its history, so every
    MiB after the first compresses to the same bytes: made once, written 4096 times.
    """
    zeros = bytes(1 << 20)
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    first = compressor.compress(zeros) + compressor.flush(zlib.Z_FULL_FLUSH)
    repeat = compressor.compress(zeros) + compressor.flush(zlib.Z_FULL_FLUSH)

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_head(reader)
        headers = [("Content-Encoding", "gzip"), ("Connection", "close")]
        writer.write(head_bytes(200, headers) + first)
        try:
            for _ in range(decoded_gib * 1024 - 1):
                writer.write(repeat)
                stats.compressed_bytes += len(repeat)
                await writer.drain()
        finally:
            stats.finished.set()
            writer.close()

    return handle


def trickle(total: int = 1000, every: float = 0.1) -> Handler:
    """A 200 announcing ``total`` bytes, then sending one byte every ``every`` seconds."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_head(reader)
        writer.write(head_bytes(200, [("Content-Length", str(total))]))
        await writer.drain()
        for _ in range(total):
            await asyncio.sleep(every)
            writer.write(b"x")
            await writer.drain()

    return handle


def tls(context: ssl.SSLContext, inner: Handler) -> Handler:
    """Accept plain TCP, do the TLS handshake (at once: the handler's first step runs before
    the loop reads the ClientHello), then ``inner``."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await writer.start_tls(context)
        except (ssl.SSLError, ConnectionError, OSError):
            writer.close()
            return
        await inner(reader, writer)

    return handle


class SlowHandshakeServer:
    """HTTPS on 127.0.0.1 that waits ``delay`` seconds after accepting before its TLS
    handshake, then answers one request with 200 ``ok`` (plain blocking sockets in a thread,
    so the client's early ClientHello simply waits in the socket)."""

    def __init__(self, context: ssl.SSLContext, delay: float) -> None:
        self._context = context
        self._delay = delay
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        try:
            conn, _ = self._listener.accept()
        except OSError:
            return
        time.sleep(self._delay)
        try:
            with self._context.wrap_socket(conn, server_side=True) as tls_conn:
                data = b""
                while b"\r\n\r\n" not in data:
                    chunk = tls_conn.recv(4096)
                    if not chunk:
                        return
                    data += chunk
                tls_conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        except (ssl.SSLError, OSError):
            return

    def close(self) -> None:
        self._listener.close()
        self._thread.join(5)
