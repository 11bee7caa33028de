"""Ping Lambda (behind its own Function URL, auth NONE): the door heartbeat jobs report to.

``<ping url>/<group>/<check>/<token>[/start|/fail|/log|/<exit status>][?rid=<run id>]``
by GET, HEAD or POST; see ``vigil.ping_door`` and the README ("Heartbeats").
It reads the runner's config (``HEALTHCHECK_CONFIG``) and writes the runner's table
(``HEALTHCHECK_TABLE``).
"""

from __future__ import annotations

from vigil import lambda_init

lambda_init.begin()  # before the imports below: they are the container's init

from pathlib import Path

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers

from vigil.environment.ping import door_from_environment

logger = Logger()
copy_config_to_registered_loggers(source_logger=logger, include={"vigil"})
# The package holds functions/ whole: the configuration is the runner's checks.yaml.
DEFAULT_CONFIG = Path(__file__).resolve().parent.parent / "runner" / "checks.yaml"


# Never the event, whatever POWERTOOLS_LOGGER_LOG_EVENT says: its path holds the token.
@logger.inject_lambda_context(log_event=False)
def handler(event, context):
    try:
        door = door_from_environment(DEFAULT_CONFIG)
    finally:  # even when the environment is refused: the collector must come back on
        lambda_init.end()
    return door.answer(event)
