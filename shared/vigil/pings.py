"""Heartbeat pings: their URLs, what each one says, what a check keeps of them, and how
a heartbeat check is judged from that at a run's scheduled time.

A job reports in with ``<ping url>/<group>/<check>/<token>`` and an optional last
segment: ``start``, ``fail``, ``log`` or an exit status ``0``-``255`` (0 is a
success, any other a failure); ``?rid=<run id>`` pairs a start with its end. The
token is the first 32 characters of base64url (no padding) of HMAC-SHA256, keyed
with the ping key, over ``<group>/<check>``: nothing per check is stored, and a new
key revokes every URL.

Pure functions only (the standard library and Vigil's time helpers): the ping function
imports this module
and nothing of the checks' machinery; the runner's heartbeat check judges with it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

from vigil.durations import format_duration
from vigil.times import iso

TOKEN_CHARS = 32
EXCERPT_CHARS = 1000
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
RID = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
STARTS_KEPT = 8  # runs started and not finished yet, paired by rid (concurrent runs of a job)

SUCCESS, START, FAIL, LOG = "success", "start", "fail", "log"


def token(key: bytes, group: str, check: str) -> str:
    """The URL token of ``group/check`` under ``key`` (the ping key secret's bytes)."""
    digest = hmac.new(key, f"{group}/{check}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")[:TOKEN_CHARS]


def token_matches(key: bytes, group: str, check: str, given: str) -> bool:
    """Compared in constant time: a wrong token takes as long as a right one."""
    return hmac.compare_digest(token(key, group, check).encode(), given.encode())


class PingPathError(ValueError):
    """A ping path that cannot be a ping: ``status`` 404 (no such URL) or 400 (bad segment)."""

    def __init__(self, message: str, status: int):
        super().__init__(message)
        self.status = status


class Ping(NamedTuple):
    """One ping: which check, what it says (``kind`` and an exit status), when (epoch ms)."""

    group: str
    check: str
    kind: str  # success, start, fail or log
    exit_status: int | None
    rid: str | None
    at_ms: int
    excerpt: str | None = None


def parse_path(path: str) -> tuple[str, str, str, str, int | None]:
    """``/<group>/<check>/<token>[/<suffix>]`` -> group, check, token, kind, exit status.

    ``PingPathError`` with status 404 for a path that names no ping URL (too few or
    too many segments, a name or token of the wrong shape), 400 for a last segment
    that is none of ``start``, ``fail``, ``log`` or ``0``-``255``.
    """
    parts = path.strip("/").split("/")
    if len(parts) not in (3, 4):
        raise PingPathError("not found", 404)
    group, check, given = parts[:3]
    if not (NAME.match(group) and NAME.match(check)) or len(given) != TOKEN_CHARS:
        raise PingPathError("not found", 404)
    if len(parts) == 3:
        return group, check, given, SUCCESS, None
    suffix = parts[3]
    if suffix in (START, FAIL, LOG):
        return group, check, given, suffix, None
    if suffix.isdigit() and len(suffix) <= 3 and int(suffix) <= 255:
        status = int(suffix)
        return group, check, given, SUCCESS if status == 0 else FAIL, status
    raise PingPathError(
        "bad ping: the last segment must be start, fail, log or an exit status 0-255", 400
    )


def excerpt(body: bytes | None) -> str | None:
    """The first ``EXCERPT_CHARS`` characters of a body (UTF-8, undecodable bytes replaced),
    or None for no body; the rest is accepted and not kept."""
    if not body:
        return None
    text = body[: EXCERPT_CHARS * 4].decode("utf-8", errors="replace")
    return text[:EXCERPT_CHARS]


class PingSummary(NamedTuple):
    """What a heartbeat check keeps of its pings (one item, rewritten by each ping).

    Times are epoch milliseconds of the pings (``requestContext.timeEpoch``).
    ``starts``: runs started and not yet finished, by rid (``""`` without one).
    ``duration_ms``: of the last finished run (its start to its success).
    ``failure``: the last ``fail`` or non-zero exit status, with its excerpt.
    """

    last_ping_ms: int | None = None
    last_kind: str | None = None
    success_ms: int | None = None
    starts: tuple[tuple[str, int], ...] = ()  # (rid, started ms), oldest first
    duration_ms: int | None = None
    failure_ms: int | None = None
    exit_status: int | None = None
    excerpt: str | None = None  # of the latest ping that had a body
    failure_excerpt: str | None = None

    def apply(self, ping: Ping) -> PingSummary:
        """The summary once ``ping`` is counted in (pure).

        Monotonic: a ping older than what the summary already holds (two pings of one
        check counted in the other order) ends its run but moves no time back.
        """
        at = ping.at_ms
        summary = self
        if self.last_ping_ms is None or at >= self.last_ping_ms:
            summary = summary._replace(last_ping_ms=at, last_kind=ping.kind)
            if ping.excerpt is not None:
                summary = summary._replace(excerpt=ping.excerpt)
        rid = ping.rid or ""
        started = dict(self.starts).get(rid)
        if started is not None and started > at:  # a later run of the same rid: not this one's
            started = None
        others = self.starts if started is None else tuple(r for r in self.starts if r[0] != rid)
        if ping.kind == START:  # the oldest unfinished runs beyond STARTS_KEPT are forgotten
            if rid in dict(self.starts) and started is None:
                return summary  # a later start of the same rid is already counted
            if not rid and self.success_ms is not None and at < self.success_ms:
                return summary  # without a rid, a later success has ended this run
            starts = tuple(sorted((*others, (rid, at)), key=lambda run: run[1]))
            return summary._replace(starts=starts[-STARTS_KEPT:])
        if ping.kind == SUCCESS:
            if self.success_ms is not None and at < self.success_ms:
                return summary._replace(starts=others)
            return summary._replace(
                success_ms=at,
                starts=others,
                duration_ms=at - started if started is not None else self.duration_ms,
            )
        if ping.kind == FAIL:
            if self.failure_ms is not None and at < self.failure_ms:
                return summary._replace(starts=others)
            return summary._replace(
                failure_ms=at,
                exit_status=ping.exit_status,
                failure_excerpt=ping.excerpt,
                starts=others,
            )
        return summary  # log: recorded, changes no status

    def to_item(self) -> dict[str, Any]:
        """As JSON-able data (short keys, None left out)."""
        names = {
            "last_ping_ms": "p",
            "last_kind": "k",
            "success_ms": "s",
            "starts": "r",
            "duration_ms": "d",
            "failure_ms": "f",
            "exit_status": "x",
            "excerpt": "e",
            "failure_excerpt": "fe",
        }
        found = {names[k]: v for k, v in self._asdict().items() if v not in (None, ())}
        if self.starts:
            found["r"] = [list(run) for run in self.starts]
        return found

    @classmethod
    def from_item(cls, data: dict[str, Any] | None) -> PingSummary:
        if not data:
            return cls()
        return cls(
            last_ping_ms=data.get("p"),
            last_kind=data.get("k"),
            success_ms=data.get("s"),
            starts=tuple((str(rid), int(at)) for rid, at in data.get("r") or ()),
            duration_ms=data.get("d"),
            failure_ms=data.get("f"),
            exit_status=data.get("x"),
            excerpt=data.get("e"),
            failure_excerpt=data.get("fe"),
        )


class Verdict(NamedTuple):
    """A heartbeat check at one scheduled time: ``status`` healthy, degraded or unhealthy."""

    status: str
    reason: str
    latency_ms: float | None
    details: dict[str, Any]


def judge(
    summary: PingSummary,
    at: datetime,
    *,
    expected_after: Any,
    grace: timedelta,
    max_duration: timedelta,
    first_seen: datetime,
) -> Verdict:
    """The check at scheduled time ``at`` from ``summary`` (its pings up to ``at``).

    ``expected_after(moment) -> datetime``: when a ping is due after a success at
    ``moment`` (``period`` later, or the cron's next time). A check never pinged
    counts from ``first_seen`` (the first run of its group that had it).
    """
    success = _time(summary.success_ms)
    expected = expected_after(success or first_seen)
    details: dict[str, Any] = {
        "last_ping": _iso(_time(summary.last_ping_ms)),
        "last_success": _iso(success),
        "expected_by": _iso(expected),
        "exit_status": summary.exit_status,
        "duration_ms": summary.duration_ms,
        "excerpt": summary.excerpt,
    }
    latency = float(summary.duration_ms) if summary.duration_ms is not None else None
    failure = _time(summary.failure_ms)
    if failure is not None and (success is None or failure > success):
        status = (
            "failed"
            if summary.exit_status is None
            else (f"failed (exit status {summary.exit_status})")
        )
        first_line = (summary.failure_excerpt or "").strip().splitlines()[:1]
        reason = f"{status}: {first_line[0]}" if first_line else status
        return Verdict("unhealthy", reason, latency, details)
    started = [_time(ms) for _, ms in summary.starts]
    stuck = [s for s in started if s is not None and (success is None or s > success)]
    if stuck and min(stuck) < at - max_duration:
        begun = min(stuck)
        reason = (
            f"started at {_iso(begun)}, not finished within "
            f"{format_duration(max_duration.total_seconds())}"
        )
        return Verdict("unhealthy", reason, latency, details)
    if at <= expected:
        return Verdict("healthy", "on time" if success else "not due yet", latency, details)
    if at <= expected + grace:
        return Verdict("degraded", f"late: expected by {_iso(expected)}", latency, details)
    since = _iso(success) if success else "never"
    return Verdict("unhealthy", f"no ping since {since}", latency, details)


def _time(ms: int | None) -> datetime | None:
    return None if ms is None else datetime.fromtimestamp(ms / 1000, UTC)


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else iso(moment)
