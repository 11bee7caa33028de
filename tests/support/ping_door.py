"""The ping function on embedded AWS, for its tests: its real handler (through
``RunnerHarness``, output captured), its key, and its DynamoDB writes counted.

``open_door(table)`` starts a new container's door once ``LocalAws`` has made the
table and the ping key secret from template.yaml and ``HEALTHCHECK_CONFIG`` names a
configuration.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import boto3

from tests.support.dynamodb_writes import WriteCounter
from vigil.pings import token
from vigil.store.pings import PingStore
from vigil_cli.local.harness import Invocation, RunnerHarness
from vigil_cli.local.local_aws import REPO, scan_items
from vigil_cli.local.status_server import function_url_event

T0_MS = 1_767_240_000_000  # 2026-01-01T04:00:00Z


@dataclass
class Door:
    """The ping function on embedded AWS: its handler, its key, its writes."""

    harness: RunnerHarness
    key: bytes
    table: str
    writes: WriteCounter

    def path(self, group: str, check: str, suffix: str | None = None, *, key=None) -> str:
        given = token(key or self.key, group, check)
        return f"/{group}/{check}/{given}" + (f"/{suffix}" if suffix is not None else "")

    def ping(
        self,
        path: str,
        method: str = "GET",
        *,
        rid: str | None = None,
        body: str | None = None,
        base64_encoded: bool = False,
        at_ms: int = T0_MS,
    ) -> Invocation:
        target = path + ("?" + urlencode({"rid": rid}) if rid is not None else "")
        event: dict[str, Any] = function_url_event(method, target)
        event["requestContext"]["timeEpoch"] = at_ms
        if body is not None:
            event["body"], event["isBase64Encoded"] = body, base64_encoded
        invocation = self.harness.invoke(event)
        assert invocation.error is None, invocation.error
        return invocation

    def items(self) -> list[dict[str, Any]]:
        return scan_items(boto3.client("dynamodb"), self.table)

    def summary(self, group: str = "jobs", check: str = "nightly-backup"):
        return PingStore(self.table).summary(group, check)

    def events(self) -> list[dict[str, Any]]:
        return [
            {"sk": item["sk"]["S"], **json.loads(item["ping"]["S"]), "ttl": item["expires_at"]}
            for item in sorted(self.items(), key=lambda i: i["sk"]["S"])
            if item["sk"]["S"].startswith("E#")
        ]


def ping_secret_arn() -> str:
    return os.environ["HEALTHCHECK_PING_KEY_SECRET"]


def set_ping_key(value: str) -> None:
    boto3.client("secretsmanager").put_secret_value(SecretId=ping_secret_arn(), SecretString=value)


def new_container() -> None:
    """A new Lambda container: no door, no cached key."""
    from aws_lambda_powertools.utilities import parameters

    import vigil.environment.ping

    vigil.environment.ping.clear_cache()
    parameters.clear_caches()


def open_door(table: str) -> Door:
    """A fresh container's door, its DynamoDB client's writes counted."""
    import vigil.environment.ping

    new_container()
    harness = RunnerHarness(10, function="ping")
    built = vigil.environment.ping.door_from_environment(REPO / "functions/runner/checks.yaml")
    key = boto3.client("secretsmanager").get_secret_value(SecretId=ping_secret_arn())
    return Door(
        harness, key["SecretString"].encode(), table, WriteCounter().attach(built.store.client)
    )
