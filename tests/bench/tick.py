"""The tick's own cost: one tick of 100 groups, 20 of them every 10 s (``make bench``).

``python -m tests.bench.tick`` prints one JSON line: ``tick_dispatch_ms_100_groups``,
the median wall time of the runner handler answering a tick (plan; the 100 runs due
and the 20 sub-minute groups' 100 later ones queued on SQS, ten to a request; the
watch of every group's newest run and its save), on moto, with the runner's clock
set to each tick's own time (a tick on time delays the later runs). Each tick is a
new minute, so the watch judges each one, and every group has run (nothing stalled).
"""

from __future__ import annotations

import importlib.util
import json
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
FUNCTION_NAME = "vigil-bench-runner"  # as in Lambda, where lambda_init freezes init
GROUPS, SUB_MINUTE = 100, 20
TICKS = 9


def write_config(directory: Path) -> Path:
    lines = ["groups:"]
    for i in range(GROUPS):
        every = "10s" if i < SUB_MINUTE else "1m"
        lines.append(
            f"  g{i:03d}: {{every: {every}, checks: [{{name: port, type: tcp, host: 127.0.0.1,"
            " port: 9}]}"
        )
    path = directory / "tick-checks.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


def ran(store, config, moment: datetime) -> None:
    """Every group counted its runs up to the minute before ``moment`` (as a deployment
    whose runs happen: the watch finds nothing stalled; not part of the timing)."""
    from dataclasses import replace

    from vigil.times import iso

    newest = iso(moment - timedelta(seconds=10))
    for name in config.groups:
        state = store.load_state(name, 0)
        store.save_state(replace(state, last_run_key=newest))


def queue_of(url: str):
    """moto's own record of the queue at ``url`` (a benchmark may reach into its stand-in)."""
    from moto.sqs.models import sqs_backends

    return sqs_backends["123456789012"]["us-east-1"].queues[url.rsplit("/", 1)[1]]


def main() -> int:
    from vigil.environment.runner import runner_from_environment
    from vigil.times import iso
    from vigil_cli.local.harness import LambdaContext
    from vigil_cli.local.local_aws import LocalAws

    os.environ["AWS_LAMBDA_FUNCTION_NAME"] = FUNCTION_NAME
    with tempfile.TemporaryDirectory() as tmp, LocalAws(config=write_config(Path(tmp))):
        spec = importlib.util.spec_from_file_location(
            "vigil_function_runner", REPO / "functions" / "runner" / "app.py"
        )
        assert spec is not None and spec.loader is not None
        app = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(app)

        first = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=TICKS)
        timings, summaries = [], []
        for n in range(TICKS):
            moment = first + timedelta(minutes=n)
            runner = runner_from_environment(app.DEFAULT_CONFIG)
            runner.clock = lambda moment=moment: moment.timestamp() + 0.3
            ran(runner.store, runner.config, moment)
            started = time.perf_counter()
            summary = app.handler({"tick": iso(moment)}, LambdaContext(60, FUNCTION_NAME))
            timings.append((time.perf_counter() - started) * 1000)
            summaries.append(summary["dispatched"])
            # The event source consumes the queue as its runs fall due: it never holds more
            # than a minute of them (moto looks at every message it holds on each send).
            queue_of(os.environ["HEALTHCHECK_RUN_QUEUE_URL"])._messages.clear()
    assert summaries[-1] == {"due": GROUPS, "delayed": SUB_MINUTE * 5}, summaries[-1]
    figures = {
        "tick_dispatch_ms_100_groups": round(statistics.median(timings[1:]), 1),
        "tick_dispatch_ms_first": round(timings[0], 1),
        "tick_dispatched": summaries[-1],
    }
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
