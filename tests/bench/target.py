"""The benchmark's HTTP target, in a process of its own.

The target is :class:`vigil_cli.targets.HttpTarget` (``/slow?ms=N`` answers
after N ms and records, per request, its own receive-to-respond time). It runs
in its own process so that the runner's event loop and the target's never
share an interpreter, as with a real service. The benchmark drives it over
stdin/stdout, one command per line:

* ``reset`` - forget the recorded requests; answers ``ok``
* ``records`` - answers one JSON line: ``{"<id query value>": seconds, ...}``
* ``cpu`` - answers the CPU seconds the target process has used so far
* ``quit``
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import parse_qs

REPO = Path(__file__).resolve().parents[2]


class TargetProcess:
    """Starts ``python -m tests.bench.target`` and talks to it."""

    def __init__(self) -> None:
        self._process = subprocess.Popen(
            [sys.executable, "-m", "tests.bench.target"],
            cwd=REPO,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            self.port = int(self._ask("port"))
        except BaseException:
            self._process.kill()
            self._process.wait()
            raise
        self.base_url = f"http://127.0.0.1:{self.port}"

    def _ask(self, command: str) -> str:
        assert self._process.stdin is not None and self._process.stdout is not None
        self._process.stdin.write(command + "\n")
        self._process.stdin.flush()
        answer = self._process.stdout.readline()
        if not answer:
            raise RuntimeError(f"the target process ended (asked {command!r})")
        return answer.strip()

    def reset(self) -> None:
        self._ask("reset")

    def records(self) -> dict[str, float]:
        """Server-side seconds per request, by the ``id`` query parameter."""
        return json.loads(self._ask("records"))

    def cpu_s(self) -> float:
        return float(self._ask("cpu"))

    def close(self) -> None:
        with contextlib.suppress(RuntimeError, OSError):
            self._ask("quit")
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()

    def __enter__(self) -> TargetProcess:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def main() -> None:
    from vigil_cli.targets import HttpTarget

    with HttpTarget(backlog=4096) as target:
        for line in sys.stdin:
            command = line.strip()
            if command == "port":
                answer = str(target.port)
            elif command == "reset":
                target.reset_records()
                answer = "ok"
            elif command == "records":
                by_id = {}
                for record in target.records():
                    ident = parse_qs(record.query).get("id", ["?"])[0]
                    by_id[ident] = record.seconds
                answer = json.dumps(by_id)
            elif command == "cpu":
                times = os.times()
                answer = str(times.user + times.system)
            elif command == "quit":
                return
            else:
                answer = f"unknown command {command!r}"
            sys.stdout.write(answer + "\n")
            sys.stdout.flush()


if __name__ == "__main__":
    main()
