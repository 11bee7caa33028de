"""DNS checks with dnspython: one query, the answer judged.

The query goes to ``resolver`` or, by default, to the system's resolvers (from
``/etc/resolv.conf``, read once per container), each in turn until one
answers within the check's ``timeout``; over UDP, retried over TCP when the
answer is truncated. Latency is the time of the query that was answered.

Judged, in order: the response code (``expect_rcode``, default NOERROR); with
NOERROR expected, at least one record of ``record_type`` in the answer; every
value of ``expect`` among the answers; ``expect_matches`` matching one answer.
Answers are compared as ``config.normalise_answer`` writes them (addresses
compressed, names in lower case without the final dot, MX as ``10 host``, TXT
strings joined), sorted.
"""

from __future__ import annotations

import functools
import re
import time
from typing import Any

import dns.asyncquery
import dns.exception
import dns.message
import dns.rcode
import dns.rdatatype
import dns.resolver

from vigil.checks.base import Check, Probe
from vigil.checks.dns.config import DnsCheckConfig, normalise_answer, resolver_address

SHOWN_ANSWERS = 10  # answers kept in details and quoted in a reason


class DnsCheck(Check):
    config: DnsCheckConfig

    async def probe(self) -> Probe:
        cfg = self.config
        servers = [resolver_address(cfg.resolver)] if cfg.resolver else system_nameservers()
        if not servers:
            return Probe(False, "no resolver: none given and none in /etc/resolv.conf")
        query = dns.message.make_query(cfg.query, dns.rdatatype.from_text(cfg.record_type))
        deadline = time.perf_counter() + cfg.timeout
        failures: list[str] = []
        for address, port in servers:
            left = deadline - time.perf_counter()
            if left <= 0:
                break
            started = time.perf_counter()
            try:
                response, _ = await dns.asyncquery.udp_with_fallback(
                    query, address, timeout=left, port=port
                )
            except dns.exception.Timeout:
                failures.append(f"{_where(address, port)}: no answer")
                continue
            except (OSError, dns.exception.DNSException) as exc:
                failures.append(
                    f"{_where(address, port)}: {self.excerpt(str(exc) or type(exc).__name__)}"
                )
                continue
            latency_ms = (time.perf_counter() - started) * 1000
            return self._judge_response(response, latency_ms, _where(address, port))
        tried = "; ".join(failures) or "no time left"
        return Probe(False, f"no answer within {cfg.timeout:g}s ({tried})", cfg.timeout * 1000)

    def _judge_response(
        self, response: dns.message.Message, latency_ms: float, where: str
    ) -> Probe:
        cfg = self.config
        rcode = dns.rcode.to_text(response.rcode())
        wanted = dns.rdatatype.from_text(cfg.record_type)
        answers = sorted(  # an RRset has no order: sorted, results and reasons are stable
            _answer(cfg.record_type, rdata)
            for rrset in response.answer
            if rrset.rdtype == wanted
            for rdata in rrset
        )
        details: dict[str, Any] = {
            "resolver": where,
            "rcode": rcode,
            # what the server sent, so each as a short printable excerpt
            "answers": [self.excerpt(answer) for answer in answers[:SHOWN_ANSWERS]],
        }
        shown = self._shown(answers)
        if rcode != cfg.expect_rcode:
            reason = f"{cfg.query} {cfg.record_type}: {rcode}, expected {cfg.expect_rcode}"
            return Probe(False, reason, latency_ms, details)
        if cfg.expect_rcode == "NOERROR" and not answers:
            reason = f"{cfg.query} {cfg.record_type}: no {cfg.record_type} records (NOERROR, empty)"
            return Probe(False, reason, latency_ms, details)
        missing = [value for value in cfg.expected_answers if value not in answers]
        if missing:
            reason = f"{cfg.query} {cfg.record_type}: missing {self._shown(missing)} (got {shown})"
            return Probe(False, reason, latency_ms, details)
        if cfg.expect_matches is not None and not any(
            re.search(cfg.expect_matches, answer) for answer in answers
        ):
            reason = (
                f"{cfg.query} {cfg.record_type}: no answer matches /{cfg.expect_matches}/ "
                f"(got {shown})"
            )
            return Probe(False, reason, latency_ms, details)
        if not answers:
            return Probe(True, f"{cfg.query} {cfg.record_type}: {rcode}", latency_ms, details)
        return Probe(True, f"{cfg.query} {cfg.record_type}: {shown}", latency_ms, details)

    def _shown(self, values: list[str]) -> str:
        if not values:
            return "nothing"
        more = f" and {len(values) - SHOWN_ANSWERS} more" if len(values) > SHOWN_ANSWERS else ""
        return self.excerpt(", ".join(values[:SHOWN_ANSWERS])) + more


def _answer(record_type: str, rdata: Any) -> str:
    if record_type == "TXT":
        return b"".join(rdata.strings).decode("utf-8", "replace")
    return normalise_answer(record_type, rdata.to_text())


def _where(address: str, port: int) -> str:
    return f"[{address}]:{port}" if ":" in address else f"{address}:{port}"


@functools.cache  # warm-start cache: the container's resolv.conf does not change
def system_nameservers() -> list[tuple[str, int]]:
    """The system's resolvers (``/etc/resolv.conf``), as (address, port)."""
    try:
        resolver = dns.resolver.Resolver(configure=True)
    except dns.resolver.NoResolverConfiguration:
        return []
    return [(str(address), resolver.port) for address in resolver.nameservers]
