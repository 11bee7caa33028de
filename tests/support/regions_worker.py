"""One region's runner handler in a process of its own, as a Lambda container runs it.

Started by ``tests.support.regions.Worker`` with the region's environment
(``AWS_REGION``, ``AWS_ENDPOINT_URL``, the stack's ``HEALTHCHECK_*`` variables). It
imports ``functions/runner/app.py`` once (the container's init), says ``{"ready":
true}``, then reads one JSON line per event on stdin (``{"id": n, "event": ...}``) and
calls ``handler(event, context)`` with a context of 60 s remaining, writing one JSON
line per answer: ``{"id": n, "result": ...}``, or ``{"id": n, "error": "<type>:
<message>"}`` when the handler raised (its traceback goes to the log). Anything the
handler prints (its logs, EMF metrics) goes to stderr, never into the answers.
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
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


def main() -> None:
    answers = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # fd 1 (print, the loggers' streams) now writes to the log
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
