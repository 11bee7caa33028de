"""CloudWatch Embedded Metric Format documents, read back as metric data points.

Lambda ships the runner's EMF log lines to CloudWatch, which turns each into
metrics. Locally the lines are captured instead; these pure functions show what
CloudWatch would have recorded, compactly.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class MetricPoint:
    """One value of one metric, with the dimensions CloudWatch files it under."""

    namespace: str
    name: str
    value: float
    unit: str
    dimensions: Mapping[str, str] = field(default_factory=dict)


def metric_points(document: Mapping[str, Any]) -> list[MetricPoint]:
    """The data points of one EMF document (empty for anything else)."""
    points: list[MetricPoint] = []
    directives = (document.get("_aws") or {}).get("CloudWatchMetrics") or []
    for directive in directives:
        names = {n for dimension_set in directive.get("Dimensions") or [] for n in dimension_set}
        dimensions = {n: str(document[n]) for n in sorted(names) if n in document}
        for metric in directive.get("Metrics") or []:
            raw = document.get(metric.get("Name"))
            for value in raw if isinstance(raw, list) else [raw]:
                if isinstance(value, int | float) and not isinstance(value, bool):
                    points.append(
                        MetricPoint(
                            namespace=str(directive.get("Namespace", "")),
                            name=str(metric["Name"]),
                            value=float(value),
                            unit=str(metric.get("Unit", "None")),
                            dimensions=dimensions,
                        )
                    )
    return points


def all_points(documents: Iterable[Mapping[str, Any]]) -> list[MetricPoint]:
    return [point for document in documents for point in metric_points(document)]


def format_value(value: float) -> str:
    """``1.0`` -> ``1``, ``601.23`` -> ``601.2``."""
    return str(int(value)) if float(value).is_integer() else f"{value:.1f}"


def compact(points: Iterable[MetricPoint]) -> str:
    """``Healthy=1 LatencyMs=3.2`` — names and values, in emission order."""
    return " ".join(f"{p.name}={format_value(p.value)}" for p in points)


def by_check(points: Iterable[MetricPoint]) -> dict[tuple[str, str], list[MetricPoint]]:
    """Per-check points keyed by (group, check)."""
    found: dict[tuple[str, str], list[MetricPoint]] = {}
    for point in points:
        group, check = point.dimensions.get("group"), point.dimensions.get("check")
        if group is not None and check is not None:
            found.setdefault((group, check), []).append(point)
    return found


def by_group(points: Iterable[MetricPoint]) -> dict[str, list[MetricPoint]]:
    """Group-level points (a ``group`` dimension and no ``check``) keyed by group."""
    found: dict[str, list[MetricPoint]] = {}
    for point in points:
        group = point.dimensions.get("group")
        if group is not None and "check" not in point.dimensions:
            found.setdefault(group, []).append(point)
    return found
