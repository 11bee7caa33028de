"""DynamoDB write economy: at most 4 write requests per run, at most 0.25 WCU per result."""

from __future__ import annotations

import pytest

from tests.support.dynamodb_writes import WriteCounter
from tests.support.times import NEXT_DAY, at
from vigil.alerts.sns import SnsPublisher
from vigil.config import parse_config
from vigil.run.event import RunRequest
from vigil.run.runner import Runner
from vigil.store.dynamodb import DynamoDBStore


def group_of(n: int, healthy_port: int, refused_port: int, failing: int = 0) -> dict:
    checks = [
        {
            "name": f"service-{i:03d}",
            "type": "tcp",
            "host": "127.0.0.1",
            "port": refused_port if i < failing else healthy_port,
            "failure_threshold": 1,
        }
        for i in range(n)
    ]
    return {"groups": {"core": {"checks": checks}}}


@pytest.mark.parametrize("n", [10, 200])
def test_write_requests_and_units_per_run(aws, tcp_target, refused, n):
    store = DynamoDBStore(aws.table_name)
    config = parse_config(group_of(n, tcp_target.port, refused, failing=n // 10))
    runner = Runner(config, store, SnsPublisher(aws.topic_arn))
    writes = WriteCounter().attach(store.client)

    figures = {}
    # first run (state created, alerts for the failing tenth), a steady run, an hour
    # boundary, and a day boundary (two rollup items in one batch)
    for label, scheduled in [
        ("first", at("22:58")),
        ("steady", at("22:59")),
        ("hour", at("23:00")),
        ("day", at("00:00", NEXT_DAY)),
    ]:
        writes.reset()
        summary = runner.run(RunRequest("core", scheduled), remaining_ms=60_000)
        assert len(summary.results) == n
        figures[label] = (writes.requests, writes.units)
    print(f"\nN={n} (write requests, write units) per run: {figures}")
    for label, (requests, units) in figures.items():
        assert requests <= 4, (label, requests)
        if n == 200:
            assert units / n <= 0.25, (label, units)
    assert figures["day"][0] == 3  # rollup batch + state + run record; no alerts to settle
    assert figures["steady"][0] == 2  # state + run record
    assert figures["first"][0] == 3  # state + run record + outbox settle (alerts published)
    assert len(aws.drain_alerts()) == n // 10
