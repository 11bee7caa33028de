"""``vigil ping-url``: the URL each heartbeat check's job pings.

``<ping url><group>/<check>/<token>``, the token an HMAC of ``<group>/<check>`` under
the stack's ping key (``vigil.pings.token``). With ``--aws`` the ping URL and the key
are the deployed stack's (outputs ``PingUrl`` and ``PingKeySecretArn``; reading the
key needs ``secretsmanager:GetSecretValue`` on it). Without, they are the local
stack's: ``vigil run`` serves the ping function on ``http://127.0.0.1:<port>/`` with
the key kept in ``.vigil/ping-key``, so that a job on this machine can ping it.
"""

from __future__ import annotations

import contextlib
import secrets
import string
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from vigil.config import VigilConfig
from vigil.exceptions import ConfigError
from vigil.pings import token
from vigil_cli.local.local_aws import REGION, REPO
from vigil_cli.screen import Screen, shown

LOCAL_PING_KEY = REPO / ".vigil" / "ping-key"
LOCAL_PING_PORT = 8788
KEY_CHARS = 48  # as template.yaml's PingKeySecret generates it
UNKNOWN = 2  # exit code: a named check is not a heartbeat check of the configuration


def local_ping_key(path: Path | None = None) -> str:
    """The local stack's ping key: read from ``path`` (default ``LOCAL_PING_KEY``), or
    made there (owner-only) once."""
    path = path or LOCAL_PING_KEY
    try:
        return path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        pass
    alphabet = string.ascii_letters + string.digits
    key = "".join(secrets.choice(alphabet) for _ in range(KEY_CHARS))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600)
    path.write_text(key + "\n", encoding="ascii")
    return key


def heartbeat_checks(config: VigilConfig) -> list[str]:
    """Every ``group/check`` of type heartbeat, in the configuration's order."""
    return [
        f"{group.name}/{check.name}"
        for group in config.groups.values()
        for check in group.checks
        if check.type == "heartbeat"
    ]


def ping_urls(base: str, key: str, names: list[str]) -> list[tuple[str, str]]:
    """``(group/check, its ping URL)`` under ``base`` (ending in ``/``)."""
    urls = []
    for name in names:
        group, _, check = name.partition("/")
        urls.append((name, f"{base}{group}/{check}/{token(key.encode(), group, check)}"))
    return urls


@contextlib.contextmanager
def local_ping_door(
    screen: Screen, aws: Any, groups: list[Any], port: int = LOCAL_PING_PORT
) -> Iterator[str | None]:
    """While active, the local stack's ping function on ``http://127.0.0.1:<port>/`` with
    the local ping key (when a group has a heartbeat check); yields its URL, or None."""
    import boto3

    from vigil_cli.local.harness import RunnerHarness
    from vigil_cli.local.status_server import StatusServer

    if not any(check.type == "heartbeat" for group in groups for check in group.checks):
        yield None
        return
    boto3.client("secretsmanager", region_name=REGION).put_secret_value(
        SecretId=aws.environment["HEALTHCHECK_PING_KEY_SECRET"], SecretString=local_ping_key()
    )
    harness = RunnerHarness(10, function="ping")
    try:
        server = StatusServer(lambda event, context: _answer(harness, event), port)
        server.start()
    except OSError as exc:
        screen.problem(f"pings are not served: 127.0.0.1:{port} is not free ({exc})")
        yield None
        return
    try:
        screen.note(f"heartbeat pings: {server.url} (`vigil ping-url` prints each check's URL)")
        yield server.url
    finally:
        server.stop()


def _answer(harness: Any, event: dict[str, Any]) -> dict[str, Any]:
    """The ping function's answer (its log line kept out of the screen)."""
    invocation = harness.invoke(event)
    if invocation.summary is None:  # the handler raised: Lambda answers 502
        return {"statusCode": 502, "body": "the ping function failed"}
    return invocation.summary


def ping_url(args: Any, screen: Screen) -> int:
    from vigil.config import load_config

    try:
        config = load_config(args.config)
    except (OSError, ConfigError) as exc:
        screen.problem(f"{shown(args.config)}: {exc}")
        return 1
    known = heartbeat_checks(config)
    wanted = list(args.checks) or known
    unknown = [name for name in wanted if name not in known]
    if unknown:
        listed = ", ".join(known) or "none"
        screen.problem(
            f"{', '.join(unknown)}: no such heartbeat check in {shown(args.config)} "
            f"(give group/check; its heartbeat checks: {listed})"
        )
        return UNKNOWN
    if not wanted:
        screen.note(f"{shown(args.config)} has no heartbeat check (type: heartbeat)")
        return 0
    if args.aws:
        from vigil_cli.local.deployed import DeployedStackError, stack_outputs

        region = args.region
        if config.locations is not None:  # only the home's ping function counts pings
            home = config.locations.home
            if region is not None and region != home:
                screen.problem(
                    f"--region {region} is a probe of locations: heartbeats are judged by "
                    f"the home, {home}, whose ping URLs these must be (leave --region out)"
                )
                return 1
            region = home
        try:
            outputs, region = stack_outputs(args.stack, region)
            base, key = deployed_ping_url(outputs, region, args.stack)
        except DeployedStackError as exc:
            screen.problem(str(exc))
            return 1
    else:
        base, key = f"http://127.0.0.1:{args.ping_port}/", local_ping_key()
    for name, url in ping_urls(base, key, wanted):
        screen.line(f"{name}  {url}")
    if not args.aws:
        screen.note(
            "the local stack's URLs: `vigil run` serves them while it runs "
            f"(key in {shown(LOCAL_PING_KEY)}); --aws for the deployed stack's"
        )
    return 0


def deployed_ping_url(outputs: dict[str, str], region: str, stack: str) -> tuple[str, str]:
    """The stack's ping URL (ending in ``/``) and its ping key."""
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    from vigil_cli.local.deployed import DeployedStackError

    missing = [key for key in ("PingUrl", "PingKeySecretArn") if not outputs.get(key)]
    if missing:
        raise DeployedStackError(
            f"stack {stack!r} has no output {' or '.join(missing)}: deploy the current "
            "template (heartbeats came with the ping function)"
        )
    base = outputs["PingUrl"].rstrip("/") + "/"
    try:
        found = boto3.client("secretsmanager", region_name=region).get_secret_value(
            SecretId=outputs["PingKeySecretArn"]
        )
    except (BotoCoreError, ClientError) as exc:
        raise DeployedStackError(f"cannot read the stack's ping key: {exc}") from None
    return base, found["SecretString"]
