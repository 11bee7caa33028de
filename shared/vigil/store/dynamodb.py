"""The DynamoDB store: one table, items designed for write cost.

Items of a group shard share the partition key ``G#<group>#<shard>``:

- ``STATE``: version, the outbox of pending alerts (compressed JSON, with its
  length in ``pending``) and a compressed blob of every check's state, the
  open hour/day rollups and the fence of counted runs; written once per run
  (twice when alerts were published), conditional on the version read.
- ``RUN#<scheduled time>``: compressed results of one counted run, with a TTL;
  written once per run, after the state that counted it.
- ``HOUR#<yyyy-mm-ddThh>`` / ``DAY#<yyyy-mm-dd>``: compressed rollups of a
  completed period, with a TTL; written once per period, in one batch.
- ``COUNTS#HOUR`` / ``COUNTS#DAY``: the shard's ``CountHistory`` (availability
  counts of the last 24 hours / 90 days and the transitions in them, no
  sketches), rewritten in the same batch as the rollups of the period it absorbs.
  The status API reads these instead of 90 day items.

A monitor writes forever, so results are packed into one item per run rather
than one per check, and the blobs are zlib-compressed JSON: a run of 200 checks
costs a few write units instead of hundreds.
"""

from __future__ import annotations

import contextlib
import json
import logging
import zlib
from dataclasses import replace
from typing import Any

from vigil.clients import LazyClient
from vigil.exceptions import StoreConflictError
from vigil.policy.memory import AlertMemory
from vigil.results import CheckResult, Status
from vigil.retry import BATCH_UNPROCESSED
from vigil.rollups import DAYS_KEPT, HOURS_KEPT, CountHistory, PeriodRollups
from vigil.state import CheckState
from vigil.store.base import GroupState, RunRecord, ShardSnapshot, StateStore
from vigil.store.batch import batch_get
from vigil.store.fence import RunFence
from vigil.store.outbox import PendingAlert
from vigil.times import parse_time

logger = logging.getLogger(__name__)

STATE_SK = "STATE"
COUNTS_SK = {"hour": "COUNTS#HOUR", "day": "COUNTS#DAY"}
COUNTS_KEPT = {"hour": HOURS_KEPT, "day": DAYS_KEPT}
_STATUS_CODES = {
    Status.HEALTHY: "h",
    Status.DEGRADED: "d",
    Status.UNHEALTHY: "u",
    Status.ERROR: "e",
}
_CODE_STATUS = {code: status for status, code in _STATUS_CODES.items()}


def partition_key(group: str, shard: int = 0) -> str:
    return f"G#{group}#{shard}"


def observation_key(region: str, group: str, shard: int) -> str:
    """A probe's observations of a group shard (one item per run): led by the region, so
    that the probe's role may write its own (IAM ``dynamodb:LeadingKeys``) and no other."""
    return f"OBS#{region}#{group}#{shard}"


def pack(data: Any) -> bytes:
    return zlib.compress(json.dumps(data, separators=(",", ":")).encode(), 6)


def unpack(blob: bytes) -> Any:
    return json.loads(zlib.decompress(blob))


