"""The check interface: a check measures its target; ``judge`` turns that into a status.

A check type is a subclass of ``Check`` with a ``probe`` coroutine. ``probe``
returns a ``Probe`` (what was measured and whether the target passed every
condition) and raises ``CheckSetupError`` when the check itself cannot run.
``Check.run`` never raises: every outcome becomes a ``CheckResult``.
"""

from __future__ import annotations

import ssl
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, NamedTuple

from vigil.checks.model import CheckConfig
from vigil.exceptions import CheckSetupError
from vigil.redact import (
    credential_forms,
    excerpt,
    header_forms,
    printable,
    scrub,
    secret_forms,
    url_credential_forms,
)
from vigil.results import CheckResult, Status

if TYPE_CHECKING:  # the heartbeat check's module imports vigil.pings itself
    from vigil.pings import PingSummary


@dataclass(frozen=True)
class Probe:
    """What one measurement of a target found.

    ``passed``: every condition held. ``warning``: it passed, but with a soft
    failure that makes it ``degraded`` (a TLS certificate expiring soon); the
    warning is then the result's reason.
    """

    passed: bool
    reason: str
    latency_ms: float | None = None
    details: dict[str, Any] = field(default_factory=dict)
    warning: str | None = None


class HeartbeatView(NamedTuple):
    """What a heartbeat check is judged from: its pings up to the run's scheduled time
    ``at``, and ``first_seen`` (the first run of its group that had it)."""

    summary: PingSummary
    at: datetime
    first_seen: datetime


class CheckResources:
    """What checks of one run share: TLS contexts, a thread pool, secret lookup, and the
    pings of its heartbeat checks (read by the runner before the checks start).

    Created per run by the runner; ``close`` releases the threads without waiting
    for a blocking call that may still hang (its hard timeout already fired).
    """

    def __init__(
        self,
        get_secret: Callable[[str], Any] | None = None,
        max_threads: int = 32,
        *,
        ssl_contexts: dict[tuple[bool, str | None], ssl.SSLContext] | None = None,
        heartbeats: Mapping[str, HeartbeatView] | None = None,
    ):
        """``ssl_contexts``: a cache to share with other runs (the runner keeps one warm)."""
        self._get_secret = get_secret
        self._ssl = {} if ssl_contexts is None else ssl_contexts
        self.heartbeats: Mapping[str, HeartbeatView] = heartbeats or {}
        self.executor = ThreadPoolExecutor(max_workers=max_threads, thread_name_prefix="vigil")

    def ssl_context(self, verify: bool = True, cafile: str | None = None) -> ssl.SSLContext:
        """One SSL context per (verification, CA file), shared by every check of the run.

        Verification uses certifi's CA bundle (as httpx does) unless ``cafile``
        names another bundle, such as Amazon RDS's.
        """
        key = (verify, cafile)
        if key not in self._ssl:
            if verify:
                import certifi  # a dependency of httpx

                ctx = ssl.create_default_context(cafile=cafile or certifi.where())
            else:
                ctx = ssl.create_default_context()
                ctx.check_hostname = False
                ctx.verify_mode = ssl.CERT_NONE
            self._ssl[key] = ctx
        return self._ssl[key]

    def secret(self, name: str) -> Any:
        """Fetch a secret (blocking; call from a worker thread). Raises ``CheckSetupError``."""
        if self._get_secret is None:
            raise CheckSetupError(f"no secret store is configured to read {name!r}")
        return self._get_secret(name)

    def close(self) -> None:
        self.executor.shutdown(wait=False, cancel_futures=True)


class Check(ABC):
    """One configured check. Subclasses implement ``probe``."""

    def __init__(self, config: CheckConfig, resources: CheckResources):
        self.config = config
        self.resources = resources
        self._secrets: set[str] = set()

    @property
    def name(self) -> str:
        return self.config.name

    def remember_secret(self, value: str) -> None:
        """Register a credential so that no reason or detail can ever show it, in any form.

        Every form is registered: plain, URL-encoded, base64, JSON-escaped.
        """
        self._secrets |= secret_forms(value)

    def remember_credentials(self, user: str, password: str) -> None:
        """Register a password and ``user:password`` (as HTTP Basic auth sends it)."""
        self._secrets |= credential_forms(user, password)

    def remember_header(self, name: str, value: str) -> None:
        """Register a request header's value if the header carries a credential."""
        self._secrets |= header_forms(name, value)

    def remember_url(self, url: str) -> None:
        """Register a URL's user:password and its credential-like query parameter values."""
        self._secrets |= url_credential_forms(url)

    def excerpt(self, text: str | bytes) -> str:
        """A short printable quote of what the target sent, credentials masked first."""
        return excerpt(text, self._secrets)

    @abstractmethod
    async def probe(self) -> Probe:
        """Measure the target once; raise ``CheckSetupError`` if the check cannot run."""

    async def run(self) -> CheckResult:
        """Probe and judge the outcome. Never raises (but may be cancelled).

        The runner bounds the call with a hard timeout; see ``timed_out``.
        """
        try:
            probe = await self.probe()
        except CheckSetupError as exc:
            return self._result(Status.ERROR, str(exc))
        except Exception as exc:  # a bug or an unforeseen library error: this check only
            # the message may quote what the target sent: a short, masked excerpt only
            reason = f"check failed to run: {type(exc).__name__}: {self.excerpt(str(exc))}"
            return self._result(Status.ERROR, reason)
        return self.judge(probe)

    def timed_out(self, hard_timeout: float, elapsed_ms: float) -> CheckResult:
        """The result when ``run`` did not return within its hard timeout."""
        return self._result(
            Status.UNHEALTHY, f"no answer within {hard_timeout:g}s", latency_ms=elapsed_ms
        )

    def judge(self, probe: Probe) -> CheckResult:
        """Failed conditions: unhealthy; passing with a warning or slower than
        ``degraded_after``: degraded (the warning first); else healthy."""
        if not probe.passed:
            return self._result(Status.UNHEALTHY, probe.reason, probe.latency_ms, probe.details)
        soft = [probe.warning] if probe.warning else []
        limit = self.config.degraded_after
        if limit is not None and probe.latency_ms is not None and probe.latency_ms > limit * 1000:
            soft.append(f"slow: {probe.latency_ms:.0f} ms > {limit * 1000:.0f} ms ({probe.reason})")
        if soft:
            return self._result(Status.DEGRADED, "; ".join(soft), probe.latency_ms, probe.details)
        return self._result(Status.HEALTHY, probe.reason, probe.latency_ms, probe.details)

    def _result(
        self,
        status: Status,
        reason: str,
        latency_ms: float | None = None,
        details: dict[str, Any] | None = None,
    ) -> CheckResult:
        details = {"target": self.config.target, **(details or {})}
        line = scrub(reason.splitlines()[0] if reason else "", self._secrets)
        reason = printable(line, ascii_only=False)[:300]
        return CheckResult(self.name, status, reason, latency_ms, self._scrubbed(details))

    def _scrubbed(self, value: Any) -> Any:
        """``value`` with every registered credential masked in every string it holds."""
        if not self._secrets:
            return value
        if isinstance(value, str):
            return scrub(value, self._secrets)
        if isinstance(value, dict):
            return {k: self._scrubbed(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self._scrubbed(v) for v in value]
        return value
