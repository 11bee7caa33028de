"""Vigil's cost per check per month, from the benchmark's measurements (``make bench``).

A group of N checks on a 1-minute schedule runs 43,800 times a month (730 hours).
From one measured warm run of that group (``run.cost_model``: CPU time, write
units, log bytes with and without per-check metrics) and AWS's published
us-east-1 list prices, this computes what each service bills per check per month.

The model, and where it is conservative:

* Lambda bills duration x memory. A function with M MB gets M/1769 of a vCPU,
  so the CPU time measured here (on a full core) takes ``1769/M`` times longer
  there; the target's own answer time is added on top, as if no check overlapped
  another's waiting (they do: the real duration is shorter).
* DynamoDB: the write units of a steady run, every run; the hourly and daily
  rollup batches add under 3 % at N = 200 (``tests/integration/test_write_cost.py``)
  and are left out. One state read per run (1 read unit per 4 KB, at most the size
  of what the run wrote). Storage: each run's writes kept for the history
  retention, an upper bound on the run records' size, with point-in-time recovery.
* CloudWatch: EMF metrics cost no API call, but every metric name x dimension set
  is a custom metric billed per month (``Healthy`` and ``LatencyMs`` per check;
  six per group); logs are billed per GB ingested and stored (30-day retention).
* SNS: an alert is published only on a confirmed transition. Counted at
  ``ALERTS_PER_CHECK_MONTH`` alerts per check per month (a failure and its
  recovery about five times a month, a pessimistic rate for a service worth
  monitoring), each delivered to one email and one HTTPS (chat) subscriber.
* EventBridge Scheduler: the first 14 million invocations a month are free, and
  a group makes 43,800: left out.

The prices are ``vigil_cli.costs.PRICES`` (one table for every cost figure Vigil
prints). Prices change: check https://aws.amazon.com/pricing/ before relying on these.
"""

from __future__ import annotations

import math
from typing import Any

from vigil_cli.costs import (
    LAMBDA_FULL_VCPU_MB,
    PRICES,
    ROUTE53_AWS_ENDPOINT,
    ROUTE53_FEATURE_OTHER,
    ROUTE53_OTHER_ENDPOINT,
    RUNS_PER_MONTH,
    SYNTHETICS_CANARY_RUN,
)

ALERTS_PER_CHECK_MONTH = 10
GROUP_METRICS = 6  # Healthy/Degraded/Unhealthy/ErrorChecks, RunDurationMs, AlertsPending
CHECK_METRICS = 2  # Healthy, LatencyMs


def monthly_cost_per_check(
    n: int,
    measured: dict[str, Any],
    *,
    memory_mb: int,
    service_ms: float,
    per_check_metrics: bool,
    history_days: int = 30,
) -> dict[str, float]:
    """USD per check per month, by service, for a group of ``n`` checks run every minute."""
    p = PRICES
    duration_s = (measured["cpu_ms"] * LAMBDA_FULL_VCPU_MB / memory_mb + service_ms) / 1000
    lambda_usd = RUNS_PER_MONTH * (
        duration_s * memory_mb / 1024 * p["lambda_gb_second_arm64"] + p["lambda_request"]
    )

    units = measured["write_units"]
    stored_gb = units * 1024 * 60 * 24 * history_days / 1e9
    dynamodb_usd = (
        RUNS_PER_MONTH * units * p["dynamodb_write_unit"]
        + RUNS_PER_MONTH * max(1, math.ceil(units / 4)) * p["dynamodb_read_unit"]
        + stored_gb * (p["dynamodb_gb_month"] + p["dynamodb_pitr_gb_month"])
    )

    metrics = GROUP_METRICS + (CHECK_METRICS * n if per_check_metrics else 0)
    metrics_usd = metrics * p["cloudwatch_metric_month"]
    log_bytes = measured["log_bytes_metrics" if per_check_metrics else "log_bytes_no_metrics"]
    log_gb = RUNS_PER_MONTH * log_bytes / 1e9
    # 30-day retention keeps about one month of logs (billed compressed: this is an upper bound).
    logs_usd = log_gb * (p["cloudwatch_logs_ingested_gb"] + p["cloudwatch_logs_stored_gb_month"])

    sns_usd_per_check = ALERTS_PER_CHECK_MONTH * (
        p["sns_publish"] + p["sns_email_delivery"] + p["sns_https_delivery"]
    )

    costs = {
        "lambda": lambda_usd / n,
        "dynamodb": dynamodb_usd / n,
        "metrics": metrics_usd / n,
        "logs": logs_usd / n,
        "sns": sns_usd_per_check,
    }
    costs["total"] = sum(costs.values())
    return costs


def alternatives() -> dict[str, float]:
    """The alternatives' published price per check per month (1-minute interval or better)."""
    return {
        "Route 53, AWS endpoint, basic": ROUTE53_AWS_ENDPOINT,
        "Route 53, other endpoint, basic": ROUTE53_OTHER_ENDPOINT,
        "Route 53, other endpoint, HTTPS + string match": ROUTE53_OTHER_ENDPOINT
        + 2 * ROUTE53_FEATURE_OTHER,
        "CloudWatch Synthetics canary, every minute": RUNS_PER_MONTH * SYNTHETICS_CANARY_RUN,
    }


def print_cost_table(
    cost_inputs: dict[int, dict[str, Any]], *, memory_mb: int, service_ms: float
) -> None:
    """The per-check monthly cost of each measured group size, with and without metrics."""
    print(
        f"\ncost per check per month (USD), 1-minute interval, {memory_mb} MB arm64,"
        f" a {service_ms:.0f} ms service (tests/bench/costs.py: model and prices)"
    )
    header = (
        f"{'N':>5} {'per-check metrics':<18}{'Lambda':>9}{'DynamoDB':>10}{'metrics':>9}"
        f"{'logs':>9}{'SNS':>9}{'total':>9}"
    )
    print(header)
    print("-" * len(header))
    for n, measured in cost_inputs.items():
        for per_check in (True, False):
            c = monthly_cost_per_check(
                n, measured, memory_mb=memory_mb, service_ms=service_ms, per_check_metrics=per_check
            )
            label = "on" if per_check else "off"
            print(
                f"{n:>5} {label:<18}{c['lambda']:>9.4f}{c['dynamodb']:>10.4f}"
                f"{c['metrics']:>9.4f}{c['logs']:>9.4f}{c['sns']:>9.4f}{c['total']:>9.4f}"
            )
    print("the alternatives, at their published prices per check per month:")
    for name, usd in alternatives().items():
        print(f"  {name}: {usd:.2f}")
