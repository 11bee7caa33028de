"""Build the ping function's ``PingDoor`` from the Lambda environment (a deliberate
warm-start cache).

Environment (template.yaml declares them all):
- ``HEALTHCHECK_TABLE``: the runner's table (pings are kept there);
- ``HEALTHCHECK_PING_KEY_SECRET``: the ARN of the ping key secret; the key is the
  UTF-8 bytes of its SecretString, read through Powertools Parameters and cached for
  ``KEY_MAX_AGE_S`` (a new value applies within that time in a warm container, at
  once in a new one);
- ``HEALTHCHECK_CONFIG``: the runner's configuration file (relative to the function's
  package root, or absolute), which says which heartbeat checks exist;
- ``HEALTHCHECK_HISTORY_DAYS``: how long a ping's event is kept.

The configuration is read lightly: as YAML, keeping the ``(group, check)`` of every
check with ``type: heartbeat``, re-read when the file's mtime changes. Its validation
is the runner's: a file the runner refuses still opens the door to its heartbeat
checks (pings are not lost while it is being fixed), unless it is not YAML at all
(then nothing can be known: every ping gets ``503``). Nothing here imports pydantic,
a check type or the runner: the ping function's cold start never needs them.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from vigil.config_file import resolve_config_path
from vigil.environment.history import history_days
from vigil.exceptions import VigilError
from vigil.ping_door import PingDoor
from vigil.store.pings import PingStore
from vigil.yaml_source import YamlSyntaxError, load_yaml

TABLE_ENV = "HEALTHCHECK_TABLE"
KEY_ENV = "HEALTHCHECK_PING_KEY_SECRET"
KEY_MAX_AGE_S = 300  # a rotated key applies within 5 minutes
MIN_KEY_CHARS = 32  # a short key would make tokens guessable
HEARTBEAT_TYPE = "heartbeat"
REGION_ENV = "AWS_REGION"  # Lambda's: a probe of locations knows no heartbeat
# botocore logs every response body at DEBUG, GetSecretValue's SecretString (the key)
# included: never, whatever level the function's logs are set to.
logging.getLogger("botocore.parsers").setLevel(logging.INFO)
# Each AWS call is bounded: the function's timeout is 10 s, a ping makes at most
# three calls (the key, when not cached, then a read and two writes).
CONNECT_TIMEOUT_S, READ_TIMEOUT_S, ATTEMPTS = 1.0, 1.5, 2

# Warm-start cache: one door per (config file, table, key secret, history days), so a
# warm container keeps its clients, its key and its reading of the config.
_DOOR_CACHE: dict[tuple[str, str, str, int], PingDoor] = {}


def clear_cache() -> None:
    """Forget the cached door (clients, key and configuration are read afresh)."""
    _DOOR_CACHE.clear()


def door_from_environment(default_config: Path) -> PingDoor:
    """The cached ``PingDoor`` for the current environment and configuration file.

    Raises ``VigilError`` naming a missing or bad variable.
    """
    table, secret = _required(TABLE_ENV), _required(KEY_ENV)
    days = history_days()
    path = resolve_config_path(default_config)
    cache_key = (str(path), table, secret, days)
    door = _DOOR_CACHE.get(cache_key)
    if door is None:
        door = _build(path, table, secret, days)
        _DOOR_CACHE.clear()
        _DOOR_CACHE[cache_key] = door
    return door


def heartbeat_checks(document: Any, region: str | None = None) -> frozenset[tuple[str, str]]:
    """``(group, check)`` of every check with ``type: heartbeat`` in a config document;
    none at all in a probe's ``region`` (``locations`` names another home: heartbeats
    are the home's to judge, a ping there would be counted by nobody).

    Whatever is not shaped as the runner expects is skipped (the runner reports it).
    """
    groups = document.get("groups") if isinstance(document, dict) else None
    if not isinstance(groups, dict):
        return frozenset()
    locations = document.get("locations")
    home = locations.get("home") if isinstance(locations, dict) else None
    if isinstance(home, str) and region is not None and region != home:
        return frozenset()
    return frozenset(
        (group_name, check["name"])
        for group_name, group in groups.items()
        if isinstance(group_name, str) and isinstance(group, dict)
        for check in (group.get("checks") if isinstance(group.get("checks"), list) else ())
        if isinstance(check, dict)
        and check.get("type") == HEARTBEAT_TYPE
        and isinstance(check.get("name"), str)
    )


class HeartbeatChecks:
    """The heartbeat checks of the configuration file at ``path``, re-read when its
    mtime changes. Raises ``VigilError`` for a file that cannot be read or is not YAML."""

    def __init__(self, path: Path, region: str | None = None):
        self.path = path
        self.region = region
        self._read: tuple[int, frozenset[tuple[str, str]]] | None = None

    def __call__(self) -> frozenset[tuple[str, str]]:
        try:
            mtime = self.path.stat().st_mtime_ns
            if self._read is None or self._read[0] != mtime:
                text = self.path.read_text(encoding="utf-8")
                self._read = (mtime, heartbeat_checks(load_yaml(text)[0], self.region))
        except OSError as exc:
            raise VigilError(f"{self.path}: cannot read the configuration: {exc}") from None
        except UnicodeDecodeError:
            raise VigilError(f"{self.path}: the configuration is not UTF-8 text") from None
        except YamlSyntaxError as exc:
            raise VigilError(f"{self.path}: the configuration is not YAML: {exc}") from None
        return self._read[1]


class PingKey:
    """The ping key: the UTF-8 bytes of secret ``arn``'s SecretString, through a Powertools
    ``SecretsProvider`` (cached ``KEY_MAX_AGE_S``). Raises ``VigilError`` naming the
    secret and the reason (never the value) when it cannot be read or is too short."""

    def __init__(self, arn: str, provider: Any):
        self.arn = arn
        self.provider = provider

    def __call__(self) -> bytes:
        from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError

        from vigil.secrets import secret_failure

        try:
            value = self.provider.get(self.arn, max_age=KEY_MAX_AGE_S)
        except GetParameterError as exc:
            raise VigilError(
                f"the ping key secret cannot be read: {secret_failure(self.arn, exc)}"
            ) from None
        if not isinstance(value, str):
            raise VigilError(f"the ping key secret {self.arn} has no SecretString")
        if len(value) < MIN_KEY_CHARS:
            raise VigilError(
                f"the ping key secret {self.arn} is too short: at least {MIN_KEY_CHARS} characters"
            )
        return value.encode("utf-8")


def _build(path: Path, table: str, secret: str, days: int) -> PingDoor:
    import boto3
    from aws_lambda_powertools.utilities.parameters import SecretsProvider
    from botocore.config import Config

    bounded = Config(
        connect_timeout=CONNECT_TIMEOUT_S,
        read_timeout=READ_TIMEOUT_S,
        retries={"mode": "standard", "total_max_attempts": ATTEMPTS},
    )
    return PingDoor(
        key=PingKey(
            secret, SecretsProvider(boto3_client=boto3.client("secretsmanager", config=bounded))
        ),
        heartbeats=HeartbeatChecks(path, os.environ.get(REGION_ENV)),
        store=PingStore(table, client=boto3.client("dynamodb", config=bounded)),
        history_days=days,
    )


def _required(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        raise VigilError(f"environment variable {name} is not set (see template.yaml)")
    return value
