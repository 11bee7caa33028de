"""The benchmark's HTTP and HTTPS target, in a process of its own.

One asyncio server per scheme on 127.0.0.1 (HTTPS with a certificate from a
throw-away trustme CA, whose PEM the benchmark passes as ``ca_bundle``).
``GET /slow?ms=N&id=I`` answers 200 ``ok`` after N ms. Per request it stamps,
on ``time.perf_counter`` (CLOCK_MONOTONIC, which every process on the machine
shares), when it accepted the TCP connection (before any TLS handshake) and
when it wrote the response head: the latency a perfect client would see is
the time between the two, and the benchmark's error is the reported latency
minus it. It runs in its own process so that the runner's event loop and the
target's never share an interpreter, as with a real service. The benchmark
drives it over stdin/stdout, one command per line:

* ``ports`` - answers ``<http port> <https port> <CA PEM path>``
* ``reset`` - forget the recorded requests; answers ``ok``
* ``records`` - answers one JSON line: ``{"<id>": [accepted, head_written], ...}``
* ``cpu`` - answers the CPU seconds the target process has used so far
* ``quit``
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import ssl
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import parse_qs

REPO = Path(__file__).resolve().parents[2]


class TargetProcess:
    """Starts ``python -m tests.bench.target`` and talks to it."""

    def __init__(self) -> None:
        self._process = subprocess.Popen(
            [sys.executable, "-m", "tests.bench.target"],
            cwd=REPO,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            http_port, https_port, ca_path = self._ask("ports").split(" ", 2)
        except BaseException:
            self._process.kill()
            self._process.wait()
            raise
        self.base_url = f"http://127.0.0.1:{http_port}"
        self.https_base_url = f"https://127.0.0.1:{https_port}"
        self.ca_path = ca_path

    def _ask(self, command: str) -> str:
        assert self._process.stdin is not None and self._process.stdout is not None
        self._process.stdin.write(command + "\n")
        self._process.stdin.flush()
        answer = self._process.stdout.readline()
        if not answer:
            raise RuntimeError(f"the target process ended (asked {command!r})")
        return answer.strip()

    def reset(self) -> None:
        self._ask("reset")

    def records(self) -> dict[str, float]:
        """Per request (by its ``id``): seconds from accepting its connection to its head."""
        stamps = json.loads(self._ask("records"))
        return {ident: written - accepted for ident, (accepted, written) in stamps.items()}

    def cpu_s(self) -> float:
        return float(self._ask("cpu"))

    def close(self) -> None:
        with contextlib.suppress(RuntimeError, OSError):
            self._ask("quit")
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()

    def __enter__(self) -> TargetProcess:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class StampingServer:
    """The servers, on a loop in a daemon thread; ``stamps`` by request id."""

    def __init__(self, tls: ssl.SSLContext) -> None:
        self._tls = tls
        self._lock = threading.Lock()
        self.stamps: dict[str, tuple[float, float]] = {}
        self._loop = asyncio.new_event_loop()
        self._loop.set_exception_handler(lambda loop, context: None)
        threading.Thread(target=self._loop.run_forever, daemon=True).start()
        self.http_port = self._start(None)
        self.https_port = self._start(tls)

    def _start(self, tls: ssl.SSLContext | None) -> int:
        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            accepted = time.perf_counter()
            try:
                if tls is not None:
                    # the handler's first step runs before the loop reads the ClientHello
                    await writer.start_tls(tls)
                head = await reader.readuntil(b"\r\n\r\n")
                target = head.split(b" ", 2)[1].decode()
                query = parse_qs(target.partition("?")[2])
                await asyncio.sleep(int(query.get("ms", ["0"])[0]) / 1000)
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
                written = time.perf_counter()
                with self._lock:
                    self.stamps[query.get("id", ["?"])[0]] = (accepted, written)
                await writer.drain()
            except (OSError, ssl.SSLError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
                pass
            finally:
                writer.close()

        async def start() -> asyncio.Server:
            return await asyncio.start_server(handle, "127.0.0.1", 0, backlog=4096)

        server = asyncio.run_coroutine_threadsafe(start(), self._loop).result(10)
        return int(server.sockets[0].getsockname()[1])

    def take(self) -> dict[str, tuple[float, float]]:
        with self._lock:
            return dict(self.stamps)

    def reset(self) -> None:
        with self._lock:
            self.stamps.clear()


def main() -> None:
    import trustme

    from vigil_cli.targets import raise_fd_limit

    raise_fd_limit(8192)
    ca = trustme.CA()
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
    with tempfile.TemporaryDirectory(prefix="vigil-bench-tls-") as tmp:
        ca_path = Path(tmp) / "ca.pem"
        ca.cert_pem.write_to_path(str(ca_path))
        server = StampingServer(context)
        for line in sys.stdin:
            command = line.strip()
            if command == "ports":
                answer = f"{server.http_port} {server.https_port} {ca_path}"
            elif command == "reset":
                server.reset()
                answer = "ok"
            elif command == "records":
                answer = json.dumps(server.take())
            elif command == "cpu":
                times = os.times()
                answer = str(times.user + times.system)
            elif command == "quit":
                return
            else:
                answer = f"unknown command {command!r}"
            sys.stdout.write(answer + "\n")
            sys.stdout.flush()


if __name__ == "__main__":
    main()
