"""Heartbeat pings in DynamoDB: every ping kept as an event, and each check's summary.

Items, in the runner's table, one partition per heartbeat check (``HB#<group>/<check>``,
so a check's pings do not move when its group's ``shards`` change):

- ``E#<ping ms>#<id>``: one ping (kind, exit status, rid, excerpt), written by it,
  expiring with the history;
- ``LATEST``: the check's ``PingSummary`` (last success, unfinished starts, last
  failure, last duration, last excerpt), rewritten by each ping.

A ping is a consistent read of the summary and two puts: its event, then the summary
with the ping counted in, written only if no other ping rewrote it meanwhile (a
version number, ``v``); when one did, the summary is read and counted again
(``COUNT_ATTEMPTS`` in all), so two pings of one check within milliseconds are both
counted. The runner reads the summaries of a run's heartbeat checks in one
``BatchGetItem``; a run that finds a ping newer than its own scheduled time
(a late run) replays the check's events up to its time instead.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from vigil.clients import LazyClient
from vigil.pings import Ping, PingSummary
from vigil.store.batch import batch_get

LATEST_SK = "LATEST"
REPLAYED = 200  # events read back at most to judge a late run
COUNT_ATTEMPTS = 5  # reads and conditional writes of a summary that other pings rewrite


class PingNotCounted(RuntimeError):
    """Other pings of the same check rewrote its summary at every attempt."""


def ping_key(group: str, check: str) -> str:
    return f"HB#{group}/{check}"


class PingStore:
    """Pings on table ``table_name``; ``client`` an optional boto3 DynamoDB client."""

    client = LazyClient("dynamodb")

    def __init__(self, table_name: str, *, client: Any = None):
        self.table_name = table_name
        self.client = client

    def count(self, ping: Ping, expires_at: int) -> PingSummary:
        """Store ``ping`` as an event and count it into its check's summary: two writes
        (more only while other pings of the same check are counted at the same moment).
        Returns the summary written; ``PingNotCounted`` after ``COUNT_ATTEMPTS``."""
        pk = ping_key(ping.group, ping.check)
        item = self._latest(pk)  # read first: a ping that cannot be read writes nothing
        event: dict[str, Any] = {"k": ping.kind}
        if ping.exit_status is not None:
            event["x"] = ping.exit_status
        if ping.rid is not None:
            event["r"] = ping.rid
        if ping.excerpt is not None:
            event["e"] = ping.excerpt
        self.client.put_item(
            TableName=self.table_name,
            Item={
                "pk": {"S": pk},
                "sk": {"S": f"E#{ping.at_ms:013d}#{uuid.uuid4().hex[:8]}"},
                "ping": {"S": json.dumps(event, separators=(",", ":"))},
                "expires_at": {"N": str(expires_at)},
            },
        )
        conflict = self.client.exceptions.ConditionalCheckFailedException
        for attempt in range(COUNT_ATTEMPTS):
            if attempt:
                item = self._latest(pk)
            version = int(item["v"]["N"]) if item and "v" in item else 0
            summary = _summary(item).apply(ping)
            try:
                self.client.put_item(
                    TableName=self.table_name,
                    Item={
                        "pk": {"S": pk},
                        "sk": {"S": LATEST_SK},
                        "summary": {"S": json.dumps(summary.to_item(), separators=(",", ":"))},
                        "v": {"N": str(version + 1)},
                    },
                    ConditionExpression="attribute_not_exists(v) OR v = :v",
                    ExpressionAttributeValues={":v": {"N": str(version)}},
                )
            except conflict:
                continue
            return summary
        raise PingNotCounted(
            f"{ping.group}/{ping.check}: the summary was rewritten by other pings "
            f"{COUNT_ATTEMPTS} times in a row"
        )

    def _latest(self, pk: str) -> dict[str, Any] | None:
        return self.client.get_item(
            TableName=self.table_name,
            Key={"pk": {"S": pk}, "sk": {"S": LATEST_SK}},
            ConsistentRead=True,
        ).get("Item")

    def summary(self, group: str, check: str) -> PingSummary:
        """One check's summary, read consistently (what the ping function updates)."""
        return _summary(self._latest(ping_key(group, check)))

    def summaries(self, group: str, checks: list[str]) -> dict[str, PingSummary]:
        """The summaries of ``checks`` of ``group``, in as few requests as can be."""
        keys = [{"pk": {"S": ping_key(group, check)}, "sk": {"S": LATEST_SK}} for check in checks]
        found = batch_get(self.client, self.table_name, keys, consistent=True)
        return {check: _summary(found.get((ping_key(group, check), LATEST_SK))) for check in checks}

    def replay(self, group: str, check: str, until_ms: int) -> PingSummary:
        """The summary as it stood at ``until_ms``: the check's newest events up to then
        (at most ``REPLAYED``), counted in order."""
        response = self.client.query(
            TableName=self.table_name,
            KeyConditionExpression="pk = :pk AND sk BETWEEN :from AND :to",
            ExpressionAttributeValues={
                ":pk": {"S": ping_key(group, check)},
                ":from": {"S": "E#"},
                ":to": {"S": f"E#{until_ms:013d}#~"},
            },
            ScanIndexForward=False,
            Limit=REPLAYED,
        )
        summary = PingSummary()
        for item in reversed(response.get("Items", [])):
            _, at_ms, _ = item["sk"]["S"].split("#")
            event = json.loads(item["ping"]["S"])
            summary = summary.apply(
                Ping(
                    group=group,
                    check=check,
                    kind=event["k"],
                    exit_status=event.get("x"),
                    rid=event.get("r"),
                    at_ms=int(at_ms),
                    excerpt=event.get("e"),
                )
            )
        return summary


def _summary(item: dict[str, Any] | None) -> PingSummary:
    if not item:
        return PingSummary()
    return PingSummary.from_item(json.loads(item["summary"]["S"]))
