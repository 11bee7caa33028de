"""One benchmark process: the real runner handler (or the plain-asyncio floor).

``python -m tests.bench.worker runner --n 500 --delay-ms 200 --base-url URL``
writes a config of N HTTP checks (``/slow?ms=D&id=i``), starts embedded AWS
(``LocalAws``: moto with the table and topic of template.yaml) and imports the
handler as Lambda would. Then, for each line ``run <group> <scheduled time>``
on stdin, it invokes the handler and answers one JSON line on its stdout with
what the run measured. Everything the handler prints (logs, EMF metrics) goes
to a file instead, and is counted.

``... floor --n 500 --base-url URL``: for each ``run`` line, sends N requests
with plain asyncio streams, all at once, each on a connection of its own
(with an ``https://`` URL and ``--ca-bundle``: asyncio + ssl, N TLS
handshakes), and answers their latencies, from the start of the connect to
the response head.

``--ca-bundle PEM``: the CA of an ``https://`` target (the runner's checks get
it as their ``ca_bundle``).

``--in-flight K`` (floor only): at most K requests at a time, as the runner's
pacer holds its checks to (``vigil.pacing.DEFAULT_LIMIT``, under Lambda's 1,024
file descriptors); without it, all N at once.

Run alone in its process so that its peak RSS is the run's own.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
FUNCTION_NAME = "vigil-bench-runner"


def check_name(index: int) -> str:
    return f"c{index:04d}"


def check_index(name: str) -> str:
    return str(int(name[1:]))


def write_config(
    directory: Path, n: int, delay_ms: int, base_url: str, ca_bundle: str | None = None
) -> Path:
    """Two groups of the same N checks: ``bench`` (per-check metrics) and ``quiet`` (none)."""
    lines = ["defaults:", "  timeout: 10s", "groups:"]
    trust = f", ca_bundle: {json.dumps(ca_bundle)}" if ca_bundle else ""
    for group, metrics in (("bench", "true"), ("quiet", "false")):
        lines += [f"  {group}:", "    checks:"]
        lines += [
            f"      - {{name: {check_name(i)}, type: http, metrics: {metrics},"
            f' url: "{base_url}/slow?ms={delay_ms}&id={i}"{trust}}}'
            for i in range(n)
        ]
    path = directory / "bench-checks.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class Protocol:
    """Answers on the original stdout; the handler's own output goes to a counted file."""

    def __init__(self) -> None:
        self._answers = os.fdopen(os.dup(1), "w")
        self._log = tempfile.TemporaryFile()  # noqa: SIM115  (open for the process's life)
        os.dup2(self._log.fileno(), 1)

    def log_bytes(self) -> int:
        sys.stdout.flush()
        return os.fstat(self._log.fileno()).st_size

    def answer(self, data: dict[str, Any]) -> None:
        self._answers.write(json.dumps(data, separators=(",", ":")) + "\n")
        self._answers.flush()


