"""What locations cost a run (``make bench``): the home's extra time, a probe's writes.

``python -m tests.bench.quorum`` prints one JSON line:

* ``quorum_home_extra_ms``: the home's run of 200 TCP checks with two probes, their
  observations already in its table (so no time is spent waiting for them), minus
  the same run of a stack without locations: the median of paired runs, taken in
  turn so that both see the same machine (the target: at most 100 ms);
* ``quorum_combine_ms``: the part of it spent reading the observations and
  combining them (``_GroupRun.combine``), timed around that call alone;
* ``quorum_write_requests_per_probe_run``: the DynamoDB write requests one probe's
  run of the same group makes (at most 2: its observations, its newest run);
* ``quorum_run_record_bytes``: the home's run record with each location's view kept
  (compressed), against the run record without locations; ``quorum_observation_bytes``:
  one probe's observations of the run (compressed).

The runs go through the ``Runner`` on moto, in this process; the checks connect to
a listening loopback socket.
"""

from __future__ import annotations

import json
import socket
import statistics
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

CHECKS = 200
PAIRS = 15
HOME, PROBES = "us-east-1", ("eu-west-1", "ap-southeast-2")
GROUP, ALONE = "edge", "alone"


@contextmanager
def listening() -> Iterator[int]:
    """A loopback port that accepts every connection and closes it."""
    server = socket.create_server(("127.0.0.1", 0), backlog=1024)
    stop = threading.Event()

    def serve() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                connection, _ = server.accept()
            except TimeoutError:
                continue
            connection.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield server.getsockname()[1]
    finally:
        stop.set()
        thread.join()
        server.close()


def config(port: int, group: str, *, located: bool):
    from vigil.config import parse_config

    raw: dict = {}
    if located:
        raw = {"locations": {"home": HOME, "probes": list(PROBES)}, "quorum_wait": "7s"}
    checks = [
        {"name": f"c{i:03d}", "type": "tcp", "host": "127.0.0.1", "port": port}
        for i in range(CHECKS)
    ]
    return parse_config({**raw, "groups": {group: {"checks": checks}}})


class WriteCounter:
    """DynamoDB write requests made through one client (a botocore event hook)."""

    WRITES = ("PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems")

    def __init__(self, client) -> None:
        self.count = 0
        client.meta.events.register("before-call.dynamodb.*", self._seen)

    def _seen(self, model, **_: object) -> None:
        if model.name in self.WRITES:
            self.count += 1


def main() -> int:
    import boto3

    from vigil.locations import HOME as HOME_ROLE
    from vigil.locations import PROBE
    from vigil.run import runner as runner_module
    from vigil.run.event import RunRequest
    from vigil.run.runner import LocationRole, Runner
    from vigil.store.dynamodb import DynamoDBStore, observation_key, partition_key
    from vigil.times import iso
    from vigil_cli.local.local_aws import LocalAws

    combine_ms: list[float] = []
    original = runner_module._GroupRun.combine

    def timed(self, location, results):
        started = time.perf_counter()
        try:
            return original(self, location, results)
        finally:
            combine_ms.append((time.perf_counter() - started) * 1000)

    runner_module._GroupRun.combine = timed
    with LocalAws() as aws, listening() as port:
        dynamodb = boto3.client("dynamodb", region_name=HOME)
        # another group alone: a run of the same group and time would be fenced off
        plain = config(port, ALONE, located=False)
        located = config(port, GROUP, located=True)
        assert located.locations is not None

        def runner(config, table: DynamoDBStore, location=None) -> Runner:
            from vigil.alerts.sns import SnsPublisher

            return Runner(
                config,
                table,
                SnsPublisher(aws.topic_arn),
                location=location,
                emit_metrics=lambda *args, **kwargs: None,  # the same for both: not timed
            )

        alone = runner(plain, DynamoDBStore(aws.table_name, client=dynamodb))
        home = runner(
            located,
            DynamoDBStore(aws.table_name, client=dynamodb),
            LocationRole(located.locations, HOME, HOME_ROLE),
        )
        probe_client = boto3.client("dynamodb", region_name=HOME)
        writes = WriteCounter(probe_client)
        probes = {
            region: runner(
                located,
                DynamoDBStore(aws.table_name, client=dynamodb),
                LocationRole(
                    located.locations,
                    region,
                    PROBE,
                    DynamoDBStore(aws.table_name, client=probe_client),
                ),
            )
            for region in PROBES
        }

        first = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(hours=1)
        extra, with_ms, without_ms, probe_writes = [], [], [], []
        for n in range(PAIRS + 1):
            moment = iso(first + timedelta(minutes=n))
            for probe in probes.values():
                before = writes.count
                probe.run(RunRequest(GROUP, moment))
                probe_writes.append(writes.count - before)
            started = time.perf_counter()
            home.run(RunRequest(GROUP, moment))
            took_with = (time.perf_counter() - started) * 1000
            started = time.perf_counter()
            alone.run(RunRequest(ALONE, moment))
            took_without = (time.perf_counter() - started) * 1000
            if n:  # the first of each is the cold one
                with_ms.append(took_with)
                without_ms.append(took_without)
                extra.append(took_with - took_without)
        record = dynamodb.get_item(
            TableName=aws.table_name,
            Key={"pk": {"S": partition_key(GROUP, 0)}, "sk": {"S": f"RUN#{moment}"}},
        )["Item"]
        alone_record = dynamodb.get_item(
            TableName=aws.table_name,
            Key={"pk": {"S": partition_key(ALONE, 0)}, "sk": {"S": f"RUN#{moment}"}},
        )["Item"]
        observation = dynamodb.get_item(
            TableName=aws.table_name,
            Key={"pk": {"S": observation_key(PROBES[0], GROUP, 0)}, "sk": {"S": moment}},
        )["Item"]
        combined = home.store.get_run(GROUP, 0, moment)
    located_bytes, alone_bytes = len(record["blob"]["B"]), len(alone_record["blob"]["B"])
    assert combined is not None
    assert all("locations" in r.details for r in combined.results), "combined without locations"
    figures = {
        "quorum_home_extra_ms": round(statistics.median(extra), 1),
        "quorum_home_run_ms": round(statistics.median(with_ms), 1),
        "quorum_alone_run_ms": round(statistics.median(without_ms), 1),
        "quorum_combine_ms": round(statistics.median(combine_ms[1:]), 1),
        "quorum_write_requests_per_probe_run": max(probe_writes),
        "quorum_run_record_bytes": located_bytes,
        "alone_run_record_bytes": alone_bytes,
        "quorum_observation_bytes": len(observation["blob"]["B"]),
        "checks": CHECKS,
    }
    print(json.dumps(figures))
    return 0 if figures["quorum_home_extra_ms"] <= 100 and max(probe_writes) <= 2 else 1


if __name__ == "__main__":
    sys.exit(main())