class DynamoDBStore(StateStore):
    """``StateStore`` on one DynamoDB table. The client is created on first use."""

    client = LazyClient("dynamodb")

    def __init__(self, table_name: str, *, client: Any = None):
        self.table_name = table_name
        self.client = client

    # state -------------------------------------------------------------------------------
    def load_state(self, group: str, shard: int = 0) -> GroupState:
        pk = partition_key(group, shard)
        response = self.client.get_item(
            TableName=self.table_name,
            Key={"pk": {"S": pk}, "sk": {"S": STATE_SK}},
            ConsistentRead=True,
        )
        item = response.get("Item")
        if not item:
            return GroupState(group=group, shard=shard)
        return _decode_state(group, shard, item)

    def save_state(self, state: GroupState) -> GroupState:
        pk = partition_key(state.group, state.shard)
        blob = {
            "checks": {name: s.to_dict() for name, s in state.checks.items()},
            "hour": state.hour.to_dict() if state.hour else None,
            "day": state.day.to_dict() if state.day else None,
            "fence": state.fence.to_dict(),
            "alerting": {n: m.to_dict() for n, m in state.memory.items() if m.to_dict()},
        }
        new_version = state.version + 1
        item = {
            "pk": {"S": pk},
            "sk": {"S": STATE_SK},
            "v": {"N": str(new_version)},
            "updated_at": {"S": state.updated_at or ""},
            "last_run": {"S": state.last_run_key or ""},
            "outbox": {"B": pack([a.to_dict() for a in state.outbox])},
            "pending": {"N": str(len(state.outbox))},
            "blob": {"B": pack(blob)},
        }
        if state.version == 0:
            condition: dict[str, Any] = {"ConditionExpression": "attribute_not_exists(pk)"}
        else:
            condition = {
                "ConditionExpression": "v = :v",
                "ExpressionAttributeValues": {":v": {"N": str(state.version)}},
            }
        try:
            self.client.put_item(TableName=self.table_name, Item=item, **condition)
        except self.client.exceptions.ConditionalCheckFailedException:
            raise StoreConflictError(
                f"state of {state.group}#{state.shard} is no longer at version {state.version}"
            ) from None
        return replace(state, version=new_version)

    # runs --------------------------------------------------------------------------------
    def put_run(self, record: RunRecord, expires_at: int) -> None:
        item = {
            "pk": {"S": partition_key(record.group, record.shard)},
            "sk": {"S": f"RUN#{record.run_key}"},
            "started_at": {"S": record.started_at},
            "duration_ms": {"N": str(round(record.duration_ms))},
            "counts": {"M": {k: {"N": str(v)} for k, v in record.counts().items()}},
            "blob": {"B": pack([_encode_result(r) for r in record.results])},
            "expires_at": {"N": str(expires_at)},
        }
        self.client.put_item(TableName=self.table_name, Item=item)

    def get_run(self, group: str, shard: int, run_key: str) -> RunRecord | None:
        response = self.client.get_item(
            TableName=self.table_name,
            Key={"pk": {"S": partition_key(group, shard)}, "sk": {"S": f"RUN#{run_key}"}},
            ConsistentRead=True,
        )
        item = response.get("Item")
        return _decode_run(group, shard, item) if item else None

    def recent_runs(self, group: str, shard: int = 0, limit: int = 20) -> list[RunRecord]:
        response = self.client.query(
            TableName=self.table_name,
            KeyConditionExpression="pk = :pk AND begins_with(sk, :run)",
            ExpressionAttributeValues={
                ":pk": {"S": partition_key(group, shard)},
                ":run": {"S": "RUN#"},
            },
            ScanIndexForward=False,
            Limit=limit,
        )
        return [_decode_run(group, shard, item) for item in response.get("Items", [])]

    # rollups -----------------------------------------------------------------------------
    def put_rollups(self, group: str, shard: int, rollups: list[tuple[PeriodRollups, int]]) -> None:
        if not rollups:
            return
        pk = partition_key(group, shard)
        items = []
        for rollup, expires_at in rollups:
            items.append(
                {
                    "pk": {"S": pk},
                    "sk": {"S": f"{rollup.kind.upper()}#{rollup.period}"},
                    "blob": {"B": pack(rollup.to_dict())},
                    "expires_at": {"N": str(expires_at)},
                }
            )
        for kind in sorted({rollup.kind for rollup, _ in rollups}):
            closed = sorted((r for r in rollups if r[0].kind == kind), key=lambda r: r[0].period)
            history = self._count_history(pk, kind, consistent=True)
            for rollup, _ in closed:
                history.absorb(rollup)
            items.append(
                {
                    "pk": {"S": pk},
                    "sk": {"S": COUNTS_SK[kind]},
                    "blob": {"B": pack(history.to_dict())},
                    "expires_at": {"N": str(max(expires for _, expires in closed))},
                }
            )
        pending = {self.table_name: [{"PutRequest": {"Item": item}} for item in items]}
        retry = 0
        while True:
            response = self.client.batch_write_item(RequestItems=pending)
            pending = response.get("UnprocessedItems") or {}
            if not pending:
                return
            retry += 1
            if not BATCH_UNPROCESSED.pause(retry):
                left = len(pending[self.table_name])
                raise RuntimeError(f"DynamoDB left {left} rollup items unwritten")

    def _count_history(self, pk: str, kind: str, *, consistent: bool) -> CountHistory:
        response = self.client.get_item(
            TableName=self.table_name,
            Key={"pk": {"S": pk}, "sk": {"S": COUNTS_SK[kind]}},
            ConsistentRead=consistent,
        )
        item = response.get("Item")
        if not item:
            return CountHistory(kind=kind, keep=COUNTS_KEPT[kind])
        history = CountHistory.from_dict(unpack(item["blob"]["B"]))
        history.keep = COUNTS_KEPT[kind]
        return history

    def get_rollups(self, group: str, shard: int, kind: str, since: str) -> list[PeriodRollups]:
        return self._query_rollups(group, shard, kind, since, only=None)

    def _query_rollups(
        self, group: str, shard: int, kind: str, since: str, *, only: str | None
    ) -> list[PeriodRollups]:
        prefix = f"{kind.upper()}#"
        out: list[PeriodRollups] = []
        kwargs: dict[str, Any] = {
            "TableName": self.table_name,
            "KeyConditionExpression": "pk = :pk AND sk BETWEEN :from AND :to",
            "ExpressionAttributeValues": {
                ":pk": {"S": partition_key(group, shard)},
                ":from": {"S": prefix + since},
                ":to": {"S": prefix + "\uffff"},
            },
        }
        while True:
            response = self.client.query(**kwargs)
            for item in response.get("Items", []):
                out.append(PeriodRollups.from_dict(kind, unpack(item["blob"]["B"]), only=only))
            if "LastEvaluatedKey" not in response:
                return out
            kwargs["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    # status reads ---------------------------------------------------------------------
    # Eventually consistent (half the read units of a consistent read).

    def put_observations(
        self,
        group: str,
        shard: int,
        run_key: str,
        region: str,
        results: list[CheckResult],
        expires_at: int,
    ) -> None:
        self.client.put_item(
            TableName=self.table_name,
            Item={
                "pk": {"S": observation_key(region, group, shard)},
                "sk": {"S": run_key},
                "blob": {"B": pack([_encode_result(r, details=True) for r in results])},
                "expires_at": {"N": str(expires_at)},
            },
        )
        moment = {"N": str(round(parse_time(run_key).timestamp()))}
        # the probe's newest run; a late run never moves it back
        with contextlib.suppress(self.client.exceptions.ConditionalCheckFailedException):
            self.client.put_item(
                TableName=self.table_name,
                Item={
                    "pk": {"S": f"LOC#{region}"},
                    "sk": {"S": f"{group}#{shard}"},
                    "newest": {"S": run_key},
                    "at": moment,
                },
                ConditionExpression="attribute_not_exists(pk) OR #at < :at",
                ExpressionAttributeNames={"#at": "at"},
                ExpressionAttributeValues={":at": moment},
            )

    def observations(
        self, group: str, shard: int, run_key: str, regions: list[str]
    ) -> dict[str, list[CheckResult]]:
        keys = [
            {"pk": {"S": observation_key(region, group, shard)}, "sk": {"S": run_key}}
            for region in regions
        ]
        found = self._batch_get(keys, consistent=True) if keys else {}
        observed = {}
        for region in regions:
            item = found.get((observation_key(region, group, shard), run_key))
            if item is None:
                continue
            try:
                observed[region] = [_decode_result(row) for row in unpack(item["blob"]["B"])]
            except Exception:  # another version's, or damaged: that region did not report
                logger.exception("the observations of %s for %s cannot be read", region, run_key)
        return observed

    def locations_seen(
        self, regions: list[str], shards: list[tuple[str, int]]
    ) -> dict[tuple[str, str, int], str | None]:
        keys = [
            {"pk": {"S": f"LOC#{region}"}, "sk": {"S": f"{group}#{shard}"}}
            for region in regions
            for group, shard in shards
        ]
        found = self._batch_get(keys)
        return {
            (region, group, shard): found.get((f"LOC#{region}", f"{group}#{shard}"), {})
            .get("newest", {})
            .get("S")
            for region in regions
            for group, shard in shards
        }

    def newest_runs(self, shards: list[tuple[str, int]]) -> dict[tuple[str, int], str | None]:
        keys = [
            {"pk": {"S": partition_key(group, shard)}, "sk": {"S": STATE_SK}}
            for group, shard in dict.fromkeys(shards)
        ]
        found = self._batch_get(keys, projection="pk, sk, last_run")
        newest = {}
        for group, shard in shards:
            item = found.get((partition_key(group, shard), STATE_SK))
            newest[(group, shard)] = (item or {}).get("last_run", {}).get("S") or None
        return newest

    def shard_snapshots(
        self, shards: list[tuple[str, int]]
    ) -> dict[tuple[str, int], ShardSnapshot]:
        wanted = {
            (partition_key(group, shard), sk): (group, shard)
            for group, shard in shards
            for sk in (STATE_SK, *COUNTS_SK.values())
        }
        found = self._batch_get([{"pk": {"S": pk}, "sk": {"S": sk}} for pk, sk in wanted])
        snapshots = {}
        for group, shard in shards:
            pk = partition_key(group, shard)
            state_item = found.get((pk, STATE_SK))
            state = (
                _decode_state(group, shard, state_item)
                if state_item
                else GroupState(group=group, shard=shard)
            )
            histories = {}
            for kind, sk in COUNTS_SK.items():
                item = found.get((pk, sk))
                blob = unpack(item["blob"]["B"]) if item else None
                histories[kind] = CountHistory.from_dict(blob) if blob else None
            snapshots[(group, shard)] = ShardSnapshot(
                state=state, hours=histories["hour"], days=histories["day"]
            )
        return snapshots

    def runs_at(self, group: str, shard: int, run_keys: list[str]) -> dict[str, RunRecord]:
        pk = partition_key(group, shard)
        keys = [{"pk": {"S": pk}, "sk": {"S": f"RUN#{key}"}} for key in sorted(set(run_keys))]
        runs = {}
        for item in self._batch_get(keys).values():
            record = _decode_run(group, shard, item)
            runs[record.run_key] = record
        return runs

    def check_rollups(
        self, group: str, shard: int, kind: str, since: str, check: str
    ) -> list[PeriodRollups]:
        return self._query_rollups(group, shard, kind, since, only=check)

    def runs_between(
        self,
        group: str,
        shard: int,
        start: str,
        end: str,
        *,
        newest_first: bool = True,
        limit: int = 100,
        after: str | None = None,
        check: str | None = None,
    ) -> tuple[list[RunRecord], str | None]:
        pk = partition_key(group, shard)
        kwargs: dict[str, Any] = {
            "TableName": self.table_name,
            "KeyConditionExpression": "pk = :pk AND sk BETWEEN :from AND :to",
            "ExpressionAttributeValues": {
                ":pk": {"S": pk},
                ":from": {"S": f"RUN#{start}"},
                ":to": {"S": f"RUN#{end}"},
            },
            "ScanIndexForward": not newest_first,
            "Limit": limit,
        }
        if after is not None:
            kwargs["ExclusiveStartKey"] = {"pk": {"S": pk}, "sk": {"S": f"RUN#{after}"}}
        response = self.client.query(**kwargs)
        records = [
            _decode_run(group, shard, item, only=check) for item in response.get("Items", [])
        ]
        more = "LastEvaluatedKey" in response and bool(records)
        return records, records[-1].run_key if more else None

    def _batch_get(
        self,
        keys: list[dict[str, Any]],
        *,
        projection: str | None = None,
        consistent: bool = False,
    ) -> dict[tuple[str, str], dict[str, Any]]:
        return batch_get(
            self.client, self.table_name, keys, projection=projection, consistent=consistent
        )


def _decode_state(group: str, shard: int, item: dict[str, Any]) -> GroupState:
    blob = unpack(item["blob"]["B"])
    hour, day = blob.get("hour"), blob.get("day")
    return GroupState(
        group=group,
        shard=shard,
        version=int(item["v"]["N"]),
        checks={name: CheckState.from_dict(s) for name, s in blob.get("checks", {}).items()},
        hour=PeriodRollups.from_dict("hour", hour) if hour else None,
        day=PeriodRollups.from_dict("day", day) if day else None,
        outbox=[PendingAlert.from_dict(a) for a in unpack(item["outbox"]["B"])],
        fence=RunFence.from_dict(blob.get("fence")),
        memory={n: AlertMemory.from_dict(m) for n, m in blob.get("alerting", {}).items()},
        updated_at=item.get("updated_at", {}).get("S"),
        last_run_key=item.get("last_run", {}).get("S"),
    )


def _encode_result(result: CheckResult, *, details: bool = False) -> list[Any]:
    """A result as a compact row; a healthy one keeps its reason and details only when
    asked (``details``) or when they name locations (what the status API shows)."""
    latency = None if result.latency_ms is None else round(result.latency_ms, 1)
    row: list[Any] = [result.check, _STATUS_CODES[result.status], latency]
    keep = details or "locations" in result.details
    if result.status != Status.HEALTHY or not result.observed or result.maintenance or keep:
        row += [result.reason, result.details, result.observed]
    if result.maintenance:
        row.append(True)
    return row


def _decode_result(row: list[Any]) -> CheckResult:
    name, code, latency = row[:3]
    reason, details, observed = row[3:6] if len(row) >= 6 else ("", {}, True)
    maintenance = bool(row[6]) if len(row) >= 7 else False
    return CheckResult(
        name, _CODE_STATUS[code], reason, latency, details, observed, maintenance=maintenance
    )


def _decode_run(
    group: str, shard: int, item: dict[str, Any], *, only: str | None = None
) -> RunRecord:
    rows = unpack(item["blob"]["B"])
    return RunRecord(
        group=group,
        shard=shard,
        run_key=item["sk"]["S"].removeprefix("RUN#"),
        started_at=item["started_at"]["S"],
        duration_ms=float(item["duration_ms"]["N"]),
        results=[_decode_result(row) for row in rows if only is None or row[0] == only],
    )
