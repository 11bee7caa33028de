"""Real local targets for Vigil's tests, demo and benchmark (development only)."""

from __future__ import annotations

from vigil_cli.targets.postgres import (
    HttpTarget,
    PostgresCredentials,
    PostgresError,
    PostgresServer,
    RequestRecord,
    TcpTarget,
    free_port,
    raise_fd_limit,
    refused_port,
)

__all__ = [
    "HttpTarget",
    "PostgresCredentials",
    "PostgresError",
    "PostgresServer",
    "RequestRecord",
    "TcpTarget",
    "free_port",
    "raise_fd_limit",
    "refused_port",
]
