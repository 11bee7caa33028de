"""Notifier Lambda: delivers each alert of the alert topic to the destinations of
``notifications:``, and turns Vigil's own CloudWatch alarms into alerts.

Event: an SNS event (from the alert topic or the alarm topic).
"""

from __future__ import annotations

from vigil import lambda_init

lambda_init.begin()  # before the imports below: they are the container's init

from pathlib import Path

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers

from vigil.environment.notifier import notifier_from_environment

logger = Logger()
copy_config_to_registered_loggers(source_logger=logger, include={"vigil"})
# The package holds functions/ whole: the configuration is the runner's checks.yaml.
DEFAULT_CONFIG = Path(__file__).resolve().parent.parent / "runner" / "checks.yaml"


@logger.inject_lambda_context  # not the event: SNS records carry an unsubscribe URL
def handler(event, context):
    try:
        notifier = notifier_from_environment(DEFAULT_CONFIG)
    finally:  # even when the environment is refused: the collector must come back on
        lambda_init.end()
    return notifier.handle(event, context)
