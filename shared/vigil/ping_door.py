"""The ping function's door: one Function URL request, one ping recorded or refused.

``PingDoor.answer(event)`` takes the Function URL event (payload 2.0) and returns its
response, in this order:

1. the method: GET, HEAD or POST, else ``405``;
2. the path (``vigil.pings.parse_path``): ``404`` for no ping URL, ``400`` for a bad
   last segment; then ``?rid=``: ``400`` unless 1-64 of ``[A-Za-z0-9_.:-]``;
3. the token, computed for the path's group and check and compared in constant time
   whether or not the check exists: a wrong token, an unknown group and a check that
   is not ``type: heartbeat`` all get the same ``404 not found``;
4. the ping (its time: ``requestContext.timeEpoch``; of a POST body, the excerpt)
   recorded and counted into the check's summary: two writes (``PingStore.count``);
5. ``200 OK`` (HEAD: no body).

A refused ping writes nothing. A ping that cannot be served for a fault on Vigil's
side (the configuration is not YAML, the ping key cannot be read, DynamoDB fails)
gets ``503``, which ping clients retry (``curl --retry``), and an error in the log.

Each request logs one line: the check, what the ping said, its rid and its answer.
Never the token nor the path (which holds it); a refused ping names its check only
when the configuration has it, since a mistyped URL may carry a token in any segment.
"""

from __future__ import annotations

import base64
import binascii
import logging
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

from vigil.pings import (
    EXCERPT_CHARS,
    RID,
    Ping,
    PingPathError,
    excerpt,
    parse_path,
    token_matches,
)
from vigil.store.pings import PingStore

logger = logging.getLogger(__name__)

METHODS = ("GET", "HEAD", "POST")
# Base64 characters that hold the bytes ``excerpt`` reads (4 UTF-8 bytes per character
# at most): a 6 MB body is never decoded whole.
BASE64_PREFIX_CHARS = -(-EXCERPT_CHARS * 4 // 3) * 4
HEADERS = {
    "content-type": "text/plain; charset=utf-8",
    "cache-control": "no-store",
    "x-content-type-options": "nosniff",
}


class DoorAnswer(NamedTuple):
    """What the door says: an HTTP status and a short text."""

    status: int
    text: str

    def response(self, method: str) -> dict[str, Any]:
        """The Function URL response (HEAD: the same without a body)."""
        headers = dict(HEADERS)
        if self.status == 405:
            headers["allow"] = ", ".join(METHODS)
        return {
            "statusCode": self.status,
            "headers": headers,
            "body": "" if method == "HEAD" else self.text,
            "isBase64Encoded": False,
        }


OK = DoorAnswer(200, "OK")
NOT_FOUND = DoorAnswer(404, "not found")
UNAVAILABLE = DoorAnswer(503, "unavailable: the ping was not recorded, try again")
METHOD_NOT_ALLOWED = DoorAnswer(405, "method not allowed: use GET, HEAD or POST")
BAD_RID = DoorAnswer(400, "bad ping: rid must be 1-64 of A-Z a-z 0-9 _ . : -")
NO_TIME = DoorAnswer(400, "bad request: the event has no requestContext.timeEpoch")


class PingDoor:
    """Answers ping requests for the heartbeat checks ``heartbeats()`` names.

    ``key()``: the ping key's bytes; ``heartbeats()``: the ``(group, check)`` of every
    ``type: heartbeat`` check; both may raise (a fault: ``503``). ``store``: where pings
    are kept; ``history_days``: how long a ping's event is kept.
    """

    def __init__(
        self,
        *,
        key: Callable[[], bytes],
        heartbeats: Callable[[], frozenset[tuple[str, str]]],
        store: PingStore,
        history_days: int,
    ):
        self.key = key
        self.heartbeats = heartbeats
        self.store = store
        self.history_days = history_days

    def answer(self, event: Mapping[str, Any]) -> dict[str, Any]:
        """The Function URL response to ``event``."""
        http = (event.get("requestContext") or {}).get("http") or {}
        method = str(http.get("method") or "").upper()
        return self._answer(event, method).response(method)

    def _answer(self, event: Mapping[str, Any], method: str) -> DoorAnswer:
        if method not in METHODS:
            return _refused(METHOD_NOT_ALLOWED, "method not allowed")
        try:
            group, check, given, kind, exit_status = parse_path(str(event.get("rawPath") or ""))
        except PingPathError as exc:
            return _refused(DoorAnswer(exc.status, str(exc)), "not a ping URL")
        rid = (event.get("queryStringParameters") or {}).get("rid")
        # fullmatch: RID's `$` would let a trailing newline through (rid=a%0A)
        if rid is not None and not RID.fullmatch(rid):
            return _refused(BAD_RID, "bad rid")
        at_ms = (event.get("requestContext") or {}).get("timeEpoch")
        if not isinstance(at_ms, int) or isinstance(at_ms, bool) or at_ms <= 0:
            return _refused(NO_TIME, "no request time")
        try:
            heartbeats, key = self.heartbeats(), self.key()
        except Exception:
            logger.exception("ping not recorded: the ping function cannot read its setup")
            return UNAVAILABLE
        known = (group, check) in heartbeats
        # Always computed and compared, known check or not: the time taken tells nothing.
        matches = given.isascii() and token_matches(key, group, check, given)
        if not (known and matches):
            where = {"group": group, "check": check} if known else {}
            return _refused(NOT_FOUND, "wrong token" if known else "unknown check", **where)
        ping = Ping(
            group=group,
            check=check,
            kind=kind,
            exit_status=exit_status,
            rid=rid,
            at_ms=at_ms,
            excerpt=body_excerpt(event) if method == "POST" else None,
        )
        try:
            self.store.count(ping, at_ms // 1000 + self.history_days * 86400)
        except Exception:
            logger.exception(
                "ping not recorded: DynamoDB failed", extra={"group": group, "check": check}
            )
            return UNAVAILABLE
        logger.info(
            "ping",
            extra={
                "group": group,
                "check": check,
                "kind": kind,
                "exit_status": exit_status,
                "rid": rid,
                "excerpt_chars": len(ping.excerpt or ""),
                "status": OK.status,
            },
        )
        return OK


def body_excerpt(event: Mapping[str, Any]) -> str | None:
    """The excerpt of the request's body (``vigil.pings.excerpt``), reading only its start.

    A base64 body (``isBase64Encoded``) has only the prefix that holds the excerpt's
    bytes decoded; one that is not base64 keeps no excerpt.
    """
    body = event.get("body")
    if not body or not isinstance(body, str):
        return None
    if not event.get("isBase64Encoded"):
        # Already text: its first characters, each at most 4 UTF-8 bytes.
        return excerpt(body[:EXCERPT_CHARS].encode("utf-8", errors="replace"))
    prefix = body[:BASE64_PREFIX_CHARS]
    prefix = prefix[: len(prefix) - len(prefix) % 4]
    try:
        return excerpt(base64.b64decode(prefix, validate=True))
    except (binascii.Error, ValueError):
        return None


def _refused(answer: DoorAnswer, reason: str, **where: str) -> DoorAnswer:
    logger.info("ping refused", extra={"status": answer.status, "reason": reason, **where})
    return answer
