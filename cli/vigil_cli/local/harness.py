"""The real runner handler, invoked in-process as Lambda would invoke it (dev only).

``RunnerHarness`` imports ``functions/runner/app.py`` by path under a unique module
name (so it cannot collide with another function's ``app``), calls
``handler(event, context)`` with a Lambda context whose remaining time counts down
from the template's ``Timeout``, and captures what the handler prints: Powertools
JSON log lines and CloudWatch EMF metric documents. The terminal stays readable and
nothing is lost: each ``Invocation`` carries the summary, the error, the metrics
and the log records of one call.

The handler's Powertools ``Logger`` binds ``sys.stdout`` when the module is imported,
so redirecting ``sys.stdout`` is not enough: during a call the stream handlers of
the ``vigil`` logger (and of the Powertools service logger) write to the capture
buffer too, and get their own stream back afterwards.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import json
import logging
import os
import threading
import time
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from vigil_cli.local.local_aws import REPO
from vigil_cli.local.template_file import RUNNER_FUNCTION

LAMBDA_DEFAULT_TIMEOUT = 3  # seconds, when neither the function nor Globals set Timeout
LAMBDA_DEFAULT_MEMORY_MB = 128  # when neither the function nor Globals set MemorySize


def function_setting(
    template: Mapping[str, Any], name: str, default: int, function: str = RUNNER_FUNCTION
) -> int:
    """A whole-number property of the function: its own, else ``Globals``, else ``default``."""
    resource = (template.get("Resources") or {}).get(function) or {}
    own = (resource.get("Properties") or {}).get(name)
    inherited = ((template.get("Globals") or {}).get("Function") or {}).get(name)
    value = own if own is not None else inherited
    try:
        return int(value)
    except (TypeError, ValueError):  # absent, or an intrinsic such as !Ref
        return default


def function_timeout(template: Mapping[str, Any], function: str = RUNNER_FUNCTION) -> int:
    """The function's ``Timeout`` in seconds (its own, else ``Globals``, else Lambda's 3)."""
    return function_setting(template, "Timeout", LAMBDA_DEFAULT_TIMEOUT, function)


def function_memory_mb(template: Mapping[str, Any], function: str = RUNNER_FUNCTION) -> int:
    """The function's ``MemorySize`` in MB (its own, else ``Globals``, else Lambda's 128)."""
    return function_setting(template, "MemorySize", LAMBDA_DEFAULT_MEMORY_MB, function)


class LambdaContext:
    """The parts of Lambda's context object the handler and Powertools read."""

    memory_limit_in_mb = 256

    def __init__(self, timeout_s: float, function_name: str = "vigil-local-runner"):
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.invoked_function_arn = (
            f"arn:aws:lambda:us-east-1:123456789012:function:{function_name}"
        )
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = "local"
        self._deadline = time.monotonic() + timeout_s

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


@dataclass
class Invocation:
    """One call of the handler and everything it printed."""

    event: dict[str, Any]
    summary: dict[str, Any] | None
    error: Exception | None
    seconds: float
    metrics: list[dict[str, Any]] = field(default_factory=list)  # EMF documents
    logs: list[dict[str, Any]] = field(default_factory=list)  # Powertools log records
    other_output: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.error is None and self.summary is not None

    def log_lines(self, minimum: int = logging.WARNING) -> list[str]:
        """``LEVEL message`` of each log record at ``minimum`` or above."""
        lines = []
        for record in self.logs:
            level = str(record.get("level", "INFO")).upper()
            if logging.getLevelName(level) >= minimum:
                lines.append(f"{level} {record.get('message', '')}")
        return lines


def load_function(name: str = "runner") -> ModuleType:
    """Import ``functions/<name>/app.py`` under the module name ``vigil_function_<name>``."""
    path = REPO / "functions" / name / "app.py"
    spec = importlib.util.spec_from_file_location(f"vigil_function_{name}", path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_ONE_CALL_AT_A_TIME = threading.Lock()


class RunnerHarness:
    """Invokes the runner handler in this process; import it after the environment is set."""

    def __init__(self, timeout_s: float, function: str = "runner"):
        self.timeout_s = timeout_s
        self.function = function
        self._module: ModuleType | None = None
        _cold_start()

    @property
    def module(self) -> ModuleType:
        """The function's module (``functions/<function>/app.py``), imported on first use."""
        if self._module is None:
            self._module = load_function(self.function)
        return self._module

    def invoke(self, event: dict[str, Any]) -> Invocation:
        """Call ``handler(event, context)``; never raises for a handler error (see ``error``)."""
        module = self.module
        capture = io.StringIO()
        summary: dict[str, Any] | None = None
        error: Exception | None = None
        started = time.monotonic()
        # One call at a time in this process: its output is captured process-wide (the
        # ping function served on loopback answers from a thread of its own).
        with _ONE_CALL_AT_A_TIME, _handler_output_to(capture):
            try:
                summary = module.handler(event, LambdaContext(self.timeout_s))
            except Exception as exc:  # reported to the caller, as Lambda reports it
                error = exc
        invocation = Invocation(event, summary, error, time.monotonic() - started)
        _sort_output(capture.getvalue(), invocation)
        return invocation


def _cold_start() -> None:
    """Forget the warm-start caches of an earlier harness in this process (new container)."""
    from aws_lambda_powertools.utilities import parameters

    import vigil.environment.ping
    import vigil.environment.runner

    vigil.environment.runner.clear_cache()
    vigil.environment.ping.clear_cache()
    parameters.clear_caches()


def _sort_output(text: str, invocation: Invocation) -> None:
    for line in text.splitlines():
        if not line.strip():
            continue
        try:
            document = json.loads(line)
        except ValueError:
            invocation.other_output.append(line)
            continue
        if isinstance(document, dict) and "_aws" in document:
            invocation.metrics.append(document)
        elif isinstance(document, dict) and "level" in document:
            invocation.logs.append(document)
        else:
            invocation.other_output.append(line)


@contextlib.contextmanager
def _handler_output_to(stream: io.StringIO) -> Iterator[None]:
    """Send ``print`` (EMF) and the handler's log stream handlers to ``stream`` for a while."""
    names = {"vigil", os.environ.get("POWERTOOLS_SERVICE_NAME") or "vigil"}
    swapped: list[tuple[logging.StreamHandler[Any], Any]] = []
    try:
        for name in sorted(names):
            for handler in logging.getLogger(name).handlers:
                if isinstance(handler, logging.StreamHandler) and not isinstance(
                    handler, logging.FileHandler
                ):
                    swapped.append((handler, _swap_stream(handler, stream)))
        with contextlib.redirect_stdout(stream):
            yield
    finally:
        for handler, previous in reversed(swapped):
            _swap_stream(handler, previous)


def _swap_stream(handler: logging.StreamHandler[Any], stream: Any) -> Any:
    """Like ``setStream`` without flushing the old stream (it may be closed already)."""
    with handler.lock or contextlib.nullcontext():
        previous, handler.stream = handler.stream, stream
    return previous
