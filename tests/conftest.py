"""Shared fixtures: the real local targets from :mod:`vigil_cli.targets`.

* ``postgres_server`` (session) - a throw-away PostgreSQL cluster on 127.0.0.1
  with the login role ``monitor`` (password in ``.monitor_password``) owning
  the database ``app``. Tests may ``stop()`` it but must ``start()`` it again.
* ``postgres_credentials`` (session) - the ``monitor``/``app`` login details.
* ``http_target`` / ``https_target`` (session) - the asyncio HTTP(S) target;
  scripted modes and request records are reset before each test that uses it.
* ``tcp_target`` (function) - a listener that accepts and closes connections.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import pytest

from vigil_cli.targets import HttpTarget, PostgresCredentials, PostgresServer, TcpTarget

MONITOR_ROLE = "monitor"
APP_DATABASE = "app"

_INSTALL_HINT = (
    "PostgreSQL server binaries (initdb, pg_ctl, postgres) were not found under "
    "/usr/lib/postgresql/*/bin or on PATH, and the PostgreSQL tests need a real server.\n"
    "Install them:\n"
    "  Debian/Ubuntu: sudo apt-get install -y --no-install-recommends postgresql\n"
    "  (the package's own cluster/service is not needed; the fixture starts its own)\n"
    "  macOS: brew install postgresql\n"
    "or run .ci/run, which installs them and runs the whole suite."
)


class AppPostgresServer(PostgresServer):
    """A :class:`PostgresServer` that, once started, has role ``monitor`` owning ``app``."""

    def __init__(self) -> None:
        super().__init__()
        self.monitor_password = secrets.token_urlsafe(18)

    def provision(self) -> None:
        """Create the ``monitor`` role and the ``app`` database (call once, after start)."""
        self.create_role(MONITOR_ROLE, self.monitor_password)
        self.create_database(APP_DATABASE, owner=MONITOR_ROLE)

    @property
    def monitor_credentials(self) -> PostgresCredentials:
        return self.credentials(MONITOR_ROLE, APP_DATABASE)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[AppPostgresServer]:
    if not PostgresServer.available():
        pytest.fail(_INSTALL_HINT, pytrace=False)
    with AppPostgresServer() as server:
        server.provision()
        yield server


@pytest.fixture(scope="session")
def postgres_credentials(postgres_server: AppPostgresServer) -> PostgresCredentials:
    return postgres_server.monitor_credentials


@pytest.fixture(scope="session")
def http_target() -> Iterator[HttpTarget]:
    with HttpTarget() as target:
        yield target


@pytest.fixture(scope="session")
def https_target() -> Iterator[HttpTarget]:
    with HttpTarget(tls=True) as target:
        yield target


@pytest.fixture(autouse=True)
def _fresh_http_targets(request: pytest.FixtureRequest) -> None:
    """Give each test that uses a session HTTP target default scripts and no records."""
    for name in ("http_target", "https_target"):
        if name in request.fixturenames:
            target: HttpTarget = request.getfixturevalue(name)
            target.reset_scripts()
            target.reset_records()


@pytest.fixture
def tcp_target() -> Iterator[TcpTarget]:
    with TcpTarget() as target:
        yield target
