"""Runner Lambda: runs one check group per scheduled event.

Event: {"group": "core", "scheduled_time": "<ISO 8601>"}; see DESIGN.md.
"""

from __future__ import annotations

from pathlib import Path

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers

from vigil.environment import runner_from_environment
from vigil.runner import RunRequest, freeze_long_lived_objects

logger = Logger()
copy_config_to_registered_loggers(source_logger=logger, include={"vigil"})
DEFAULT_CONFIG = Path(__file__).with_name("checks.yaml")


@logger.inject_lambda_context(log_event=True)
def handler(event, context):
    request = RunRequest.from_event(event)
    runner = runner_from_environment(DEFAULT_CONFIG, group=request.group)
    freeze_long_lived_objects()
    return runner.run(request, remaining_ms=context.get_remaining_time_in_millis())
