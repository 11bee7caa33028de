"""Ping function benchmark: the warm handler over many pings (part of ``make bench``).

``python -m tests.bench.ping`` starts embedded AWS (moto, the table and the ping key
secret of template.yaml), a configuration of 50 groups of heartbeat checks, and the
real ping handler (``functions/ping/app.py``). After one cold ping it sends
``ROUNDS`` rounds of ``PINGS`` warm ones, as jobs do: a start, then its success paired
by rid, a failure with a body, a log, an exit status, spread over the checks, and
times each handler call. ``ping_warm_ms_p50`` is the median of every call;
``ping_warm_ms_p99`` the median of the rounds' 99th percentiles: on a shared machine
a neighbour's burst lands in one round's tail, not in all three
(``ping_warm_cpu_ms_p99``, the calls' own CPU time, shows what is the handler's).
Every DynamoDB write request of the function's client is counted (botocore hook);
``ping_write_requests`` is the most one ping made. A refused ping (a wrong token) is
timed too. Its last line is a JSON object.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

PINGS = 2000
ROUNDS = 3
GROUPS, CHECKS = 50, 20
T0_MS = 1_767_240_000_000


def write_config(directory: Path) -> Path:
    lines = ["groups:"]
    for g in range(GROUPS):
        lines += [f"  jobs-{g:02d}:", "    checks:"]
        lines += [
            f"      - {{name: job-{c:02d}, type: heartbeat, period: 1h, grace: 10m}}"
            for c in range(CHECKS)
        ]
    path = directory / "ping-bench.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]


def main() -> int:
    import boto3

    from tests.support.dynamodb_writes import WriteCounter
    from vigil.pings import token
    from vigil_cli.local.harness import LambdaContext, load_function
    from vigil_cli.local.local_aws import LocalAws
    from vigil_cli.local.status_server import function_url_event

    with tempfile.TemporaryDirectory(prefix="vigil-ping-bench-") as tmp:
        config = write_config(Path(tmp))
        with LocalAws(config=config):
            os.environ["HEALTHCHECK_CONFIG"] = str(config)
            secret = os.environ["HEALTHCHECK_PING_KEY_SECRET"]
            key = boto3.client("secretsmanager").get_secret_value(SecretId=secret)
            key_bytes = key["SecretString"].encode()
            app = load_function("ping")
            context = LambdaContext(10, "vigil-bench-ping")

            def event(n: int) -> dict:
                group, check = f"jobs-{n % GROUPS:02d}", f"job-{(n // GROUPS) % CHECKS:02d}"
                suffix, rid, body = [
                    ("/start", f"run-{n // 5}", None),
                    ("", f"run-{n // 5}", None),
                    ("/fail", None, "backup failed: disk full\n" * 20),
                    ("/log", None, "progress 50%"),
                    ("/3", None, None),
                ][n % 5]
                path = f"/{group}/{check}/{token(key_bytes, group, check)}{suffix}"
                built = function_url_event(
                    "POST" if body else "GET", path + (f"?rid={rid}" if rid else "")
                )
                built["requestContext"]["timeEpoch"] = T0_MS + n * 1000
                if body:
                    built["body"] = body
                return built

            started = time.perf_counter()
            first = app.handler(event(0), context)
            cold_ms = (time.perf_counter() - started) * 1000
            assert first["statusCode"] == 200, first

            import vigil.environment.ping

            door = vigil.environment.ping.door_from_environment(app.DEFAULT_CONFIG)
            writes = WriteCounter().attach(door.store.client)
            rounds: list[list[float]] = []
            cpu: list[float] = []
            most_writes = 0
            for round_ in range(ROUNDS):
                events = [event(n) for n in range(1 + round_ * PINGS, 1 + (round_ + 1) * PINGS)]
                rounds.append([])
                for built in events:
                    writes.reset()
                    started, started_cpu = time.perf_counter(), time.thread_time()
                    answer = app.handler(built, context)
                    rounds[-1].append((time.perf_counter() - started) * 1000)
                    cpu.append((time.thread_time() - started_cpu) * 1000)
                    assert answer["statusCode"] == 200, answer
                    most_writes = max(most_writes, writes.requests)
            refused = []
            wrong = function_url_event("GET", "/jobs-00/job-00/" + "A" * 32)
            wrong["requestContext"]["timeEpoch"] = T0_MS
            for _ in range(200):
                writes.reset()
                started = time.perf_counter()
                assert app.handler(wrong, context)["statusCode"] == 404
                refused.append((time.perf_counter() - started) * 1000)
                assert writes.requests == 0
    round_p99 = [percentile(times, 0.99) for times in rounds]
    figures = {
        "ping_pings": PINGS,
        "ping_rounds": ROUNDS,
        "ping_cold_handler_ms": round(cold_ms, 1),
        "ping_warm_ms_p50": round(statistics.median([t for times in rounds for t in times]), 2),
        "ping_warm_ms_p99": round(statistics.median(round_p99), 2),
        "ping_warm_ms_p99_rounds": [round(p99, 2) for p99 in round_p99],
        "ping_warm_cpu_ms_p99": round(percentile(cpu, 0.99), 2),
        "ping_refused_ms_p50": round(statistics.median(refused), 2),
        "ping_write_requests": most_writes,
    }
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
