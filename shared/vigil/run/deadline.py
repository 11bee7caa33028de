"""Every AWS call of a run ends before the run's deadline, retries included.

botocore retries a throttled or failed call with exponential backoff (standard
mode: 3 attempts, sleeps of up to 1 s and 2 s). Left alone, a run whose SNS
returns 500 for a while outlives its Lambda. ``RunDeadline`` hooks into each
client's events:

- ``before-send``: an attempt starts only if its worst case (connect + read
  timeout) ends before the deadline;
- ``needs-retry`` (before botocore's own handler): a failure botocore would
  retry is raised at once, as ``RunDeadlineError`` chained to it, when the
  backoff and one more attempt would pass the deadline.

The clients' connect and read timeouts scale with the function's timeout
(``client_config``), so a short function still gets its calls through.
"""

from __future__ import annotations

import time
from typing import Any

from vigil.exceptions import RunDeadlineError

MAX_ATTEMPTS = 3  # botocore standard mode: one attempt and two retries (total_max_attempts)


def attempt_timeouts(function_timeout_s: float) -> tuple[float, float]:
    """(connect, read) timeouts of one attempt: 1 s and 2 s, or 5% each of a short timeout."""
    return min(1.0, 0.05 * function_timeout_s), min(2.0, 0.05 * function_timeout_s)


def client_config(function_timeout_s: float, **extra: Any) -> Any:
    """A botocore ``Config`` for the run's AWS clients."""
    from botocore.config import Config

    connect, read = attempt_timeouts(function_timeout_s)
    return Config(
        connect_timeout=connect,
        read_timeout=read,
        retries={"mode": "standard", "total_max_attempts": MAX_ATTEMPTS},
        **extra,
    )


class RunDeadline:
    """The deadline (``time.monotonic``) of the run in progress, enforced on attached clients.

    One instance serves a warm container's clients across runs: ``start`` sets the
    deadline for the run, ``clear`` lifts it (no deadline: calls are unbounded).
    """

    def __init__(self, function_timeout_s: float = 60.0, *, clock: Any = time.monotonic):
        connect, read = attempt_timeouts(function_timeout_s)
        self.attempt_s = connect + read
        self.needed_s = self.attempt_s  # left before an attempt may start
        self.ends_at: float | None = None
        self._clock = clock
        self._retry_conditions: Any = None

    def start(self, ends_at: float, reserve_s: float | None = None) -> None:
        """Bound calls by ``ends_at``. ``reserve_s``: the time the run keeps after its checks;
        a run that starts late (less time than the function's timeout) may start an
        attempt with 80% of that reserve left even if its timeouts would not fit."""
        self.ends_at = ends_at
        self.needed_s = (
            self.attempt_s if reserve_s is None else min(self.attempt_s, 0.8 * reserve_s)
        )

    def clear(self) -> None:
        self.ends_at = None
        self.needed_s = self.attempt_s

    def left(self) -> float:
        """Seconds until the deadline (infinite when none is set)."""
        return float("inf") if self.ends_at is None else self.ends_at - self._clock()

    def attach(self, client: Any) -> Any:
        """Bound every call of ``client`` by this deadline; returns the client."""
        events = client.meta.events
        events.register_first("before-send", self._before_send, unique_id="vigil-deadline-send")
        events.register_first("needs-retry", self._before_retry, unique_id="vigil-deadline-retry")
        return client

    # botocore event handlers ---------------------------------------------------------------
    def _before_send(self, request: Any = None, event_name: str = "", **_: Any) -> None:
        left = self.left()
        if left < self.needed_s:
            raise RunDeadlineError(
                f"{_operation(event_name)} not sent: {max(0.0, left):.2f}s left before the run's "
                f"deadline, an attempt may take {self.needed_s:.1f}s"
            )

    def _before_retry(
        self,
        response: Any = None,
        attempts: int = 1,
        caught_exception: BaseException | None = None,
        operation: Any = None,
        request_dict: dict[str, Any] | None = None,
        event_name: str = "",
        **_: Any,
    ) -> None:
        if self.ends_at is None:
            return
        backoff_max = 2.0 ** (attempts - 1)  # botocore's standard backoff: rand * 2^(n-1)
        if self.left() >= backoff_max + self.needed_s:
            return
        if not self._retryable(attempts, operation, response, caught_exception, request_dict):
            return
        error: BaseException | None = caught_exception
        if error is None and response is not None:
            from botocore.exceptions import ClientError

            error = ClientError(response[1], getattr(operation, "name", "call"))
        raise RunDeadlineError(
            f"{_operation(event_name)} failed ({_describe(response, caught_exception)}) and no "
            "time is left to retry it before the run's deadline"
        ) from error

    def _retryable(self, attempts, operation, response, caught_exception, request_dict) -> bool:
        from botocore.retries.standard import RetryContext, StandardRetryConditions

        if self._retry_conditions is None:
            self._retry_conditions = StandardRetryConditions(max_attempts=MAX_ATTEMPTS)
        http_response, parsed = response if response is not None else (None, None)
        context = RetryContext(
            attempt_number=attempts,
            operation_model=operation,
            parsed_response=parsed,
            http_response=http_response,
            caught_exception=caught_exception,
            request_context=dict((request_dict or {}).get("context", {})),
        )
        return bool(self._retry_conditions.is_retryable(context))


def _operation(event_name: str) -> str:
    parts = event_name.split(".")
    return ".".join(parts[1:3]) if len(parts) >= 3 else "AWS call"


def _describe(response: Any, caught_exception: BaseException | None) -> str:
    if caught_exception is not None:
        return type(caught_exception).__name__
    if response is not None:
        error = response[1].get("Error", {})
        return error.get("Code") or f"HTTP {response[0].status_code}"
    return "unknown error"
