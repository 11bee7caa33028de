"""An HTTP/1.1 (optionally HTTPS) target on 127.0.0.1 with scripted answers.

Real sockets and a real asyncio server in a background thread; HTTPS uses a
certificate issued by a throw-away CA (trustme), which clients trust through
``client_ssl_context`` or the ``cert_path`` PEM.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import http
import shutil
import ssl
import tempfile
import threading
import time
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self
from urllib.parse import parse_qs

from vigil_cli.targets.ports import LOCALHOST, Served, raise_fd_limit

if TYPE_CHECKING:
    import trustme


_HUGE_CHUNK = b"0123456789abcdef" * 65536  # 1 MiB
_MAX_REQUEST_BODY = 16 * 1024 * 1024
_MAX_SLOW_MS = 600_000
_GARBAGE = b"\x00\xff\x16\x03 this is not HTTP \xde\xad\xbe\xef\r\n\r\n"


@dataclass(frozen=True, slots=True)
class RequestRecord:
    """One request as the HTTP target saw it.

    ``seconds`` is measured with :func:`time.perf_counter` from receiving the
    end of the request head (``started``, on the same clock) to finishing the
    response write (or closing the connection). ``status`` is ``None`` when no
    HTTP response was sent (``/garbage``, scripted ``down``).
    """

    method: str
    path: str
    query: str
    status: int | None
    seconds: float
    started: float


@dataclass(frozen=True, slots=True)
class _Mode:
    kind: str  # healthy | slow | failing | down
    value: int = 0


def _parse_mode(mode: str) -> _Mode:
    kind, _, arg = mode.partition(":")
    if kind in ("healthy", "down") and not arg:
        return _Mode(kind)
    if kind in ("slow", "failing") and arg.isdigit():
        value = int(arg)
        if kind == "failing" and not 200 <= value <= 599:
            raise ValueError(f"failing status must be 200-599, got {value}")
        if kind == "slow" and value > _MAX_SLOW_MS:
            raise ValueError(f"slow delay must be at most {_MAX_SLOW_MS} ms")
        return _Mode(kind, value)
    raise ValueError(
        f"invalid mode {mode!r}: use 'healthy', 'slow:<ms>', 'failing:<status>' or 'down'"
    )


class _BadRequest(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class HttpTarget(Served):
    """An HTTP/1.1 server on 127.0.0.1 running its own asyncio loop in a daemon thread.

    Routes (any method; ``HEAD`` gets headers only; anything else is 404):

    * ``/ok`` - 200, body ``ok``
    * ``/status/<code>`` - that status (200-599), body ``status <code>``
    * ``/slow?ms=N`` - 200 ``ok`` after N milliseconds
    * ``/garbage`` - writes bytes that are not HTTP, then closes
    * ``/huge`` - 200 with a ``huge_size``-byte body (64 MiB by default) streamed
      in 1 MiB chunks with ``Content-Length``
    * ``/redirect-loop`` - 302 to itself
    * ``/body?text=...`` - 200 with that text (UTF-8)
    * ``/scripted/<name>`` - behaves as set by :meth:`script` (default ``healthy``)

    Connections are kept alive (HTTP/1.1) unless the client asks otherwise.
    Every request is recorded (see :class:`RequestRecord`), thread-safely.
    With ``tls=True`` it serves HTTPS with a certificate for 127.0.0.1 and
    localhost, issued at first start by a throw-away CA (trustme) that no system
    trusts, so default verification fails; :meth:`client_ssl_context` and the CA
    PEM at :attr:`cert_path` trust it. ``cert_not_after`` sets the certificate's
    expiry (default: trustme's, far ahead), for TLS-expiry checks.

    Use as a context manager, or call :meth:`start` / :meth:`stop`. Starting
    again after a stop reuses the port when possible.
    """

    def __init__(
        self,
        *,
        tls: bool = False,
        port: int = 0,
        huge_size: int = 64 * 1024 * 1024,
        backlog: int = 2048,
        cert_not_after: datetime.datetime | None = None,
    ) -> None:
        self._tls = tls
        self._cert_not_after = cert_not_after
        self._port = port
        self._huge_size = huge_size
        self._backlog = backlog
        self._lock = threading.Lock()
        self._recorded = threading.Condition(self._lock)
        self._records: list[RequestRecord] = []
        self._scripts: dict[str, _Mode] = {}
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.Task[Any]] = set()
        self._ca: trustme.CA | None = None
        self._leaf: trustme.LeafCert | None = None
        self._ca_path: Path | None = None
        self._ca_cleanup: weakref.finalize[Any, Any] | None = None

    # ----------------------------------------------------------------- lifecycle

    def start(self) -> Self:
        """Start serving; returns once the socket listens. No-op if running."""
        if self._thread is not None:
            return self
        raise_fd_limit(4096)
        ssl_context = self._server_ssl_context() if self._tls else None
        ready = threading.Event()
        failure: list[BaseException] = []
        thread = threading.Thread(
            target=self._thread_main,
            args=(ssl_context, ready, failure),
            name=f"vigil-{'https' if self._tls else 'http'}-target",
            daemon=True,
        )
        thread.start()
        if not ready.wait(timeout=30):
            raise RuntimeError("HTTP target did not start within 30 s")
        if failure:
            thread.join(timeout=5)
            raise RuntimeError(f"HTTP target failed to start: {failure[0]}") from failure[0]
        self._thread = thread
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Stop listening, close all connections and end the loop thread."""
        thread, loop = self._thread, self._loop
        if thread is None or loop is None:
            return
        with contextlib.suppress(RuntimeError):  # loop already closed
            loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=timeout)
        self._thread = None

    def close(self) -> None:
        """:meth:`stop` and forget the CA and its PEM file (a later start makes new ones)."""
        self.stop()
        if self._ca_cleanup is not None:
            self._ca_cleanup()
            self._ca_cleanup = None
        self._ca = self._leaf = self._ca_path = None

    # ----------------------------------------------------------------- properties

    @property
    def port(self) -> int:
        """The listening port (0 before the first start with the default)."""
        return self._port

    @property
    def scheme(self) -> str:
        return "https" if self._tls else "http"

    @property
    def base_url(self) -> str:
        """E.g. ``http://127.0.0.1:41234`` (no trailing slash)."""
        return f"{self.scheme}://{LOCALHOST}:{self._port}"

    def url(self, path: str) -> str:
        """``base_url`` joined with ``path`` (which should start with ``/``)."""
        return self.base_url + (path if path.startswith("/") else "/" + path)

    @property
    def cert_path(self) -> Path | None:
        """PEM of the CA that issued the target's certificate, to trust (e.g. as a
        ``ca_bundle``); ``None`` without TLS or before start."""
        return self._ca_path

    def client_ssl_context(self) -> ssl.SSLContext:
        """A client context (default verification) that trusts this target's CA."""
        if self._ca is None:
            raise RuntimeError("no certificate: construct with tls=True and start()")
        context = ssl.create_default_context()
        self._ca.configure_trust(context)
        return context

    # ----------------------------------------------------------------- control

    def script(self, name: str, mode: str) -> None:
        """Set how ``/scripted/<name>`` answers from now on.

        ``mode``: ``healthy`` (200 ``ok``), ``slow:<ms>`` (200 after ms),
        ``failing:<status>`` (that status) or ``down`` (close without answering).
        Raises ``ValueError`` for anything else. Safe from any thread.
        """
        parsed = _parse_mode(mode)
        with self._lock:
            self._scripts[name] = parsed

    def reset_scripts(self) -> None:
        """Make every ``/scripted/<name>`` healthy again."""
        with self._lock:
            self._scripts.clear()

    def records(self, path: str | None = None) -> list[RequestRecord]:
        """A copy of the recorded requests, oldest first, optionally only for ``path``."""
        with self._lock:
            records = list(self._records)
        return records if path is None else [r for r in records if r.path == path]

    def reset_records(self) -> None:
        """Forget all recorded requests."""
        with self._lock:
            self._records.clear()

    def wait_records(
        self, count: int, path: str | None = None, timeout: float = 5.0
    ) -> list[RequestRecord]:
        """Wait until at least ``count`` requests (for ``path``) are recorded; return them.

        A client can see the end of a response (or of the connection) a moment
        before the server records it. Raises ``TimeoutError`` after ``timeout`` s.
        """

        def matching() -> list[RequestRecord]:
            return [r for r in self._records if path is None or r.path == path]

        with self._recorded:
            if not self._recorded.wait_for(lambda: len(matching()) >= count, timeout):
                raise TimeoutError(
                    f"{len(matching())} of {count} requests recorded within {timeout} s"
                )
            return matching()

    # ----------------------------------------------------------------- internals

    def _server_ssl_context(self) -> ssl.SSLContext:
        if self._ca is None or self._leaf is None:
            import trustme

            self._ca = trustme.CA()
            self._leaf = self._ca.issue_cert(LOCALHOST, "localhost", not_after=self._cert_not_after)
            directory = Path(tempfile.mkdtemp(prefix="vigil-tls-"))
            self._ca_cleanup = weakref.finalize(self, shutil.rmtree, directory, True)
            self._ca_path = directory / "ca.pem"
            self._ca.cert_pem.write_to_path(str(self._ca_path))
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self._leaf.configure_cert(context)
        return context

    def _thread_main(
        self,
        ssl_context: ssl.SSLContext | None,
        ready: threading.Event,
        failure: list[BaseException],
    ) -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        try:
            server = loop.run_until_complete(self._listen(ssl_context))
        except BaseException as exc:
            failure.append(exc)
            loop.close()
            ready.set()
            return
        self._server = server
        self._port = int(server.sockets[0].getsockname()[1])
        self._loop = loop
        ready.set()
        try:
            loop.run_forever()
        finally:
            try:
                loop.run_until_complete(self._shutdown(server))
                loop.run_until_complete(loop.shutdown_asyncgens())
            finally:
                self._server = None
                loop.close()

    async def _listen(self, ssl_context: ssl.SSLContext | None) -> asyncio.Server:
        """Listen on the previous port if there is one and it is free, else on a new one."""
        ports = [self._port, 0] if self._port else [0]
        for index, port in enumerate(ports):
            try:
                return await asyncio.start_server(
                    self._handle_connection,
                    LOCALHOST,
                    port,
                    ssl=ssl_context,
                    backlog=self._backlog,
                    reuse_address=True,
                )
            except OSError:
                if index + 1 == len(ports):
                    raise
        raise AssertionError("unreachable")

    async def _shutdown(self, server: asyncio.Server) -> None:
        server.close()
        tasks = list(self._connections)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(server.wait_closed(), timeout=5)

    def _record(self, method: str, path: str, query: str, status: int | None, t0: float) -> None:
        record = RequestRecord(method, path, query, status, time.perf_counter() - t0, t0)
        with self._recorded:
            self._records.append(record)
            self._recorded.notify_all()

    async def _handle_connection(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._connections.add(task)
        try:
            keep_alive = True
            while keep_alive:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except asyncio.IncompleteReadError:
                    break  # client closed between requests
                except asyncio.LimitOverrunError:
                    await self._send(writer, 431, b"request head too large\n", keep_alive=False)
                    break
                t0 = time.perf_counter()
                try:
                    method, path, query, keep_alive, length = self._parse_head(head)
                    if length:
                        await reader.readexactly(length)
                except _BadRequest as exc:
                    await self._send(writer, exc.status, f"{exc}\n".encode(), keep_alive=False)
                    self._record("?", "?", "", exc.status, t0)
                    break
                status, keep_alive = await self._dispatch(writer, method, path, query, keep_alive)
                self._record(method, path, query, status, t0)
        except (ConnectionError, asyncio.IncompleteReadError, ssl.SSLError, OSError):
            pass  # the client went away; nothing to answer
        except asyncio.CancelledError:
            pass  # server shutdown
        finally:
            writer.close()
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await asyncio.wait_for(writer.wait_closed(), timeout=2)
            if task is not None:
                self._connections.discard(task)

    @staticmethod
    def _parse_head(head: bytes) -> tuple[str, str, str, bool, int]:
        lines = head.decode("latin-1").split("\r\n")
        parts = lines[0].split(" ")
        if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
            raise _BadRequest(400, "malformed request line")
        method, target, version = parts
        headers: dict[str, str] = {}
        for line in lines[1:]:
            if not line:
                continue
            name, sep, value = line.partition(":")
            if not sep:
                raise _BadRequest(400, "malformed header line")
            headers[name.strip().lower()] = value.strip()
        if "chunked" in headers.get("transfer-encoding", "").lower():
            raise _BadRequest(411, "chunked request bodies are not supported")
        try:
            length = int(headers.get("content-length", "0"))
        except ValueError:
            raise _BadRequest(400, "bad Content-Length") from None
        if length < 0 or length > _MAX_REQUEST_BODY:
            raise _BadRequest(413, "request body too large")
        connection = headers.get("connection", "").lower()
        if version == "HTTP/1.0":
            keep_alive = "keep-alive" in connection
        else:
            keep_alive = "close" not in connection
        path, _, query = target.partition("?")
        return method.upper(), path, query, keep_alive, length

    async def _dispatch(
        self, writer: asyncio.StreamWriter, method: str, path: str, query: str, keep_alive: bool
    ) -> tuple[int | None, bool]:
        """Answer one request; return (status or None, whether to keep the connection)."""
        head_only = method == "HEAD"
        params = parse_qs(query, keep_blank_values=True)

        async def send(status: int, body: bytes = b"", **kwargs: Any) -> tuple[int, bool]:
            await self._send(
                writer, status, body, keep_alive=keep_alive, head_only=head_only, **kwargs
            )
            return status, keep_alive

        if path == "/ok":
            return await send(200, b"ok")
        if path.startswith("/status/"):
            code = path.removeprefix("/status/")
            if not code.isdigit() or not 200 <= int(code) <= 599:
                return await send(400, b"status must be 200-599\n")
            return await send(int(code), f"status {code}".encode())
        if path == "/slow":
            try:
                ms = int(params.get("ms", ["1000"])[0])
            except ValueError:
                return await send(400, b"ms must be an integer\n")
            await asyncio.sleep(max(0, min(ms, _MAX_SLOW_MS)) / 1000)
            return await send(200, b"ok")
        if path == "/garbage":
            writer.write(_GARBAGE)
            await writer.drain()
            return None, False
        if path == "/huge":
            await self._send_huge(writer, keep_alive, head_only)
            return 200, keep_alive
        if path == "/redirect-loop":
            return await send(302, b"", extra_headers=(("Location", "/redirect-loop"),))
        if path == "/body":
            text = params.get("text", [""])[0]
            return await send(200, text.encode())
        if path.startswith("/scripted/"):
            name = path.removeprefix("/scripted/")
            with self._lock:
                mode = self._scripts.get(name, _Mode("healthy"))
            if mode.kind == "down":
                return None, False
            if mode.kind == "slow":
                await asyncio.sleep(mode.value / 1000)
            if mode.kind == "failing":
                return await send(mode.value, f"status {mode.value}".encode())
            return await send(200, b"ok")
        return await send(404, b"not found\n")

    @staticmethod
    async def _send(
        writer: asyncio.StreamWriter,
        status: int,
        body: bytes,
        *,
        keep_alive: bool,
        head_only: bool = False,
        extra_headers: Sequence[tuple[str, str]] = (),
    ) -> None:
        writer.write(HttpTarget._head(status, len(body), keep_alive, extra_headers))
        if body and not head_only and status not in (204, 304):
            writer.write(body)
        await writer.drain()

    @staticmethod
    def _head(
        status: int, length: int, keep_alive: bool, extra_headers: Sequence[tuple[str, str]] = ()
    ) -> bytes:
        try:
            reason = http.HTTPStatus(status).phrase
        except ValueError:
            reason = "Unknown"
        lines = [f"HTTP/1.1 {status} {reason}", "Server: vigil-target"]
        if status not in (204, 304):
            lines += ["Content-Type: text/plain; charset=utf-8", f"Content-Length: {length}"]
        lines.append("Connection: keep-alive" if keep_alive else "Connection: close")
        lines += [f"{name}: {value}" for name, value in extra_headers]
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")

    async def _send_huge(
        self, writer: asyncio.StreamWriter, keep_alive: bool, head_only: bool
    ) -> None:
        writer.write(self._head(200, self._huge_size, keep_alive))
        if not head_only:
            view = memoryview(_HUGE_CHUNK)
            remaining = self._huge_size
            while remaining > 0:
                n = min(remaining, len(view))
                writer.write(view[:n])
                await writer.drain()
                remaining -= n
        await writer.drain()
