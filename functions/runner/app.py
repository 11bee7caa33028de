"""Runner Lambda: runs one check group per scheduled event.

Event: {"group": "core", "scheduled_time": "<ISO 8601>"}; see README "Runner handler".
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
from vigil.run.event import RunRequest, quote

logger = Logger()
copy_config_to_registered_loggers(source_logger=logger, include={"vigil"})
DEFAULT_CONFIG = Path(__file__).with_name("checks.yaml")


@logger.inject_lambda_context
def handler(event, context):
    logger.info("event %s", quote(event))  # never the whole event: it may be huge
    try:
        request = RunRequest.from_event(event, now=time.time(), retention_days=history_days())
        function_timeout_s = math.ceil(context.get_remaining_time_in_millis() / 1000)
        runner = runner_from_environment(
            DEFAULT_CONFIG, group=request.group, function_timeout_s=function_timeout_s
        )
    finally:  # even when the first event is refused: the collector must come back on
        lambda_init.end()
    return runner.run(request, remaining_ms=context.get_remaining_time_in_millis()).to_dict()
