"""A TCP listener on 127.0.0.1 that can refuse connections and listen again."""

from __future__ import annotations

import socket
import threading
from typing import Self

from vigil_cli.targets.ports import LOCALHOST, Served


class TcpTarget(Served):
    """A TCP listener on 127.0.0.1 that accepts connections and closes them at once.

    :meth:`close` stops listening, so connecting is refused afterwards;
    :meth:`reopen` listens again on the same port if it is still free (else on
    a new one, see :attr:`port`). Use as a context manager or call :meth:`start`.
    """

    def __init__(self, port: int = 0) -> None:
        self._port = port
        self._sock: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._accepted = 0

    @property
    def port(self) -> int:
        return self._port

    @property
    def address(self) -> tuple[str, int]:
        return LOCALHOST, self._port

    @property
    def listening(self) -> bool:
        return self._sock is not None

    @property
    def accepted(self) -> int:
        """How many connections were accepted so far."""
        with self._lock:
            return self._accepted

    def start(self) -> Self:
        """Listen (no-op if already listening)."""
        if self._sock is not None:
            return self
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind((LOCALHOST, self._port))
            except OSError:
                if not self._port:
                    raise
                sock.bind((LOCALHOST, 0))  # the old port is taken
            sock.listen(128)
            sock.settimeout(0.05)
        except BaseException:
            sock.close()
            raise
        self._port = int(sock.getsockname()[1])
        self._sock = sock
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._accept_loop, args=(sock, self._stop), name="vigil-tcp-target", daemon=True
        )
        self._thread.start()
        return self

    def close(self) -> None:
        """Stop listening; returns once the socket is closed (connections are refused)."""
        sock, thread = self._sock, self._thread
        if sock is None:
            return
        self._stop.set()
        if thread is not None:
            thread.join(timeout=5)
        sock.close()
        self._sock = None
        self._thread = None

    def reopen(self) -> int:
        """Listen again, on the same port if possible; return the port."""
        self.close()
        self.start()
        return self._port

    def _accept_loop(self, sock: socket.socket, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                conn, _ = sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            conn.close()
            with self._lock:
                self._accepted += 1
