"""Real local targets for Vigil's tests, demo and benchmark (development only).

Everything here is real: servers listen on 127.0.0.1 and PostgreSQL is a
throw-away cluster started from the distribution's binaries. Nothing is
mocked, so a check that passes against these targets exercised real sockets.

* ``PostgresServer`` (``postgres``) - a temporary PostgreSQL cluster with
  scram-sha-256 password authentication on 127.0.0.1.
* ``HttpTarget`` (``http``) - an asyncio HTTP/1.1 (optionally HTTPS, with a
  trustme certificate) server in a background thread with routes for healthy,
  slow, failing and broken answers.
* ``TcpTarget`` (``tcp``) - a listening socket that accepts and closes
  connections and can stop listening (connection refused) and listen again.
* ``free_port``, ``refused_port``, ``raise_fd_limit`` (``ports``) - helpers.

Each object owns its resources; the package keeps no global mutable state.
"""

from __future__ import annotations

from vigil_cli.targets.http import HttpTarget, RequestRecord
from vigil_cli.targets.ports import LOCALHOST, free_port, raise_fd_limit, refused_port
from vigil_cli.targets.postgres import PostgresCredentials, PostgresError, PostgresServer
from vigil_cli.targets.tcp import TcpTarget

__all__ = [
    "LOCALHOST",
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
