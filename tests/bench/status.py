"""Status API benchmark: 500 checks with 90 days of rollups (part of ``make bench``).

``python -m tests.bench.status`` seeds embedded AWS (moto, the table of
template.yaml) through the real store with what 90 days of a 1-minute group of
500 checks leave behind: 89 closed days and 23 closed hours (written with
``put_rollups``, so the count histories are built as the runner builds them),
the open hour and day in the state, the last 60 run records and a few incidents
per check. Then it calls the real status handler (``functions/status/app.py``)
for ``GET /api/status`` and ``GET /api/checks/bench/<check>``: once cold, then
warm, and reports the warm wall time (median) and the DynamoDB read units of
one call, computed from what DynamoDB returned as it bills it (4 KB units, half
for an eventually consistent read), counted by a botocore ``after-call`` hook.
``*_cold_read_units`` are those of the first call: a check's detail reads its
shard's closed hour and day rollups on its first call in a container only
(``vigil.status.closed_rollups``), so its warm calls read less, and must answer
the same. Its last line is a JSON object.
"""

from __future__ import annotations

import json
import math
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

N_CHECKS = 500
DAYS = 90
WARM_CALLS = 7
RUNS_KEPT = 60
GROUP = "bench"
DETAIL_CHECK = 250  # the check whose detail is measured: an incident every 10 days


def check_name(i: int) -> str:
    return f"service-{i:03d}-health"


def write_config(directory: Path) -> Path:
    lines = ["groups:", f"  {GROUP}:", "    checks:"]
    lines += [
        f"      - {{name: {check_name(i)}, type: tcp, host: 10.0.0.{i % 250 + 1}, port: 443}}"
        for i in range(N_CHECKS)
    ]
    path = directory / "status-bench.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


