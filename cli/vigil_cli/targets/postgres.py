"""A throw-away PostgreSQL cluster on 127.0.0.1, for tests, the demo and the benchmark.

Real: the server is the distribution's own binaries (``initdb``, ``pg_ctl``,
``postgres``), with scram-sha-256 password authentication over TCP, so a check
that passes against it exercised a real login.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import subprocess
import tempfile
import time
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vigil_cli.targets.ports import Served, free_port


def _tail(path: Path, lines: int = 30) -> str:
    """The last ``lines`` lines of a text file, or a note if it is unreadable."""
    try:
        text = path.read_text(errors="replace")
    except OSError as exc:
        return f"(no log at {path}: {exc})"
    return "\n".join(text.splitlines()[-lines:])


_PG_BINARIES = ("initdb", "pg_ctl", "postgres")


class PostgresError(RuntimeError):
    """The throw-away PostgreSQL cluster could not be created, started or stopped."""


@dataclass(frozen=True, slots=True)
class PostgresCredentials:
    """How to log in to a database of a :class:`PostgresServer` over TCP."""

    host: str
    port: int
    user: str
    password: str
    database: str

    def connect_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for ``pg8000.native.Connection`` / ``pg8000.dbapi.connect``."""
        return {
            "user": self.user,
            "password": self.password,
            "host": self.host,
            "port": self.port,
            "database": self.database,
        }


def _version_key(bin_dir: Path) -> tuple[int, ...]:
    parts = bin_dir.parent.name.split(".")
    return tuple(int(p) for p in parts if p.isdigit())


def _destroy_cluster(
    command_prefix: Sequence[str],
    run_kwargs: dict[str, Any],
    data_dir: Path,
    root_dir: Path,
) -> None:
    """Stop a cluster immediately (if running) and delete its directory.

    Module-level so that :func:`weakref.finalize` can call it without keeping
    the :class:`PostgresServer` alive.
    """
    pid_file = data_dir / "postmaster.pid"
    if pid_file.exists():
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            subprocess.run(
                [*command_prefix, "-D", str(data_dir), "-m", "immediate", "-w", "stop"],
                timeout=30,
                check=False,
                capture_output=True,
                **run_kwargs,
            )
        if pid_file.exists():  # pg_ctl failed: kill the postmaster directly
            with contextlib.suppress(OSError, ValueError, IndexError):
                os.kill(int(pid_file.read_text().splitlines()[0]), 9)
    shutil.rmtree(root_dir, ignore_errors=True)


