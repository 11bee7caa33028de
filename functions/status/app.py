"""Status Lambda (behind a Function URL): the JSON status API and the HTML status page.

Routes and fields: see ``vigil.status.api`` and the README ("Status API and page").
It reads the runner's table (``HEALTHCHECK_TABLE``) and config (``HEALTHCHECK_CONFIG``).
"""

from __future__ import annotations

from vigil import lambda_init

lambda_init.begin()  # before the imports below: they are the container's init

from pathlib import Path

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers

from vigil.environment.status import queries_from_environment
from vigil.status.api import build_resolver

logger = Logger()
copy_config_to_registered_loggers(source_logger=logger, include={"vigil"})
DEFAULT_CONFIG = Path(__file__).resolve().parent.parent / "runner" / "checks.yaml"

resolver = build_resolver(lambda: queries_from_environment(DEFAULT_CONFIG))


@logger.inject_lambda_context
def handler(event, context):
    try:
        return resolver.resolve(event, context)
    finally:  # the first request ends the container's init
        lambda_init.end()