class ReadUnits:
    """Read units DynamoDB bills for what it returned (botocore ``after-call`` hook), at
    the consistency the request asked for (``before-parameter-build`` hook)."""

    def __init__(self) -> None:
        self.units = 0.0
        self.requests = 0
        self._consistent = False

    def __call__(self, http_response: Any, parsed: dict[str, Any], model: Any, **_: Any) -> None:
        from tests.support.dynamodb_writes import item_size

        operation = model.name
        if operation not in ("GetItem", "BatchGetItem", "Query"):
            return
        self.requests += 1
        half = 1.0 if self._consistent else 0.5
        if operation == "GetItem":
            item = parsed.get("Item")
            self.units += half * (math.ceil(item_size(item) / 4096) if item else 1)
        elif operation == "BatchGetItem":
            for items in parsed.get("Responses", {}).values():
                self.units += sum(half * math.ceil(item_size(i) / 4096) for i in items)
        else:
            size = sum(item_size(i) for i in parsed.get("Items", []))
            self.units += half * max(1, math.ceil(size / 4096))

    def before(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        """The API parameters of the request about to be sent (a ``BatchGetItem`` names
        its consistency per table)."""
        if model.name == "BatchGetItem":
            tables = params.get("RequestItems", {}).values()
            self._consistent = any(t.get("ConsistentRead") for t in tables)
        else:
            self._consistent = bool(params.get("ConsistentRead"))

    def reset(self) -> None:
        self.units, self.requests = 0.0, 0


def day_rollups(kind: str, period: str, runs: int, rng: random.Random, incidents: set[int]):
    from vigil.rollups import PeriodRollups, Rollup, bucket_of

    rollups = PeriodRollups(kind, period)
    for i in range(N_CHECKS):
        base = 20 + (i % 40) * 7
        failures = rng.randint(5, 40) if i in incidents else (1 if rng.random() < 0.05 else 0)
        errors = 1 if rng.random() < 0.02 else 0
        passed = runs - failures - errors
        sketch: dict[int, int] = {}
        left = passed
        for spread in (0.9, 1.0, 1.05, 1.1, 1.2, 1.35, 1.6, 2.0, 3.0, 6.0):
            share = left if spread == 6.0 else int(passed * rng.uniform(0.05, 0.3))
            share = min(share, left)
            if share:
                bucket = bucket_of(base * spread)
                sketch[bucket] = sketch.get(bucket, 0) + share
                left -= share
        rollups.checks[check_name(i)] = Rollup(
            runs=runs,
            healthy=passed,
            failures=failures,
            errors=errors,
            latency_sum=base * passed * 1.1,
            latency_max=base * 6.0,
            latency_count=passed,
            sketch=sketch,
        )
    return rollups


def seed(store: Any, now: datetime) -> None:
    from vigil.alerts.document import AlertEvent as Event
    from vigil.results import CheckResult, Status
    from vigil.state import CheckState, Transition
    from vigil.store.base import GroupState, RunRecord

    rng = random.Random(11)
    expires = int(now.timestamp()) + 400 * 86400
    today = now.date()
    for d in range(DAYS - 1, 0, -1):
        day = (today - timedelta(days=d)).isoformat()
        incidents = set(rng.sample(range(N_CHECKS), 5)) | ({DETAIL_CHECK} if d % 10 == 0 else set())
        rollups = day_rollups("day", day, 1440, rng, incidents)
        for i in incidents:
            at = f"{day}T{rng.randint(0, 22):02d}:{rng.randint(0, 59):02d}:00Z"
            end = at[:11] + f"{int(at[11:13]) + 1:02d}" + at[13:]
            rollups.record_transition(
                Transition(check_name(i), Event.FAILURE, "unhealthy", "healthy", at, "HTTP 503", {})
            )
            rollups.record_transition(
                Transition(
                    check_name(i), Event.RECOVERY, "healthy", "unhealthy", end, "HTTP 200", {}
                )
            )
        store.put_rollups(GROUP, 0, [(rollups, expires)])
    hour_now = now.replace(minute=0, second=0, microsecond=0)
    for h in range(23, 0, -1):
        period = (hour_now - timedelta(hours=h)).strftime("%Y-%m-%dT%H")
        store.put_rollups(GROUP, 0, [(day_rollups("hour", period, 60, rng, set()), expires)])
    minutes = now.minute + 1
    state = GroupState(
        group=GROUP,
        shard=0,
        checks={
            check_name(i): CheckState(
                status="healthy",
                since=f"{(today - timedelta(days=3)).isoformat()}T10:00:00Z",
                last_run=hour_now.timestamp() + 60 * now.minute,
            )
            for i in range(N_CHECKS)
        },
        hour=day_rollups("hour", hour_now.strftime("%Y-%m-%dT%H"), minutes, rng, set()),
        day=day_rollups("day", today.isoformat(), now.hour * 60 + minutes, rng, set()),
        last_run_key=(hour_now + timedelta(minutes=now.minute)).strftime("%Y-%m-%dT%H:%M:%SZ"),
    )
    store.save_state(state)
    for m in range(RUNS_KEPT - 1, -1, -1):
        at = hour_now + timedelta(minutes=now.minute) - timedelta(minutes=m)
        key = at.strftime("%Y-%m-%dT%H:%M:%SZ")
        results = [
            CheckResult(check_name(i), Status.HEALTHY, "connected", rng.uniform(1, 300))
            for i in range(N_CHECKS)
        ]
        store.put_run(RunRecord(GROUP, 0, key, key, 900.0, results), expires)


def main() -> int:
    import boto3

    from vigil.store.dynamodb import DynamoDBStore
    from vigil_cli.local.local_aws import LocalAws
    from vigil_cli.local.status_server import (
        StatusContext,
        function_url_event,
        load_status_function,
    )

    now = datetime.now(UTC)
    with tempfile.TemporaryDirectory(prefix="vigil-status-bench-") as tmp:
        config = write_config(Path(tmp))
        with LocalAws(config=config) as aws:
            os.environ["HEALTHCHECK_CONFIG"] = str(config)
            started = time.perf_counter()
            seed(DynamoDBStore(aws.table_name), now)
            seeded_s = time.perf_counter() - started
            # Every DynamoDB client made from here on (the status function's) is counted.
            boto3.setup_default_session()
            units = ReadUnits()
            boto3.DEFAULT_SESSION.events.register("before-parameter-build.dynamodb", units.before)
            boto3.DEFAULT_SESSION.events.register("after-call.dynamodb", units)
            status = load_status_function()
            figures: dict[str, Any] = {
                "status_seed_s": round(seeded_s, 1),
                "warm_calls": WARM_CALLS,
            }
            for label, path in (
                ("status_api", "/api/status"),
                ("check_api", f"/api/checks/{GROUP}/{check_name(DETAIL_CHECK)}"),
            ):
                hour = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
                units.reset()
                cold = time.perf_counter()
                response = status.handler(function_url_event("GET", path), StatusContext())
                cold_ms = (time.perf_counter() - cold) * 1000
                assert response["statusCode"] == 200, response
                body = json.loads(response["body"])
                figures[f"{label}_cold_read_units"] = units.units
                warm = []
                for _ in range(WARM_CALLS):
                    units.reset()
                    started = time.perf_counter()
                    response = status.handler(function_url_event("GET", path), StatusContext())
                    warm.append((time.perf_counter() - started) * 1000)
                    assert response["statusCode"] == 200
                figures[f"{label}_read_units"] = units.units
                figures[f"{label}_requests"] = units.requests
                figures[f"{label}_warm_ms"] = round(statistics.median(warm), 1)
                figures[f"{label}_cold_ms"] = round(cold_ms, 1)
                figures[f"{label}_bytes"] = len(response["body"])
                if label == "status_api":
                    checks = body["groups"][0]["checks"]
                    assert len(checks) == N_CHECKS
                    assert all(c["availability"]["90d"] is not None for c in checks)
                else:
                    assert len(body["incidents"]) >= 8, body["incidents"]
                    assert len(body["recent"]) == RUNS_KEPT
                    if datetime.now(UTC) < hour + timedelta(hours=1):  # the same windows
                        assert json.loads(response["body"]) == body, "warm answer differs"
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
