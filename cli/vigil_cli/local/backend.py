"""Where ``vigil run`` and ``vigil status`` work, and on which groups of the config.

Local mode (the default) uses embedded AWS (``LocalAws``: moto, with the table and
topic made from template.yaml). Its table is kept between commands in a JSON file
(``vigil_cli.local.local_state``), restored when a command starts and, after ``run``,
saved when it ends. ``--aws`` uses a deployed stack instead (``DeployedAws``) and
creates nothing.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from vigil.config import GroupConfig, load_config
from vigil.exceptions import ConfigError
from vigil_cli.local.deployed import DeployedAws, DeployedStackError
from vigil_cli.local.local_aws import REGION, LocalAws
from vigil_cli.local.local_state import LocalStateError, load_table, save_table
from vigil_cli.screen import Screen, shown


@dataclass
class Backend:
    """Where a command works: embedded or deployed AWS, with its table and topic."""

    aws: LocalAws | DeployedAws
    description: str

    @property
    def local(self) -> bool:
        return isinstance(self.aws, LocalAws)


def chosen_groups(args: Any, screen: Screen) -> list[GroupConfig]:
    """The groups of ``args.config`` (all, or ``args.group``); [] after reporting a problem."""
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        heading = f"{shown(args.config)}: invalid configuration (run `vigil validate`)"
        screen.config_problems(heading, exc.problems)
        return []
    if args.group is None:
        return list(config.groups.values())
    if args.group not in config.groups:
        screen.problem(
            f"unknown group {args.group!r}; {shown(args.config)} defines: "
            f"{', '.join(config.groups)}"
        )
        return []
    return [config.groups[args.group]]


@contextlib.contextmanager
def open_backend(args: Any, screen: Screen, *, save: bool) -> Iterator[Backend]:
    """The stack (``args.aws``), or embedded AWS with the local table restored.

    With ``save``, embedded AWS's table is written back to ``args.local_state`` at
    the end. Raises ``DeployedStackError`` or ``LocalStateError``.
    """
    if args.aws:
        with DeployedAws(args.stack, args.template, config=args.config, region=args.region) as aws:
            yield Backend(aws, f"AWS stack {args.stack} ({aws.region}) · table {aws.table_name}")
        return
    with LocalAws(args.template, config=args.config) as local:
        import boto3

        client = boto3.client("dynamodb", region_name=REGION)
        restored = load_table(client, local.table_name, args.local_state)
        kept = f"{restored} items restored from" if restored else "no saved state yet in"
        try:
            yield Backend(
                local,
                f"embedded AWS (moto) · table {local.table_name} · {kept} "
                f"{shown(args.local_state)}",
            )
        finally:
            if save:
                count = save_table(client, local.table_name, args.local_state, config=args.config)
                screen.note(
                    f"saved {count} table items to {shown(args.local_state)}; "
                    f"`vigil status` shows the state"
                )


def on_backend(
    args: Any, screen: Screen, work: Callable[[Backend], int], *, save: bool = False
) -> int:
    """``work(backend)``'s exit code; 1 when the backend cannot be opened (reported)."""
    try:
        with open_backend(args, screen, save=save) as backend:
            screen.note(backend.description)
            return work(backend)
    except DeployedStackError as exc:
        screen.problem(f"--aws: {exc}")
    except LocalStateError as exc:
        screen.problem(f"{exc} (delete the file to start afresh)")
    return 1
