"""CloudWatch metrics as Embedded Metric Format log lines (Powertools; no API calls).

Per check (dimensions ``group``, ``check``): ``Healthy`` (1 only when healthy)
and ``LatencyMs``. Per group (dimension ``group``): ``HealthyChecks``,
``DegradedChecks``, ``UnhealthyChecks``, ``ErrorChecks``, ``RunDurationMs`` and
``AlertsPending``; ``ErrorChecks`` and ``AlertsPending`` once more for the whole
stack (no ``group``: what the stack's alarms watch), and ``Ticks`` per tick.
Powertools adds the ``service`` dimension to each.
A check with ``metrics: false`` gets a plain JSON log line instead
(``check_result_line``), which costs only its share of the log.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from typing import Any

from vigil.config import GroupConfig
from vigil.results import CheckResult, Status

_GROUP_COUNTS = {
    Status.HEALTHY: "HealthyChecks",
    Status.DEGRADED: "DegradedChecks",
    Status.UNHEALTHY: "UnhealthyChecks",
    Status.ERROR: "ErrorChecks",
}


def _metrics():
    # Each EphemeralMetrics keeps its own metric set: no class-level state to reset.
    from aws_lambda_powertools.metrics import EphemeralMetrics

    return EphemeralMetrics(namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "Vigil"))


def emit_run_metrics(
    group: GroupConfig,
    results: Iterable[CheckResult],
    *,
    run_duration_ms: float,
    alerts_pending: int,
) -> int:
    """Print the EMF documents of one run; return how many were printed."""
    from aws_lambda_powertools.metrics import MetricUnit
    from aws_lambda_powertools.metrics.functions import is_metrics_disabled

    results = list(results)
    per_check = {check.name: check.metrics for check in group.checks}
    emitting = not is_metrics_disabled()  # as Powertools' flush_metrics decides
    # The checks' documents differ only in the check's name and values: Powertools builds
    # (and validates) each of the two shapes - Healthy alone, and with LatencyMs - once a
    # run, and each check's document is a copy of its shape with its own. (Adding and
    # flushing per check cost 2,000 checks about 40 ms more, its debug messages formatted.)
    shapes: dict[bool, dict[str, Any]] = {}
    lines = []
    printed = 0
    for result in results:
        if not per_check.get(result.check, True):
            lines.append(check_result_line(group.name, result))
            continue
        printed += 1
        if not emitting:
            continue
        healthy = float(result.status == Status.HEALTHY)
        latency = None
        if result.latency_ms is not None and result.status in (Status.HEALTHY, Status.DEGRADED):
            latency = float(round(result.latency_ms, 1))
        shape = shapes.get(latency is not None)
        if shape is None:
            shape = shapes[latency is not None] = _check_shape(group.name, result.check, latency)
        document = dict(shape)
        document["check"] = result.check
        document["Healthy"] = [healthy]
        if latency is not None:
            document["LatencyMs"] = [latency]
        lines.append(json.dumps(document, separators=(",", ":")))
    if lines:
        print("\n".join(lines))

    metrics = _metrics()
    metrics.add_dimension(name="group", value=group.name)
    for status, name in _GROUP_COUNTS.items():
        count = sum(1 for r in results if r.status == status)
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=count)
    metrics.add_metric(
        name="RunDurationMs", unit=MetricUnit.Milliseconds, value=round(run_duration_ms)
    )
    metrics.add_metric(name="AlertsPending", unit=MetricUnit.Count, value=alerts_pending)
    metrics.flush_metrics()

    # The same two for the whole stack (dimension service only): the stack's alarms on
    # error checks and undelivered alerts watch every group, so no group needs its own.
    metrics = _metrics()
    errors = sum(1 for r in results if r.status == Status.ERROR)
    metrics.add_metric(name="ErrorChecks", unit=MetricUnit.Count, value=errors)
    metrics.add_metric(name="AlertsPending", unit=MetricUnit.Count, value=alerts_pending)
    metrics.flush_metrics()
    return printed + 2


def _check_shape(group: str, check: str, latency_ms: float | None) -> dict[str, Any]:
    """One check's EMF document as Powertools serialises it (``Healthy``, and
    ``LatencyMs`` when ``latency_ms`` is given; dimensions ``group``, ``check``)."""
    from aws_lambda_powertools.metrics import MetricUnit

    metrics = _metrics()
    metrics.add_dimension(name="group", value=group)
    metrics.add_dimension(name="check", value=check)
    metrics.add_metric(name="Healthy", unit=MetricUnit.Count, value=0)
    if latency_ms is not None:
        metrics.add_metric(name="LatencyMs", unit=MetricUnit.Milliseconds, value=latency_ms)
    return metrics.serialize_metric_set()


def check_result_line(group: str, result: CheckResult) -> str:
    """The log line printed for a check with ``metrics: false`` instead of its metrics.

    ``{"record": "check result", "group", "check", "status", "latency_ms",
    "healthy"}``: what the dashboard's Logs Insights widget reads. It costs only
    its share of the log.
    """
    latency = None if result.latency_ms is None else round(result.latency_ms, 1)
    return json.dumps(
        {
            "record": "check result",
            "group": group,
            "check": result.check,
            "status": str(result.status),
            "latency_ms": latency,
            "healthy": int(result.status == Status.HEALTHY),
        },
        separators=(",", ":"),
    )


def emit_config_error(group: str | None) -> None:
    """``ConfigErrors`` = 1 for a run refused because the configuration is invalid."""
    from aws_lambda_powertools.metrics import MetricUnit

    metrics = _metrics()
    if group:
        metrics.add_dimension(name="group", value=group)
    metrics.add_metric(name="ConfigErrors", unit=MetricUnit.Count, value=1)
    metrics.flush_metrics()


def emit_tick() -> None:
    """``Ticks`` = 1 (dimension ``service`` only): one per tick; the stack's alarm on it
    says when the ticks themselves stop (then no run is dispatched and nothing watched)."""
    from aws_lambda_powertools.metrics import MetricUnit

    metrics = _metrics()
    metrics.add_metric(name="Ticks", unit=MetricUnit.Count, value=1)
    metrics.flush_metrics()
