"""DynamoDB write economy: at most 4 write requests per run, at most 0.25 WCU per result."""

from __future__ import annotations

import pytest

from vigil.alerts.sns import SnsPublisher
from vigil.config import parse_config
from vigil.runner import Runner, RunRequest
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

    figures = {}
    # first run (state created, alerts for the failing tenth), a steady run, an hour
    # boundary, and a day boundary (two rollup items in one batch)
    for label, at in [
        ("first", "2026-11-28T22:58:00Z"),
        ("steady", "2026-11-28T22:59:00Z"),
        ("hour", "2026-11-28T23:00:00Z"),
        ("day", "2026-11-29T00:00:00Z"),
    ]:
        store.ledger.reset()
        summary = runner.run(RunRequest("core", at), remaining_ms=60_000)
        assert len(summary["results"]) == n
        figures[label] = (store.ledger.requests, store.ledger.units)
    print(f"\nN={n} (write requests, write units) per run: {figures}")
    for label, (requests, units) in figures.items():
        assert requests <= 4, (label, requests)
        if n == 200:
            assert units / n <= 0.25, (label, units)
    assert figures["day"][0] == 3  # run record + rollup batch + state; no alerts to settle
    assert figures["steady"][0] == 2  # run record + state
    assert len(aws.drain_alerts()) == n // 10