def serve_runner(args: argparse.Namespace, protocol: Protocol) -> None:
    from vigil_cli.local.harness import LambdaContext, function_timeout
    from vigil_cli.local.local_aws import TEMPLATE, LocalAws
    from vigil_cli.local.template_file import load_template

    timeout_s = function_timeout(load_template(TEMPLATE))

    # As inside Lambda, where the runner freezes its long-lived objects out of the
    # garbage collector's reach (vigil.lambda_init.end).
    os.environ["AWS_LAMBDA_FUNCTION_NAME"] = FUNCTION_NAME
    with tempfile.TemporaryDirectory(prefix="vigil-bench-") as tmp:
        config = write_config(Path(tmp), args.n, args.delay_ms, args.base_url, args.ca_bundle)
        with LocalAws(config=config):
            spec = importlib.util.spec_from_file_location(
                "vigil_function_runner", REPO / "functions" / "runner" / "app.py"
            )
            assert spec is not None and spec.loader is not None
            app = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(app)
            from tests.support.dynamodb_writes import WriteCounter
            from vigil.environment.runner import runner_from_environment

            writes = WriteCounter()
            before_runs_mb = peak_rss_mb()  # interpreter, dependencies, moto, the handler
            for line in sys.stdin:
                command, *rest = line.split()
                if command == "quit":
                    return
                group, scheduled = rest
                # The handler's cached runner (built here on the first run, as the handler would).
                # Count its DynamoDB writes with a botocore hook (attached once).
                client = runner_from_environment(app.DEFAULT_CONFIG).store.client
                if not getattr(client, "_bench_counted", False):
                    writes.attach(client)
                    client._bench_counted = True
                writes.reset()
                logged, cpu_before = protocol.log_bytes(), cpu_s()
                started = time.perf_counter()
                summary = app.handler(
                    {"group": group, "scheduled_time": scheduled},
                    LambdaContext(timeout_s, FUNCTION_NAME),
                )
                wall = time.perf_counter() - started
                cpu = cpu_s() - cpu_before
                lags = summary.get("lag_ms", {})
                protocol.answer(
                    {
                        "wall_s": wall,
                        "cpu_s": cpu,
                        "duration_ms": summary.get("duration_ms"),
                        "lag_ms_max": summary.get("lag_ms_max"),
                        "statuses": sorted({r["status"] for r in summary["results"]}),
                        "results": [
                            [check_index(r["check"]), r["latency_ms"], lags.get(r["check"])]
                            for r in summary["results"]
                        ],
                        "write_requests": writes.requests,
                        "write_units": writes.units,
                        "log_bytes": protocol.log_bytes() - logged,
                        "peak_rss_mb": peak_rss_mb(),
                        "before_runs_rss_mb": before_runs_mb,
                    }
                )


async def floor_requests(
    n: int,
    delay_ms: int,
    base_url: str,
    ca_bundle: str | None = None,
    in_flight: int | None = None,
) -> list[list[Any]]:
    """N requests with asyncio streams (and ssl for https), all at once (or at most
    ``in_flight`` at a time), each on its own connection: the least a client can add."""
    import ssl

    scheme, _, address = base_url.partition("://")
    host, port = address.split(":")
    context = ssl.create_default_context(cafile=ca_bundle) if scheme == "https" else None
    slots = asyncio.Semaphore(in_flight or n)

    async def one(index: int) -> list[Any]:
        async with slots:
            return await exchange(index)

    async def exchange(index: int) -> list[Any]:
        started = time.perf_counter()
        reader, writer = await asyncio.open_connection(host, int(port), ssl=context)
        request = f"GET /slow?ms={delay_ms}&id={index} HTTP/1.1\r\nHost: {host}\r\n"
        writer.write((request + "Connection: close\r\n\r\n").encode())
        await reader.readuntil(b"\r\n\r\n")
        latency_ms = (time.perf_counter() - started) * 1000
        writer.close()
        return [str(index), latency_ms, None]

    return await asyncio.gather(*(one(i) for i in range(n)))


def serve_floor(args: argparse.Namespace, protocol: Protocol) -> None:
    for line in sys.stdin:
        if line.split()[0] == "quit":
            return
        started = time.perf_counter()
        results = asyncio.run(
            floor_requests(args.n, args.delay_ms, args.base_url, args.ca_bundle, args.in_flight)
        )
        protocol.answer(
            {
                "wall_s": time.perf_counter() - started,
                "results": results,
                "peak_rss_mb": peak_rss_mb(),
            }
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["runner", "floor"])
    parser.add_argument("--n", type=int, required=True)
    parser.add_argument("--delay-ms", type=int, default=200)
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--ca-bundle", default=None)
    parser.add_argument("--in-flight", type=int, default=None)
    args = parser.parse_args()
    from vigil_cli.targets import raise_fd_limit

    raise_fd_limit(8192)
    protocol = Protocol()
    if args.mode == "runner":
        serve_runner(args, protocol)
    else:
        serve_floor(args, protocol)


if __name__ == "__main__":
    main()
