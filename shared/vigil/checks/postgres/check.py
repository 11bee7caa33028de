"""PostgreSQL checks with pg8000: connect, run ``query``, judge ``expect``, disconnect.

``expect`` is judged on the first column of the first row, as a JSON value:
numbers (integers, floats, numerics) as numbers, an interval as its seconds,
dates and times as ISO 8601 text, json/jsonb as what they hold, NULL as null.

pg8000 is blocking, so the probe runs in the run's thread pool; its socket
timeout bounds the thread and the runner's hard timeout bounds the wait. The
password comes from Secrets Manager (plain string, or JSON with ``password``
and optionally ``username`` as RDS writes it).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import decimal
import json
import time
import uuid
from typing import Any

from vigil.checks.base import Check, Probe
from vigil.checks.expect import failure, shown
from vigil.checks.postgres.config import PostgresCheckConfig
from vigil.exceptions import CheckSetupError


class PostgresCheck(Check):
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
            rows = conn.run(cfg.query)
        except pg8000.exceptions.DatabaseError as exc:
            return Probe(False, f"query failed: {_pg_message(exc)}", _ms(started), details)
        except (pg8000.exceptions.InterfaceError, OSError) as exc:
            return Probe(False, f"connection lost: {_pg_message(exc)}", _ms(started), details)
        finally:
            with contextlib.suppress(Exception):  # a broken connection has nothing to release
                conn.close()
        latency_ms = _ms(started)
        if cfg.expect is None:
            return Probe(True, "query succeeded", latency_ms, details)
        return self._judge_first_value(rows, latency_ms, details)

    def _judge_first_value(
        self, rows: list[list[Any]] | None, latency_ms: float, details: dict[str, Any]
    ) -> Probe:
        expect = self.config.expect
        assert expect is not None
        present = bool(rows) and bool(rows[0])
        value = json_value(rows[0][0]) if present else None
        problem = failure(expect, value, present=present, show=self._shown)
        if problem is None:
            shown_value = self._shown(value) if present else "no rows"
            return Probe(True, f"query succeeded: first value {shown_value}", latency_ms, details)
        if not present:
            problem = f"query returned no rows, expected {expect.describe()}"
        else:
            problem = f"first value {problem}"
        return Probe(False, problem, latency_ms, details)

    def _shown(self, value: Any) -> str:
        return self.excerpt(shown(value))


def json_value(value: Any) -> Any:
    """A value pg8000 read, as the JSON value ``expect`` compares."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, decimal.Decimal):
        if not value.is_finite():
            return str(value)
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, bytes | bytearray | memoryview):
        return "\\x" + bytes(value).hex()
    if isinstance(value, list | tuple):
        return [json_value(v) for v in value]
    if isinstance(value, dict):
        return {str(k): json_value(v) for k, v in value.items()}
    if isinstance(value, uuid.UUID):
        return str(value)
    return str(value)


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
