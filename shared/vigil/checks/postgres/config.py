"""The configuration of a PostgreSQL check (``type: postgres``)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from vigil.checks.expect import Expectation
from vigil.checks.model import CheckConfig


class PostgresCheckConfig(CheckConfig):
    type: Literal["postgres"]
    host: str = Field(min_length=1)
    port: int = Field(default=5432, ge=1, le=65535)
    database: str = Field(min_length=1)
    user: str | None = None
    password_secret: str | None = None
    query: str = "SELECT 1"
    # judged on the first column of the first row, as a JSON value (see checks/expect.py)
    expect: Expectation | None = None
    # As libpq's sslmode: no TLS, TLS without verifying the server, or TLS verifying
    # the certificate and host name (against ssl_root_cert, e.g. the RDS CA bundle).
    sslmode: Literal["disable", "require", "verify-full"] = "disable"
    ssl_root_cert: str | None = None

    @property
    def target(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host  # an IPv6 address
        return f"postgres://{host}:{self.port}/{self.database}"
