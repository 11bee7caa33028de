"""Loopback ports and descriptor limits for the local targets (development only)."""

from __future__ import annotations

import contextlib
import socket
from typing import Any, Self

LOCALHOST = "127.0.0.1"


def free_port(host: str = LOCALHOST) -> int:
    """Return a TCP port on ``host`` that nothing listens on right now.

    The kernel picks the port; it is released before returning, so another
    process could take it in between (callers that bind it should retry).
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def refused_port(host: str = LOCALHOST, attempts: int = 20) -> int:
    """Return a port on ``host`` where a connection attempt is refused right now.

    Checked by connecting: the port is only returned after a real
    ``ConnectionRefusedError``.
    """
    for _ in range(attempts):
        port = free_port(host)
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.settimeout(1.0)
            try:
                sock.connect((host, port))
            except ConnectionRefusedError:
                return port
            except OSError:
                continue
    raise RuntimeError(f"no refused port found on {host} after {attempts} attempts")


def raise_fd_limit(minimum: int = 4096) -> int:
    """Raise this process's soft open-file limit to at least ``minimum``.

    Never above the hard limit and never lowers it. Returns the soft limit in
    effect afterwards. Hundreds of concurrent loopback connections need two
    descriptors each when client and server share the process.
    """
    try:
        import resource
    except ImportError:  # not POSIX
        return minimum
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < minimum:
        target = minimum if hard == resource.RLIM_INFINITY else min(minimum, hard)
        if target > soft:
            with contextlib.suppress(ValueError, OSError):
                resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


class Served:
    """A local target used as a context manager: ``start()`` on enter, ``close()`` on exit
    (and when ``start()`` fails part-way, so nothing it began is left behind)."""

    def start(self) -> Any:  # pragma: no cover - every target defines it
        raise NotImplementedError

    def close(self) -> None:  # pragma: no cover - every target defines it
        raise NotImplementedError

    @property
    def host(self) -> str:
        """The address it listens on: always ``127.0.0.1``."""
        return LOCALHOST

    def __enter__(self) -> Self:
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
