"""Notifier Lambda: delivers each alert of the alert topic to the destinations of
``notifications:``, and turns Vigil's own CloudWatch alarms into alerts.

Event: an SNS event (from the alert topic or the alarm topic).
"""

from __future__ import annotations

from pathlib import Path

from vigil.coldstart import freeze_long_lived_objects, quiet_init

# In Lambda the garbage collector stays off while the container initialises (the
# imports below are most of it) and comes back on, once init is frozen, with the
# first invocation; pydantic does not look for plugins (vigil.coldstart).
quiet_init()

from aws_lambda_powertools import Logger  # noqa: E402 (after quiet_init: init too)
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers  # noqa: E402

from vigil.notify.environment import notifier_from_environment  # noqa: E402

logger = Logger()
copy_config_to_registered_loggers(source_logger=logger, include={"vigil"})
# The package holds functions/ whole: the configuration is the runner's checks.yaml.
DEFAULT_CONFIG = Path(__file__).resolve().parent.parent / "runner" / "checks.yaml"


@logger.inject_lambda_context  # not the event: SNS records carry an unsubscribe URL
def handler(event, context):
    try:
        notifier = notifier_from_environment(DEFAULT_CONFIG)
    finally:  # even when the environment is refused: the collector must come back on
        freeze_long_lived_objects()
    return notifier.handle(event, context)
