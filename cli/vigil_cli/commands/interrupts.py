"""Ctrl-C and SIGTERM for long-running commands, received only where stopping is safe.

Python runs a signal handler in the main thread between two bytecodes, wherever
that thread happens to be. A handler that raises ``KeyboardInterrupt`` therefore
raises it at an arbitrary point, and some points drop it: when awscrt is installed
(aws-sam-cli brings it), botocore signs every request with awscrt, whose C signer
calls back into Python (``should_sign_header``) for each header and reports an
exception from that callback as "Exception ignored" before going on; ``__del__``
methods and ``weakref.finalize`` callbacks drop theirs the same way. A Ctrl-C
landing there was lost, and ``vigil demo`` went on to its normal end (exit 0)
instead of stopping.

``InterruptWatch`` never raises from the handler. The handler records the signal;
the C-level wakeup fd (``signal.set_wakeup_fd``) wakes a ``pause`` at once; and the
command calls ``check`` at its safe points (between runs, between cycles), which
raises ``Interrupted`` there. A signal that arrives while work is under way stops
the command at the next safe point, after the work in hand has finished.
"""

from __future__ import annotations

import contextlib
import select
import signal
import socket
import time
from types import FrameType, TracebackType
from typing import Any, Self

WATCHED = (signal.SIGINT, signal.SIGTERM)
EXIT_CODES = {signal.SIGINT: 130, signal.SIGTERM: 143}  # 128 + the signal's number


class Interrupted(Exception):
    """A watched signal arrived; raised by ``InterruptWatch.check``/``pause`` only."""

    def __init__(self, signum: int) -> None:
        self.signum = signum
        super().__init__(f"interrupted by {self.name}")

    @property
    def name(self) -> str:
        """``Ctrl-C`` for SIGINT, else the signal's name (``SIGTERM``)."""
        return "Ctrl-C" if self.signum == signal.SIGINT else signal.Signals(self.signum).name

    @property
    def exit_code(self) -> int:
        """The shell's convention: 128 + the signal number (130 for Ctrl-C, 143 for SIGTERM)."""
        return EXIT_CODES.get(signal.Signals(self.signum), 128 + self.signum)


class InterruptWatch:
    """Context manager (main thread only): SIGINT and SIGTERM are recorded, not raised.

    While active, the first watched signal is kept in ``received`` (later ones are
    recorded too, but the first one decides). ``check`` raises ``Interrupted`` once
    one has arrived; ``pause`` sleeps and returns early (raising ``Interrupted``)
    when one arrives. On exit the previous handlers and wakeup fd are restored.
    """

    def __init__(self) -> None:
        self.received: int | None = None
        self._previous: dict[int, Any] = {}
        self._previous_wakeup_fd = -1
        self._reader: socket.socket | None = None
        self._writer: socket.socket | None = None

    def __enter__(self) -> Self:
        self._reader, self._writer = socket.socketpair()
        for end in (self._reader, self._writer):
            end.setblocking(False)
        # The C-level handler writes the signal's number here before any Python runs,
        # so a pause wakes even while the interpreter is busy elsewhere.
        self._previous_wakeup_fd = signal.set_wakeup_fd(
            self._writer.fileno(), warn_on_full_buffer=False
        )
        for signum in WATCHED:
            self._previous[signum] = signal.signal(signum, self._record)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        self._previous.clear()
        signal.set_wakeup_fd(self._previous_wakeup_fd)
        for end in (self._reader, self._writer):
            if end is not None:
                end.close()
        self._reader = self._writer = None

    def _record(self, signum: int, frame: FrameType | None) -> None:
        # Never raise here: this runs wherever the main thread was (see the module doc).
        if self.received is None:
            self.received = signum

    def check(self) -> None:
        """Raise ``Interrupted`` if a watched signal has arrived; else return at once."""
        if self.received is not None:
            raise Interrupted(self.received)

    def pause(self, seconds: float) -> None:
        """Sleep ``seconds``; raise ``Interrupted`` as soon as a watched signal arrives."""
        self.check()
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            assert self._reader is not None, "pause() outside the watch's with block"
            readable, _, _ = select.select([self._reader], [], [], left)
            if readable:
                with contextlib.suppress(BlockingIOError, InterruptedError):
                    self._reader.recv(512)  # drained: the next signal wakes us again
            self.check()
