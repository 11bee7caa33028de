"""Build a ``Runner`` from the Lambda environment (a deliberate warm-start cache).

Environment: ``HEALTHCHECK_TABLE``, ``HEALTHCHECK_TOPIC_ARN``, optional
``HEALTHCHECK_CONFIG`` (default: ``checks.yaml`` beside the handler) and
``HEALTHCHECK_HISTORY_DAYS`` (default 30); with ``locations`` in the configuration,
``AWS_REGION`` (this stack's role), and for a probe ``HEALTHCHECK_HOME_TABLE`` (empty:
the table of the stack named ``HEALTHCHECK_STACK_NAME`` in the home region, looked up on
first use). The AWS clients are bounded by the run's deadline (``vigil.run.deadline``),
with attempt timeouts scaled to the function's timeout.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from vigil.config import VigilConfig, load_config, resolve_config_path
from vigil.environment.history import history_days
from vigil.exceptions import ConfigError, VigilError
from vigil.metrics import emit_config_error
from vigil.run.runner import Runner

logger = logging.getLogger(__name__)

TABLE_ENV = "HEALTHCHECK_TABLE"
HOME_TABLE_ENV = "HEALTHCHECK_HOME_TABLE"  # a probe's: the home's table (empty: looked up)
STACK_ENV = "HEALTHCHECK_STACK_NAME"  # the stack's name, the same in every region
REGION_ENV = "AWS_REGION"  # Lambda's: the region this stack runs in
TOPIC_ENV = "HEALTHCHECK_TOPIC_ARN"

# Warm-start cache: one Runner per (config file, its mtime, table, topic), so a warm
# Lambda container neither re-reads the config nor re-creates its AWS clients.
_RUNNER_CACHE: dict[tuple[str, float, str, str], Runner] = {}
DEFAULT_FUNCTION_TIMEOUT_S = 60.0


def clear_cache() -> None:
    """Forget the cached runner (a new configuration, table or topic is read next time)."""
    _RUNNER_CACHE.clear()


def load_config_or_refuse(
    path: Path, group: str | None = None, *, function_timeout: float | None = None
) -> VigilConfig:
    """Load the config; if it is invalid, log it, emit ``ConfigErrors`` and re-raise.

    Nothing has been written at that point: the run is refused as a whole.
    """
    try:
        return load_config(path, function_timeout=function_timeout)
    except ConfigError as exc:
        logger.error("configuration refused: %s", exc, extra={"problems": exc.problems})
        emit_config_error(group)
        raise


def runner_from_environment(
    default_config: Path,
    group: str | None = None,
    *,
    function_timeout_s: float = DEFAULT_FUNCTION_TIMEOUT_S,
) -> Runner:
    """The cached ``Runner`` for the current environment and config file.

    ``function_timeout_s``: the Lambda's timeout (at a cold start, the time the
    first invocation has left); it scales the AWS clients' attempt timeouts.
    """
    path = resolve_config_path(default_config)
    table = _required(TABLE_ENV)
    topic = _required(TOPIC_ENV)
    try:
        mtime = path.stat().st_mtime
    except OSError:
        mtime = -1.0
    key = (str(path), mtime, table, topic)
    runner = _RUNNER_CACHE.get(key)
    if runner is None:
        import boto3

        from vigil.alerts.sns import SnsPublisher
        from vigil.run.deadline import RunDeadline, client_config
        from vigil.store.dynamodb import DynamoDBStore

        config = load_config_or_refuse(path, group, function_timeout=function_timeout_s)
        deadline = RunDeadline(function_timeout_s)
        bounded = client_config(function_timeout_s)
        dynamodb = deadline.attach(boto3.client("dynamodb", config=bounded))
        runner = Runner(
            config,
            DynamoDBStore(table, client=dynamodb),
            SnsPublisher(topic, client=deadline.attach(boto3.client("sns", config=bounded))),
            history_days=history_days(),
            get_secret=_fetch_secret,
            deadline=deadline,
            pings=_pings(config, table, dynamodb),
            location=_location(config, deadline, bounded),
        )
        _RUNNER_CACHE.clear()
        _RUNNER_CACHE[key] = runner
    return runner


def _pings(config: VigilConfig, table: str, client: Any) -> Any:
    """The pings store when a group has heartbeat checks (None: their module, and the
    pings', are never imported by a runner without any)."""
    if not any(c.type == "heartbeat" for g in config.groups.values() for c in g.checks):
        return None
    from vigil.store.pings import PingStore

    return PingStore(table, client=client)


def _location(config: VigilConfig, deadline: Any, bounded: Any) -> Any:
    """This stack's role when the config has locations (None without): its region is
    ``AWS_REGION``; a probe writes to the home's table, ``HEALTHCHECK_HOME_TABLE`` (empty:
    the table of the stack of the same name in the home region)."""
    if config.locations is None:
        return None
    import boto3

    from vigil.locations import PROBE
    from vigil.run.runner import LocationRole
    from vigil.store.dynamodb import DynamoDBStore

    region = _required(REGION_ENV)
    try:
        role = config.locations.role(region)
    except ValueError as exc:
        raise VigilError(str(exc)) from None
    if role != PROBE:
        return LocationRole(config.locations, region, role)
    home = config.locations.home
    client = deadline.attach(boto3.client("dynamodb", region_name=home, config=bounded))
    named = os.environ.get(HOME_TABLE_ENV)
    stack = None if named else _required(STACK_ENV)

    def home_store() -> DynamoDBStore:
        return DynamoDBStore(named or home_table(stack, home, bounded), client=client)

    return LocationRole(config.locations, region, role, HomeStore(home_store))


class HomeStore:
    """The home's table, found on first use, and again at each use until found: a probe
    whose home region is down (or not deployed yet) still starts, runs its checks and
    ticks (its watch alerts ``home-silent``); only what it reads or writes there fails."""

    def __init__(self, make: Callable[[], Any]):
        self._make = make
        self._store: Any = None

    def __getattr__(self, name: str) -> Any:
        if self._store is None:
            self._store = self._make()
        return getattr(self._store, name)


def home_table(stack: str, home: str, bounded: Any = None) -> str:
    """The name of the HealthCheckTable of the stack named ``stack`` in region ``home``
    (the same template, deployed there under the same name)."""
    import boto3

    cloudformation = boto3.client("cloudformation", region_name=home, config=bounded)
    try:
        found = cloudformation.describe_stack_resource(
            StackName=stack, LogicalResourceId="HealthCheckTable"
        )
    except cloudformation.exceptions.ClientError as exc:
        if "does not exist" not in str(exc):
            raise  # the home's region or CloudFormation failing: said as it is
        raise VigilError(
            f"this stack is a probe of locations, and its home's table was not found: no "
            f"stack {stack} with a HealthCheckTable in {home} ({exc}); deploy the home "
            f"stack under the same name first, or give the table as HomeTableName"
        ) from None
    return found["StackResourceDetail"]["PhysicalResourceId"]


def _fetch_secret(name: str) -> Any:
    """``vigil.secrets.fetch_secret``, imported when a check first reads a secret."""
    from vigil.secrets import fetch_secret  # a group whose checks name no secret never pays

    return fetch_secret(name)


def _required(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        raise VigilError(f"environment variable {name} is not set (see template.yaml)")
    return value
