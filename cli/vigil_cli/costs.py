"""What Vigil costs on AWS: the published prices, and what a sub-minute schedule adds.

One place for prices: ``vigil validate`` (the sub-minute figures below) and the
benchmark's per-check cost table (``tests/bench/costs.py``) both read them.
AWS's published us-east-1 list prices in USD, before any free tier. Prices change:
check https://aws.amazon.com/pricing/ before relying on these.

What a sub-minute group adds over the same group every minute
(``sub_minute_extra``): the tick puts every run of its minute on the run queue (SQS),
the run of :00 as for a 1-minute group and the group's later runs with a delay. So
each extra run costs:

* Lambda: one request, and the run's duration at the runner's memory. The
  duration is the run's CPU time on a full core (``cpu_ms``; a small group's run
  takes about 30 ms there) scaled to the share of a vCPU that memory buys
  (``LAMBDA_FULL_VCPU_MB``: 256 MB gets 256/1769 of a vCPU, so 6.9 times as long).
  Time spent waiting for the targets is not counted: a run that waits on slow
  targets is billed longer.
* SQS: its share of the tick's ``SendMessageBatch`` (one request per up to 10 runs:
  a tenth of a request), and one ``ReceiveMessage`` and one ``DeleteMessage`` by the
  runner's event source (batch size 1; an upper bound, since the event source may
  receive and delete several messages in one request). The event source's empty
  long polls are a fixed cost of the queue, paid with or without sub-minute groups:
  not counted.
* DynamoDB: two write requests per run (the group state and the run record, about
  one write unit each for a small group) and one read of the state.

A sharded group (``shards`` > 1) makes, per run, one fan-out invocation and one
run per shard, each with its own writes. CloudWatch Logs for the extra runs' log
lines ($0.50 per GB ingested) are not counted.
"""

from __future__ import annotations

from typing import NamedTuple

HOURS_PER_MONTH = 730
RUNS_PER_MONTH = HOURS_PER_MONTH * 60  # a 1-minute schedule
LAMBDA_FULL_VCPU_MB = 1769  # memory at which a function gets one full vCPU

PRICES = {  # us-east-1, USD
    "lambda_gb_second_arm64": 0.0000133334,
    "lambda_request": 0.20 / 1e6,
    "sqs_request": 0.40 / 1e6,  # standard queue, per request of up to 64 KB
    "dynamodb_write_unit": 0.625 / 1e6,  # on-demand
    "dynamodb_read_unit": 0.125 / 1e6,
    "dynamodb_gb_month": 0.25,
    "dynamodb_pitr_gb_month": 0.20,
    "cloudwatch_metric_month": 0.30,  # first 10,000 custom metrics
    "cloudwatch_logs_ingested_gb": 0.50,
    "cloudwatch_logs_stored_gb_month": 0.03,
    "sns_publish": 0.50 / 1e6,
    "sns_email_delivery": 2.00 / 1e5,
    "sns_https_delivery": 0.60 / 1e6,
}

# Published prices of the alternatives, per health check (or canary) per month.
ROUTE53_AWS_ENDPOINT = 0.50
ROUTE53_OTHER_ENDPOINT = 0.75
ROUTE53_FEATURE_AWS = 1.00  # each of HTTPS, string matching, fast interval, latency graphs
ROUTE53_FEATURE_OTHER = 2.00
SYNTHETICS_CANARY_RUN = 0.0012

DEFAULT_RUN_CPU_MS = 30.0  # a small group's run, on a full core
SQS_BATCH = 10  # SendMessageBatch's limit
SQS_REQUESTS_PER_RUN = 2  # the event source's ReceiveMessage and DeleteMessage (batch size 1)
WRITES_PER_RUN = 2  # the group state and the run record, ~1 write unit each
READS_PER_RUN = 1  # the group state


class SubMinuteCost(NamedTuple):
    """USD a month that a group's extra runs add over running every minute."""

    extra_runs_per_minute: int
    lambda_usd: float
    sqs_usd: float
    dynamodb_usd: float

    @property
    def total_usd(self) -> float:
        return self.lambda_usd + self.sqs_usd + self.dynamodb_usd


def run_duration_s(cpu_ms: float, memory_mb: int) -> float:
    """Seconds Lambda bills for ``cpu_ms`` of CPU on a full core, at ``memory_mb``."""
    return cpu_ms * LAMBDA_FULL_VCPU_MB / memory_mb / 1000


def sub_minute_extra(
    every_s: float,
    *,
    memory_mb: int,
    cpu_ms: float = DEFAULT_RUN_CPU_MS,
    shards: int = 1,
) -> SubMinuteCost | None:
    """What a group run every ``every_s`` seconds (under a minute) adds a month over the
    same group every minute (the module docstring has the model); None from 1 minute on."""
    if every_s >= 60:
        return None
    extra = round(60 / every_s) - 1  # 10s -> 5, 15s -> 3, 20s -> 2, 30s -> 1
    extra_month = extra * RUNS_PER_MONTH
    p = PRICES
    invocations = 1 + shards if shards > 1 else 1  # the fan-out, then one per shard
    per_run_gb_s = shards * run_duration_s(cpu_ms, memory_mb) * memory_mb / 1024
    lambda_usd = extra_month * (
        invocations * p["lambda_request"] + per_run_gb_s * p["lambda_gb_second_arm64"]
    )
    sqs_requests = extra_month * (1 / SQS_BATCH + SQS_REQUESTS_PER_RUN)
    dynamodb_usd = (
        extra_month
        * shards
        * (WRITES_PER_RUN * p["dynamodb_write_unit"] + READS_PER_RUN * p["dynamodb_read_unit"])
    )
    return SubMinuteCost(extra, lambda_usd, sqs_requests * p["sqs_request"], dynamodb_usd)