class PostgresServer(Served):
    """A throw-away PostgreSQL cluster on 127.0.0.1, for tests and demos.

    Contract:

    * Binaries (``initdb``, ``pg_ctl``, ``postgres``) come from the newest
      ``/usr/lib/postgresql/<version>/bin`` (Debian/Ubuntu), else from PATH.
    * The cluster lives in a fresh temporary directory. As root it belongs to
      (and the server runs as) the unprivileged OS user ``os_user``; otherwise
      to the current user.
    * The server listens on 127.0.0.1 only, on ``port`` (a free port by
      default), with its unix socket inside the (mode 0700) temporary
      directory. TCP logins use ``scram-sha-256`` for every role, so a wrong
      password really fails; ``fsync`` is off for speed.
    * :meth:`start` blocks until the server accepts logins, or raises
      :class:`PostgresError` with the tail of the server log. :meth:`stop`
      does a fast shutdown; :meth:`start` again reuses the same data directory
      and port, so roles and databases survive.
    * :meth:`close` (also on ``__exit__``, on garbage collection and at
      interpreter exit) stops the server and removes the directory.
    """

    def __init__(
        self,
        *,
        port: int | None = None,
        bin_dir: str | Path | None = None,
        os_user: str = "postgres",
        superuser: str = "postgres",
        start_timeout: float = 60.0,
    ) -> None:
        found = Path(bin_dir) if bin_dir is not None else self.find_bin_dir()
        if found is None:
            raise PostgresError(
                "PostgreSQL server binaries (initdb, pg_ctl, postgres) not found under "
                "/usr/lib/postgresql/*/bin or on PATH; on Debian/Ubuntu install them with "
                "'apt-get install --no-install-recommends postgresql'"
            )
        self._bin_dir = found
        self._superuser = superuser
        self._superuser_password = secrets.token_urlsafe(24)
        self._start_timeout = start_timeout
        self._port_fixed = port is not None
        self._port = port if port is not None else free_port()
        self._passwords: dict[str, str] = {superuser: self._superuser_password}
        self._initialized = False
        self._running = False
        self._ever_started = False

        self._run_kwargs: dict[str, Any] = {}
        owner_uid, owner_gid = os.getuid(), os.getgid()
        if os.geteuid() == 0:
            import pwd

            try:
                entry = pwd.getpwnam(os_user)
            except KeyError:
                raise PostgresError(
                    f"running as root, PostgreSQL must run as an unprivileged OS user, but "
                    f"user {os_user!r} does not exist (installing the 'postgresql' package "
                    f"creates it)"
                ) from None
            owner_uid, owner_gid = entry.pw_uid, entry.pw_gid
            self._run_kwargs = {"user": owner_uid, "group": owner_gid, "extra_groups": []}
        self._owner = (owner_uid, owner_gid)

        self._root = Path(tempfile.mkdtemp(prefix="vigil-pg-"))
        self._data_dir = self._root / "data"
        self._socket_dir = self._root / "sock"
        self._log_path = self._root / "server.log"
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        env.update(LC_ALL="C", LANG="C")
        self._run_kwargs.update(cwd=str(self._root), env=env)
        self._finalizer = weakref.finalize(
            self,
            _destroy_cluster,
            [str(self._bin_dir / "pg_ctl")],
            dict(self._run_kwargs),
            self._data_dir,
            self._root,
        )
        try:
            self._socket_dir.mkdir(mode=0o700)
            if os.geteuid() == 0:
                os.chown(self._root, owner_uid, owner_gid)
                os.chown(self._socket_dir, owner_uid, owner_gid)
        except BaseException:
            self._finalizer()
            raise

    # ----------------------------------------------------------------- discovery

    @staticmethod
    def find_bin_dir() -> Path | None:
        """The directory holding initdb, pg_ctl and postgres, or ``None``.

        Prefers the newest ``/usr/lib/postgresql/<version>/bin``, then PATH.
        """

        def complete(directory: Path) -> bool:
            return all(os.access(directory / name, os.X_OK) for name in _PG_BINARIES)

        candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=_version_key)
        for directory in reversed(candidates):
            if complete(directory):
                return directory
        initdb = shutil.which("initdb")
        if initdb:
            directory = Path(initdb).resolve().parent
            if complete(directory):
                return directory
        return None

    @classmethod
    def available(cls) -> bool:
        """Whether the PostgreSQL server binaries can be found."""
        return cls.find_bin_dir() is not None

    # ----------------------------------------------------------------- properties

    @property
    def port(self) -> int:
        """The TCP port; stays the same across :meth:`stop` / :meth:`start`."""
        return self._port

    @property
    def running(self) -> bool:
        """Whether the server was started and not stopped since."""
        return self._running

    @property
    def bin_dir(self) -> Path:
        return self._bin_dir

    def log_tail(self, lines: int = 30) -> str:
        """The last lines of the server log."""
        return _tail(self._log_path, lines)

    # ----------------------------------------------------------------- lifecycle

    def start(self) -> None:
        """Start the server (creating the cluster the first time); no-op if running.

        Returns once a superuser login over TCP succeeds. Raises
        :class:`PostgresError` (with the server log tail) otherwise.
        """
        if not self._finalizer.alive:
            raise PostgresError("this PostgresServer was closed; create a new one")
        if self._running:
            return
        if not self._initialized:
            self._init_cluster()
        # A port picked by us may be taken before the server binds it: pick another one,
        # but only before the first successful start (afterwards the port is promised).
        attempts = 1 if (self._port_fixed or self._ever_started) else 3
        for attempt in range(attempts):
            log_size = self._log_path.stat().st_size if self._log_path.exists() else 0
            result = self._pg_ctl(
                "start",
                "-l",
                str(self._log_path),
                "-w",
                "-t",
                str(int(self._start_timeout)),
                "-o",
                f"-p {self._port}",
                timeout=self._start_timeout + 15,
            )
            if result.returncode == 0:
                break
            new_log = self._read_log_from(log_size)
            self._stop_quietly()
            if attempt + 1 < attempts and "could not bind" in new_log:
                self._port = free_port()
                continue
            raise PostgresError(
                f"PostgreSQL failed to start on {self.host}:{self._port} "
                f"(pg_ctl exit {result.returncode}): {result.stderr.strip()}\n"
                f"--- server log tail ---\n{self.log_tail()}"
            )
        self._running = True
        self._ever_started = True
        try:
            self._wait_for_login()
        except BaseException:
            self._stop_quietly()
            raise

    def stop(self, mode: str = "fast") -> None:
        """Shut the server down (``fast`` by default; also ``smart`` or ``immediate``).

        Returns once the server is gone, so new connections are refused. No-op
        if not running.
        """
        if not self._running:
            return
        result = self._pg_ctl("stop", "-m", mode, "-w", "-t", "60", timeout=75)
        if result.returncode != 0:
            immediate = self._pg_ctl("stop", "-m", "immediate", "-w", "-t", "30", timeout=45)
            if immediate.returncode != 0:
                raise PostgresError(
                    f"could not stop PostgreSQL: {result.stderr.strip()}\n"
                    f"--- server log tail ---\n{self.log_tail()}"
                )
        self._running = False

    def close(self) -> None:
        """Stop the server and remove its temporary directory (idempotent)."""
        self._running = False
        self._finalizer()

    # ----------------------------------------------------------------- SQL

    def connect(
        self,
        user: str | None = None,
        password: str | None = None,
        database: str = "postgres",
        timeout: float = 10.0,
    ) -> Any:
        """A ``pg8000.native.Connection`` over TCP (superuser by default).

        The password defaults to the one given to :meth:`create_role` for that role.
        """
        import pg8000.native

        user = user or self._superuser
        if password is None:
            password = self._passwords.get(user)
        return pg8000.native.Connection(
            user,
            password=password,
            host=self.host,
            port=self._port,
            database=database,
            timeout=timeout,
            application_name="vigil-targets",
        )

    def execute(self, sql: str, *, database: str = "postgres", **params: Any) -> list[list[Any]]:
        """Run one statement as superuser (autocommit) and return its rows.

        ``params`` are bound with pg8000's ``:name`` placeholders.
        """
        conn = self.connect(database=database)
        try:
            rows = conn.run(sql, **params)
        finally:
            conn.close()
        return [list(row) for row in rows] if rows else []

    def create_role(self, name: str, password: str, *, superuser: bool = False) -> None:
        """Create a login role with a scram-sha-256 password."""
        from pg8000.native import identifier, literal

        attributes = "LOGIN SUPERUSER" if superuser else "LOGIN"
        self.execute(f"CREATE ROLE {identifier(name)} {attributes} PASSWORD {literal(password)}")
        self._passwords[name] = password

    def create_database(self, name: str, owner: str | None = None) -> None:
        """Create a database, owned by ``owner`` (default: the superuser)."""
        from pg8000.native import identifier

        owner_clause = f" OWNER {identifier(owner)}" if owner else ""
        self.execute(f"CREATE DATABASE {identifier(name)}{owner_clause}")

    def credentials(
        self, user: str, database: str, password: str | None = None
    ) -> PostgresCredentials:
        """Login details for ``user`` (password as given to :meth:`create_role`)."""
        if password is None:
            try:
                password = self._passwords[user]
            except KeyError:
                raise KeyError(f"no password known for role {user!r}; pass it") from None
        return PostgresCredentials(self.host, self._port, user, password, database)

    # ----------------------------------------------------------------- internals

    def _run(self, argv: Sequence[str], timeout: float) -> subprocess.CompletedProcess[str]:
        try:
            return subprocess.run(
                list(argv),
                capture_output=True,
                text=True,
                check=False,
                timeout=timeout,
                stdin=subprocess.DEVNULL,
                **self._run_kwargs,
            )
        except subprocess.TimeoutExpired as exc:
            raise PostgresError(
                f"{Path(argv[0]).name} timed out after {timeout:.0f}s\n"
                f"--- server log tail ---\n{self.log_tail()}"
            ) from exc

    def _pg_ctl(self, *args: str, timeout: float) -> subprocess.CompletedProcess[str]:
        return self._run([str(self._bin_dir / "pg_ctl"), "-D", str(self._data_dir), *args], timeout)

    def _write_owned(self, path: Path, text: str, *, append: bool = False) -> None:
        with path.open("a" if append else "w") as handle:
            handle.write(text)
        if os.geteuid() == 0:
            os.chown(path, *self._owner)

    def _init_cluster(self) -> None:
        pwfile = self._root / "pwfile"
        self._write_owned(pwfile, self._superuser_password + "\n")
        os.chmod(pwfile, 0o600)
        try:
            result = self._run(
                [
                    str(self._bin_dir / "initdb"),
                    "-D",
                    str(self._data_dir),
                    f"--username={self._superuser}",
                    f"--pwfile={pwfile}",
                    "--auth-local=trust",
                    "--auth-host=scram-sha-256",
                    "--encoding=UTF8",
                    "--no-locale",
                    "--no-sync",
                ],
                timeout=120,
            )
        finally:
            pwfile.unlink(missing_ok=True)
        if result.returncode != 0:
            raise PostgresError(
                f"initdb failed (exit {result.returncode}):\n{result.stdout}\n{result.stderr}"
            )
        # The unix socket sits in a private (0700) directory, so trusting it only
        # lets the cluster's owner (and root) in; TCP always needs the password.
        self._write_owned(
            self._data_dir / "pg_hba.conf",
            "# Written by vigil_cli.targets.PostgresServer\n"
            "# TYPE  DATABASE  USER  ADDRESS       METHOD\n"
            "local   all       all                 trust\n"
            "host    all       all   127.0.0.1/32  scram-sha-256\n",
        )
        socket_dir = str(self._socket_dir).replace("'", "''")
        self._write_owned(
            self._data_dir / "postgresql.conf",
            "\n# --- vigil_cli.targets.PostgresServer ---\n"
            "listen_addresses = '127.0.0.1'\n"
            f"unix_socket_directories = '{socket_dir}'\n"
            "password_encryption = 'scram-sha-256'\n"
            "ssl = off\n"
            "fsync = off\n"
            "synchronous_commit = off\n"
            "full_page_writes = off\n"
            "shared_buffers = 32MB\n"
            "max_connections = 100\n"
            "logging_collector = off\n"
            "log_timezone = 'UTC'\n"
            "timezone = 'UTC'\n",
            append=True,
        )
        self._initialized = True

    def _read_log_from(self, offset: int) -> str:
        try:
            with self._log_path.open("rb") as handle:
                handle.seek(offset)
                return handle.read().decode(errors="replace")
        except OSError:
            return ""

    def _stop_quietly(self) -> None:
        if (self._data_dir / "postmaster.pid").exists():
            with contextlib.suppress(PostgresError):
                self._pg_ctl("stop", "-m", "immediate", "-w", "-t", "30", timeout=45)
        self._running = False

    def _wait_for_login(self) -> None:
        import pg8000.exceptions

        deadline = time.monotonic() + self._start_timeout
        while True:
            try:
                self.connect(timeout=5).close()
                return
            except (pg8000.exceptions.InterfaceError, pg8000.exceptions.DatabaseError, OSError):
                if time.monotonic() > deadline:
                    raise PostgresError(
                        f"PostgreSQL started but does not accept logins on "
                        f"{self.host}:{self._port}\n--- server log tail ---\n{self.log_tail()}"
                    ) from None
                time.sleep(0.05)
