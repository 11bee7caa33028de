"""Runner Lambda: the tick, and the runs it dispatches.

Events (see README "The runner event"): a tick ``{"tick": "<ISO 8601>"}`` from the one
schedule; a run ``{"group": "core", "scheduled_time": "<ISO 8601>"}`` (an asynchronous
invocation, or any other schedule); a batch of the run queue (SQS).
"""

from __future__ import annotations

from vigil import lambda_init

lambda_init.begin()  # before the imports below: they are the container's init

import math
import time
from pathlib import Path

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers

from vigil.environment.runner import history_days, runner_from_environment
from vigil.run.event import QueueBatch, RunRequest, TickRequest, parse_event, quote

logger = Logger()
copy_config_to_registered_loggers(source_logger=logger, include={"vigil"})
DEFAULT_CONFIG = Path(__file__).with_name("checks.yaml")


@logger.inject_lambda_context
def handler(event, context):
    logger.info("event %s", quote(event))  # never the whole event: it may be huge
    try:
        request = parse_event(event, now=time.time(), retention_days=history_days())
        function_timeout_s = math.ceil(context.get_remaining_time_in_millis() / 1000)
        runner = runner_from_environment(
            DEFAULT_CONFIG,
            group=request.group if isinstance(request, RunRequest) else None,
            function_timeout_s=function_timeout_s,
        )
    finally:  # even when the first event is refused: the collector must come back on
        lambda_init.end()
    if isinstance(request, TickRequest):
        return runner.tick(request, remaining_ms=context.get_remaining_time_in_millis()).to_dict()
    if isinstance(request, QueueBatch):
        return runner.run_batch(request, context, retention_days=history_days())
    return runner.run(request, remaining_ms=context.get_remaining_time_in_millis()).to_dict()
