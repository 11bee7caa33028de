"""TCP checks: the target accepts a connection within the timeout."""

from __future__ import annotations

import asyncio
import contextlib
import time

from vigil.checks.base import Check, Probe
from vigil.checks.tcp.config import TcpCheckConfig


class TcpCheck(Check):
    type_name = "tcp"
    config: TcpCheckConfig

    async def probe(self) -> Probe:
        cfg = self.config
        started = time.perf_counter()
        try:
            _, writer = await asyncio.wait_for(
                asyncio.open_connection(cfg.host, cfg.port), timeout=cfg.timeout
            )
        except TimeoutError:
            return Probe(False, f"no connection within {cfg.timeout:g}s", _ms(started))
        except ConnectionRefusedError:
            return Probe(False, "connection refused", _ms(started))
        except OSError as exc:
            return Probe(False, f"connection failed: {exc.strerror or exc}", _ms(started))
        latency_ms = _ms(started)
        writer.close()
        with contextlib.suppress(OSError, TimeoutError):
            await asyncio.wait_for(writer.wait_closed(), timeout=1)
        return Probe(True, "connected", latency_ms)


def _ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000
