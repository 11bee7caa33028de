"""One region's runner handler in a process of its own, as a Lambda container runs it.

Started by ``tests.support.regions.Worker`` with the region's environment
(``AWS_REGION``, ``AWS_ENDPOINT_URL``, the stack's ``HEALTHCHECK_*`` variables). It
imports ``functions/runner/app.py`` once (the container's init), says ``{"ready":
true}``, then reads one JSON line per event on stdin (``{"id": n, "event": ...}``) and
calls ``handler(event, context)`` with a context of 60 s remaining, writing one JSON
line per answer: ``{"id": n, "result": ...}``, or ``{"id": n, "error": "<type>:
<message>"}`` when the handler raised (its traceback goes to the log). Anything the
handler prints (its logs, EMF metrics) goes to stderr, never into the answers.

``--calls PATH``: every AWS request the process makes is appended to PATH, one JSON
line each (``{"action": "dynamodb:PutItem", "region": ..., "params": ...}``, bytes
left out), for the test to judge against the stack's IAM policy (moto enforces none).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import sys
import threading
import traceback
import uuid
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
REMAINING_MS = 60_000


class LambdaContext:
    """What the handler reads of Lambda's context; always 60 s remaining."""

    function_name = "vigil-runner"
    memory_limit_in_mb = 512

    def __init__(self, region: str) -> None:
        self.aws_request_id = str(uuid.uuid4())
        self.invoked_function_arn = f"arn:aws:lambda:{region}:123456789012:function:vigil-runner"

    def get_remaining_time_in_millis(self) -> int:
        return REMAINING_MS


def load_runner() -> Any:
    path = REPO / "functions" / "runner" / "app.py"
    spec = importlib.util.spec_from_file_location("vigil_function_runner", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def record_calls(path: Path) -> None:
    """Append every botocore operation to ``path`` (the one point every client's
    operation passes through, as ``tests.support.aws_calls`` wraps it)."""
    import botocore.client

    original = botocore.client.BaseClient._make_api_call
    lock = threading.Lock()

    def recording(client: Any, operation: str, params: dict[str, Any]) -> Any:
        line = json.dumps(
            {
                "action": f"{client.meta.service_model.signing_name}:{operation}",
                "region": client.meta.region_name,
                "params": params,
            },
            default=lambda value: "<bytes>" if isinstance(value, bytes) else repr(value),
        )
        with lock, path.open("a") as calls:
            calls.write(line + "\n")
        return original(client, operation, params)

    botocore.client.BaseClient._make_api_call = recording


def main() -> None:
    options = argparse.ArgumentParser()
    options.add_argument("--calls", type=Path)
    calls = options.parse_args().calls
    answers = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # fd 1 (print, the loggers' streams) now writes to the log
    if calls is not None:
        record_calls(calls)
    app = load_runner()
    region = os.environ["AWS_REGION"]
    answers.write(json.dumps({"ready": True}) + "\n")
    for line in sys.stdin:
        request = json.loads(line)
        answer: dict[str, Any] = {"id": request["id"]}
        try:
            answer["result"] = app.handler(request["event"], LambdaContext(region))
        except Exception as exc:
            traceback.print_exc()
            answer["error"] = f"{type(exc).__name__}: {exc}"
        sys.stderr.flush()
        answers.write(json.dumps(answer, default=str) + "\n")


if __name__ == "__main__":
    main()
