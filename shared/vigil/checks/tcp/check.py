"""TCP checks: connect (optionally TLS), optionally ``send`` text and ``expect`` a reply.

Latency runs from the start of the connection to the end of the exchange:
connected (and the TLS handshake done), or, with ``expect``, the reply
matched. ``details.timings_ms`` splits it into ``connect``, ``tls`` and
``response`` (from sending, or from connecting when nothing is sent, to the
match). ``timeout`` bounds the whole exchange. The reply is read until the
regex matches, the peer closes, the timeout ends or ``MAX_READ_BYTES`` were
read; a failure quotes at most a short printable excerpt of it.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import ssl
import time
from typing import Any

from vigil.checks.base import Check, Probe
from vigil.checks.tcp.config import TcpCheckConfig
from vigil.checks.tls import certificate_expiry, expiry_finding

MAX_READ_BYTES = 65536


class TcpCheck(Check):
    config: TcpCheckConfig

    async def probe(self) -> Probe:
        cfg = self.config
        started = time.perf_counter()
        deadline = started + cfg.timeout
        timings: dict[str, float] = {}
        details: dict[str, Any] = {"timings_ms": timings}
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection(cfg.host, cfg.port), timeout=cfg.timeout
            )
        except TimeoutError:
            return Probe(False, f"no connection within {cfg.timeout:g}s", _ms(started), details)
        except ConnectionRefusedError:
            return Probe(False, "connection refused", _ms(started), details)
        except OSError as exc:
            reason = f"connection failed: {exc.strerror or exc}"
            return Probe(False, reason, _ms(started), details)
        timings["connect"] = round(_ms(started), 1)
        try:
            return await self._exchange(reader, writer, started, deadline, details)
        finally:
            writer.close()
            with contextlib.suppress(OSError, TimeoutError, ssl.SSLError):
                await asyncio.wait_for(writer.wait_closed(), timeout=1)

    async def _exchange(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        started: float,
        deadline: float,
        details: dict[str, Any],
    ) -> Probe:
        cfg = self.config
        timings = details["timings_ms"]
        warning = None
        if cfg.tls:
            failed = await self._start_tls(writer, deadline)
            timings["tls"] = round(_ms(started) - timings["connect"], 1)
            if failed is not None:
                return Probe(False, failed, _ms(started), details)
            finding = expiry_finding(certificate_expiry(writer.get_extra_info("peercert")), cfg)
            details.update(finding.details)
            if finding.failure is not None:
                return Probe(False, finding.failure, _ms(started), details)
            warning = finding.warning
        exchange_started = time.perf_counter()
        what = "connected" + (" with TLS" if cfg.tls else "")
        try:
            if cfg.send is not None:
                writer.write(cfg.send.encode())
                await asyncio.wait_for(writer.drain(), timeout=_left(deadline))
                what = f"{what}, sent {len(cfg.send.encode())} bytes"
            if cfg.expect is not None:
                missing = await self._expect(reader, deadline)
                timings["response"] = round(_ms(exchange_started), 1)
                if missing is not None:
                    return Probe(False, missing, _ms(started), details)
                what = f"{what}, received /{cfg.expect}/"
        except (TimeoutError, ConnectionError, OSError) as exc:
            if isinstance(exc, TimeoutError):
                reason = f"timed out after {cfg.timeout:g}s while sending"
            else:
                reason = f"connection lost while sending: {getattr(exc, 'strerror', None) or exc}"
            return Probe(False, reason, _ms(started), details)
        return Probe(True, what, _ms(started), details, warning=warning)

    async def _start_tls(self, writer: asyncio.StreamWriter, deadline: float) -> str | None:
        """Upgrade the connection to TLS; return why it failed, or None."""
        cfg = self.config
        context = self.resources.ssl_context(True, cfg.ca_bundle)
        try:
            await asyncio.wait_for(
                writer.start_tls(context, server_hostname=cfg.server_name or cfg.host),
                timeout=_left(deadline),
            )
        except TimeoutError:
            return f"TLS handshake not done within {cfg.timeout:g}s"
        except ssl.SSLCertVerificationError as exc:
            return f"TLS certificate verification failed: {exc.verify_message}"
        except ssl.SSLError as exc:
            return f"TLS handshake failed: {exc.reason or type(exc).__name__}"
        except (ConnectionError, OSError) as exc:
            return f"connection lost during the TLS handshake: {exc.strerror or exc}"
        return None

    async def _expect(self, reader: asyncio.StreamReader, deadline: float) -> str | None:
        """Read until ``expect`` matches; return why it did not, or None."""
        cfg = self.config
        assert cfg.expect is not None
        pattern = re.compile(cfg.expect.encode())
        received = bytearray()
        while True:
            if pattern.search(received):
                return None
            if len(received) >= MAX_READ_BYTES:
                why = f"not in the first {MAX_READ_BYTES} bytes"
                break
            try:
                chunk = await asyncio.wait_for(
                    reader.read(MAX_READ_BYTES - len(received)), timeout=_left(deadline)
                )
            except TimeoutError:
                why = f"not received within {cfg.timeout:g}s"
                break
            except (ConnectionError, OSError, ssl.SSLError) as exc:
                why = f"connection lost ({type(exc).__name__})"
                break
            if not chunk:
                why = "the peer closed the connection"
                break
            received += chunk
        got = f"{len(received)} bytes: {self.excerpt(bytes(received))!r}" if received else "nothing"
        return f"expected /{cfg.expect}/: {why} (got {got})"


def _left(deadline: float) -> float:
    return max(0.0, deadline - time.perf_counter())


def _ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000
