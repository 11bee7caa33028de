"""A check's detail asked again and again in one warm container while the runner closes
hours and a day: the closed rollups are read once (``vigil.status.closed_rollups``), and
every answer is the one a fresh ``StatusQueries`` gives."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import boto3
import pytest

from vigil.config import load_config
from vigil.status.queries import StatusQueries
from vigil.store.dynamodb import DynamoDBStore

FIRST_RUN = datetime(2026, 11, 28, 21, 50, tzinfo=UTC)  # over midnight: hours and a day close
STEP = timedelta(minutes=20)
RUNS = 11  # the last at 01:10


class RollupReads:
    """The client's queries of ``HOUR#``/``DAY#`` items, and the items they returned."""

    def __init__(self, client) -> None:
        self.queries = 0
        self.items: list[str] = []
        client.meta.events.register("before-parameter-build.dynamodb.Query", self.asked)
        client.meta.events.register("after-call.dynamodb.Query", self.seen)

    def asked(self, params, **_) -> None:
        start = params["ExpressionAttributeValues"][":from"]["S"]
        self.queries += start.startswith(("HOUR#", "DAY#"))

    def seen(self, parsed, **_) -> None:
        for item in parsed.get("Items", []):
            key = item["sk"]["S"]
            if key.startswith(("HOUR#", "DAY#")):
                self.items.append(key)

    def take(self) -> tuple[int, list[str]]:
        taken = self.queries, self.items
        self.queries, self.items = 0, []
        return taken


@pytest.fixture
def one_check(aws, write_config, tcp_target):
    return write_config(
        f"""
        groups:
          core:
            checks:
              - {{name: api, type: tcp, host: 127.0.0.1, port: {tcp_target.port}}}
              - {{name: db, type: tcp, host: 127.0.0.1, port: {tcp_target.port}}}
        """
    )


def test_a_warm_detail_reads_only_the_periods_closed_since(aws, one_check, invoke):
    config = load_config(one_check)
    client = boto3.client("dynamodb")
    reads = RollupReads(client)
    now = [FIRST_RUN]
    warm = StatusQueries(
        config, DynamoDBStore(aws.table_name, client=client), clock=lambda: now[0].timestamp()
    )
    closed_seen: list[str] = []
    for i in range(RUNS):
        scheduled = FIRST_RUN + STEP * i
        summary = invoke("core", scheduled.strftime("%Y-%m-%dT%H:%M:%SZ"))
        assert len(summary["results"]) == 2
        now[0] = scheduled + timedelta(minutes=1)
        fresh = StatusQueries(
            config, DynamoDBStore(aws.table_name), clock=lambda: now[0].timestamp()
        )
        for check in ("api", "db"):
            assert warm.check_detail("core", check) == fresh.check_detail("core", check)
        _, read = reads.take()
        new = sorted(set(read) - set(closed_seen))
        # Each closed period is read once per check, and only after it has closed.
        assert sorted(read) == sorted(new * 2), read
        closed_seen += new
    assert closed_seen == [
        "HOUR#2026-11-28T21",
        "HOUR#2026-11-28T22",
        "DAY#2026-11-28",  # closed with the hour 23 by the run of 00:10
        "HOUR#2026-11-28T23",
        "HOUR#2026-11-29T00",
    ]
    detail = warm.check_detail("core", "api")
    hours = ["2026-11-28T21", "2026-11-28T22", "2026-11-28T23", "2026-11-29T00", "2026-11-29T01"]
    assert [h.hour for h in detail.hourly if h.p50 is not None] == hours
    assert detail.latency["30d"]["p50"] is not None
    assert reads.take() == (0, [])  # asked again within the hour: no rollup read at all
