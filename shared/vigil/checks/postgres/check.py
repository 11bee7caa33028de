"""PostgreSQL checks with pg8000: connect, run ``query``, disconnect.

pg8000 is blocking, so the probe runs in the run's thread pool; its socket
timeout bounds the thread and the runner's hard timeout bounds the wait. The
password comes from Secrets Manager (plain string, or JSON with ``password``
and optionally ``username`` as RDS writes it).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from typing import Any

from vigil.checks.base import Check, Probe
from vigil.checks.postgres.config import PostgresCheckConfig
from vigil.exceptions import CheckSetupError


class PostgresCheck(Check):
    type_name = "postgres"
    config: PostgresCheckConfig

    async def probe(self) -> Probe:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.resources.executor, self._probe_blocking)

    def _credentials(self) -> tuple[str, str | None]:
        cfg = self.config
        user, password = cfg.user, None
        if cfg.password_secret:
            value = self.resources.secret(cfg.password_secret)
            if isinstance(value, bytes):
                value = value.decode()
            password, secret_user = _parse_secret(value)
            user = user or secret_user
            self.remember_credentials(user or "", password)
        if not user:
            raise CheckSetupError("no user: set 'user' or store 'username' in the secret")
        return user, password

    def _probe_blocking(self) -> Probe:
        import pg8000.exceptions
        import pg8000.native

        cfg = self.config
        user, password = self._credentials()
        details = {"database": cfg.database, "user": user}
        ssl_context = None
        if cfg.sslmode != "disable":
            verify = cfg.sslmode == "verify-full"
            ssl_context = self.resources.ssl_context(verify, cfg.ssl_root_cert if verify else None)
        started = time.perf_counter()
        try:
            conn = pg8000.native.Connection(
                user,
                host=cfg.host,
                port=cfg.port,
                database=cfg.database,
                password=password,
                timeout=cfg.timeout,
                ssl_context=ssl_context,
                application_name="vigil",
            )
        except pg8000.exceptions.DatabaseError as exc:
            return Probe(False, f"login failed: {_pg_message(exc)}", _ms(started), details)
        except (pg8000.exceptions.InterfaceError, OSError) as exc:
            return Probe(False, f"connection failed: {_pg_message(exc)}", _ms(started), details)
        try:
            conn.run(cfg.query)
        except pg8000.exceptions.DatabaseError as exc:
            return Probe(False, f"query failed: {_pg_message(exc)}", _ms(started), details)
        except (pg8000.exceptions.InterfaceError, OSError) as exc:
            return Probe(False, f"connection lost: {_pg_message(exc)}", _ms(started), details)
        finally:
            with contextlib.suppress(Exception):  # a broken connection has nothing to release
                conn.close()
        return Probe(True, "query succeeded", _ms(started), details)


def _parse_secret(value: Any) -> tuple[str, str | None]:
    if isinstance(value, str):
        try:
            parsed = json.loads(value)
        except ValueError:
            return value, None
        value = parsed if isinstance(parsed, dict) else value
    if isinstance(value, dict):
        if not isinstance(value.get("password"), str):
            raise CheckSetupError("the secret is JSON without a 'password' string")
        return value["password"], value.get("username")
    return str(value), None


def _pg_message(exc: Exception) -> str:
    arg = exc.args[0] if exc.args else exc
    if isinstance(arg, dict):  # pg8000 server errors: {"S": severity, "C": code, "M": message}
        return f"{arg.get('M', 'server error')} (SQLSTATE {arg.get('C', '?')})"
    # pg8000 wraps socket errors ("Can't create a connection to host ..."): the cause says why.
    texts = [str(arg)]
    if exc.__cause__ is not None:
        texts.append(str(exc.__cause__))
    if isinstance(exc.__cause__, ConnectionRefusedError) or any(
        "Connection refused" in t or "Errno 111" in t for t in texts
    ):
        return "connection refused"
    if isinstance(exc.__cause__, TimeoutError) or any("timed out" in t for t in texts):
        return "timed out"
    return texts[0]


def _ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000
