"""Runner Lambda: runs one check group per scheduled event.

Event: {"group": "core", "scheduled_time": "<ISO 8601>"}; see README "Runner handler".
"""

from __future__ import annotations

import gc
import math
import os
import time
from pathlib import Path

# In Lambda the garbage collector stays off while the container initialises: init only
# creates objects that live as long as the container (modules, the config, clients), so
# a collection then walks them for nothing - about 60 ms of a cold start here, most of
# it inside the dependencies' imports. The first invocation collects once, freezes what
# exists and turns the collector back on (freeze_long_lived_objects).
if os.environ.get("AWS_LAMBDA_FUNCTION_NAME"):
    gc.disable()

from aws_lambda_powertools import Logger  # after gc.disable: their imports are init too
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers

from vigil.environment import history_days, runner_from_environment
from vigil.run.event import RunRequest, quote
from vigil.run.execution import freeze_long_lived_objects

# pydantic looks for plugins (a read of every installed package's entry points) when it
# builds its first model, which the runner does while loading its config; it uses none.
# No model is built by the imports above (they defer their build; tests/unit/test_cold_start.py).
os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
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
        freeze_long_lived_objects()
    return runner.run(request, remaining_ms=context.get_remaining_time_in_millis()).to_dict()
