"""Real local targets for Vigil's tests, demo and benchmark (development only).

Everything here is real: servers listen on 127.0.0.1 and PostgreSQL is a
throw-away cluster started from the distribution's binaries. Nothing is
mocked, so a check that passes against these targets exercised real sockets.

* :class:`PostgresServer` - a temporary PostgreSQL cluster with
  scram-sha-256 password authentication on 127.0.0.1.
* :class:`HttpTarget` - an asyncio HTTP/1.1 (optionally HTTPS) server in a
  background thread with routes for healthy, slow, failing and broken answers.
* :class:`TcpTarget` - a listening socket that accepts and closes connections
  and can stop listening (connection refused) and listen again.
* :func:`free_port`, :func:`refused_port`, :func:`raise_fd_limit` - helpers.

Each object owns its resources; the module keeps no global mutable state.
"""

from __future__ import annotations

import asyncio
import contextlib
import http
import os
import secrets
import shutil
import socket
import ssl
import subprocess
import tempfile
import threading
import time
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Self
from urllib.parse import parse_qs

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

LOCALHOST = "127.0.0.1"


# --------------------------------------------------------------------------- helpers


def free_port(host: str = LOCALHOST) -> int:
    """Return a TCP port on ``host`` that nothing listens on right now.

    The kernel picks the port; it is released before returning, so another
    process could take it in between (callers that bind it should retry).
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def refused_port(host: str = LOCALHOST, attempts: int = 20) -> int:
    """Return a port on ``host`` where a connection attempt is refused right now.

    Checked by connecting: the port is only returned after a real
    ``ConnectionRefusedError``.
    """
    for _ in range(attempts):
        port = free_port(host)
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.settimeout(1.0)
            try:
                sock.connect((host, port))
            except ConnectionRefusedError:
                return port
            except OSError:
                continue
    raise RuntimeError(f"no refused port found on {host} after {attempts} attempts")


def raise_fd_limit(minimum: int = 4096) -> int:
    """Raise this process's soft open-file limit to at least ``minimum``.

    Never above the hard limit and never lowers it. Returns the soft limit in
    effect afterwards. Hundreds of concurrent loopback connections need two
    descriptors each when client and server share the process.
    """
    try:
        import resource
    except ImportError:  # not POSIX
        return minimum
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < minimum:
        target = minimum if hard == resource.RLIM_INFINITY else min(minimum, hard)
        if target > soft:
            with contextlib.suppress(ValueError, OSError):
                resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def _tail(path: Path, lines: int = 30) -> str:
    """The last ``lines`` lines of a text file, or a note if it is unreadable."""
    try:
        text = path.read_text(errors="replace")
    except OSError as exc:
        return f"(no log at {path}: {exc})"
    return "\n".join(text.splitlines()[-lines:])


# --------------------------------------------------------------------------- PostgreSQL

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


class PostgresServer:
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
    def host(self) -> str:
        """The TCP address the server listens on (always ``127.0.0.1``)."""
        return LOCALHOST

    @property
    def port(self) -> int:
        """The TCP port; stays the same across :meth:`stop` / :meth:`start`."""
        return self._port

    @property
    def superuser(self) -> str:
        return self._superuser

    @property
    def superuser_password(self) -> str:
        return self._superuser_password

    @property
    def running(self) -> bool:
        """Whether the server was started and not stopped since."""
        return self._running

    @property
    def bin_dir(self) -> Path:
        return self._bin_dir

    @property
    def data_dir(self) -> Path:
        return self._data_dir

    @property
    def socket_dir(self) -> Path:
        return self._socket_dir

    @property
    def log_path(self) -> Path:
        return self._log_path

    def log_tail(self, lines: int = 30) -> str:
        """The last lines of the server log."""
        return _tail(self._log_path, lines)

    # ----------------------------------------------------------------- lifecycle

    def __enter__(self) -> Self:
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

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

    def restart(self) -> None:
        """:meth:`stop` then :meth:`start` on the same data directory and port."""
        self.stop()
        self.start()

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


# --------------------------------------------------------------------------- HTTP

_HUGE_CHUNK = b"0123456789abcdef" * 65536  # 1 MiB
_MAX_REQUEST_BODY = 16 * 1024 * 1024
_MAX_SLOW_MS = 600_000
_GARBAGE = b"\x00\xff\x16\x03 this is not HTTP \xde\xad\xbe\xef\r\n\r\n"


@dataclass(frozen=True, slots=True)
class RequestRecord:
    """One request as the HTTP target saw it.

    ``seconds`` is measured with :func:`time.perf_counter` from receiving the
    end of the request head (``started``, on the same clock) to finishing the
    response write (or closing the connection). ``status`` is ``None`` when no
    HTTP response was sent (``/garbage``, scripted ``down``).
    """

    method: str
    path: str
    query: str
    status: int | None
    seconds: float
    started: float


@dataclass(frozen=True, slots=True)
class _Mode:
    kind: str  # healthy | slow | failing | down
    value: int = 0


def _parse_mode(mode: str) -> _Mode:
    kind, _, arg = mode.partition(":")
    if kind in ("healthy", "down") and not arg:
        return _Mode(kind)
    if kind in ("slow", "failing") and arg.isdigit():
        value = int(arg)
        if kind == "failing" and not 200 <= value <= 599:
            raise ValueError(f"failing status must be 200-599, got {value}")
        if kind == "slow" and value > _MAX_SLOW_MS:
            raise ValueError(f"slow delay must be at most {_MAX_SLOW_MS} ms")
        return _Mode(kind, value)
    raise ValueError(
        f"invalid mode {mode!r}: use 'healthy', 'slow:<ms>', 'failing:<status>' or 'down'"
    )


class _BadRequest(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def _make_self_signed_cert(directory: Path) -> tuple[Path, Path]:
    """Write a self-signed certificate for 127.0.0.1/localhost; return (cert, key)."""
    cert, key = directory / "cert.pem", directory / "key.pem"
    openssl = shutil.which("openssl")
    if openssl:
        result = subprocess.run(
            [
                openssl,
                "req",
                "-x509",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:prime256v1",
                "-nodes",
                "-keyout",
                str(key),
                "-out",
                str(cert),
                "-days",
                "2",
                "-subj",
                "/CN=vigil-test-target",
                "-addext",
                "subjectAltName=IP:127.0.0.1,DNS:localhost",
            ],
            capture_output=True,
            text=True,
            check=False,
            timeout=60,
            stdin=subprocess.DEVNULL,
        )
        if result.returncode == 0:
            return cert, key
        openssl_error = result.stderr.strip()
    else:
        openssl_error = "openssl not found on PATH"
    try:  # the cryptography package, if some dependency already installed it
        import datetime
        import ipaddress

        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import NameOID
    except ImportError:
        raise RuntimeError(
            f"cannot create a TLS certificate: {openssl_error}; install openssl"
        ) from None
    private_key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "vigil-test-target")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(private_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address(LOCALHOST)), x509.DNSName("localhost")]
            ),
            critical=False,
        )
        .sign(private_key, hashes.SHA256())
    )
    cert.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key.write_bytes(
        private_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert, key


class HttpTarget:
    """An HTTP/1.1 server on 127.0.0.1 running its own asyncio loop in a daemon thread.

    Routes (any method; ``HEAD`` gets headers only; anything else is 404):

    * ``/ok`` - 200, body ``ok``
    * ``/status/<code>`` - that status (200-599), body ``status <code>``
    * ``/slow?ms=N`` - 200 ``ok`` after N milliseconds
    * ``/garbage`` - writes bytes that are not HTTP, then closes
    * ``/huge`` - 200 with a ``huge_size``-byte body (64 MiB by default) streamed
      in 1 MiB chunks with ``Content-Length``
    * ``/redirect-loop`` - 302 to itself
    * ``/body?text=...`` - 200 with that text (UTF-8)
    * ``/scripted/<name>`` - behaves as set by :meth:`script` (default ``healthy``)

    Connections are kept alive (HTTP/1.1) unless the client asks otherwise.
    Every request is recorded (see :class:`RequestRecord`), thread-safely.
    With ``tls=True`` it serves HTTPS with a self-signed certificate created at
    first start (valid for 127.0.0.1 and localhost), so default verification
    fails; :meth:`client_ssl_context` trusts it.

    Use as a context manager, or call :meth:`start` / :meth:`stop`. Starting
    again after a stop reuses the port when possible.
    """

    def __init__(
        self,
        *,
        tls: bool = False,
        port: int = 0,
        huge_size: int = 64 * 1024 * 1024,
        backlog: int = 2048,
    ) -> None:
        self._tls = tls
        self._port = port
        self._huge_size = huge_size
        self._backlog = backlog
        self._lock = threading.Lock()
        self._recorded = threading.Condition(self._lock)
        self._records: list[RequestRecord] = []
        self._scripts: dict[str, _Mode] = {}
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.Task[Any]] = set()
        self._cert: Path | None = None
        self._key: Path | None = None
        self._cert_cleanup: weakref.finalize[Any, Any] | None = None

    # ----------------------------------------------------------------- lifecycle

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def start(self) -> Self:
        """Start serving; returns once the socket listens. No-op if running."""
        if self._thread is not None:
            return self
        raise_fd_limit(4096)
        ssl_context = self._server_ssl_context() if self._tls else None
        ready = threading.Event()
        failure: list[BaseException] = []
        thread = threading.Thread(
            target=self._thread_main,
            args=(ssl_context, ready, failure),
            name=f"vigil-{'https' if self._tls else 'http'}-target",
            daemon=True,
        )
        thread.start()
        if not ready.wait(timeout=30):
            raise RuntimeError("HTTP target did not start within 30 s")
        if failure:
            thread.join(timeout=5)
            raise RuntimeError(f"HTTP target failed to start: {failure[0]}") from failure[0]
        self._thread = thread
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Stop listening, close all connections and end the loop thread."""
        thread, loop = self._thread, self._loop
        if thread is None or loop is None:
            return
        with contextlib.suppress(RuntimeError):  # loop already closed
            loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=timeout)
        self._thread = None

    def close(self) -> None:
        """:meth:`stop` and delete the TLS certificate files (a later start makes new ones)."""
        self.stop()
        if self._cert_cleanup is not None:
            self._cert_cleanup()
            self._cert_cleanup = None
        self._cert = self._key = None

    # ----------------------------------------------------------------- properties

    @property
    def host(self) -> str:
        return LOCALHOST

    @property
    def port(self) -> int:
        """The listening port (0 before the first start with the default)."""
        return self._port

    @property
    def scheme(self) -> str:
        return "https" if self._tls else "http"

    @property
    def base_url(self) -> str:
        """E.g. ``http://127.0.0.1:41234`` (no trailing slash)."""
        return f"{self.scheme}://{LOCALHOST}:{self._port}"

    def url(self, path: str) -> str:
        """``base_url`` joined with ``path`` (which should start with ``/``)."""
        return self.base_url + (path if path.startswith("/") else "/" + path)

    @property
    def cert_path(self) -> Path | None:
        """PEM certificate of a TLS target (``None`` without TLS or before start)."""
        return self._cert

    def client_ssl_context(self) -> ssl.SSLContext:
        """A client context that trusts this target's self-signed certificate."""
        if self._cert is None:
            raise RuntimeError("no certificate: construct with tls=True and start()")
        return ssl.create_default_context(cafile=str(self._cert))

    # ----------------------------------------------------------------- control

    def script(self, name: str, mode: str) -> None:
        """Set how ``/scripted/<name>`` answers from now on.

        ``mode``: ``healthy`` (200 ``ok``), ``slow:<ms>`` (200 after ms),
        ``failing:<status>`` (that status) or ``down`` (close without answering).
        Raises ``ValueError`` for anything else. Safe from any thread.
        """
        parsed = _parse_mode(mode)
        with self._lock:
            self._scripts[name] = parsed

    def reset_scripts(self) -> None:
        """Make every ``/scripted/<name>`` healthy again."""
        with self._lock:
            self._scripts.clear()

    def records(self, path: str | None = None) -> list[RequestRecord]:
        """A copy of the recorded requests, oldest first, optionally only for ``path``."""
        with self._lock:
            records = list(self._records)
        return records if path is None else [r for r in records if r.path == path]

    def reset_records(self) -> None:
        """Forget all recorded requests."""
        with self._lock:
            self._records.clear()

    def wait_records(
        self, count: int, path: str | None = None, timeout: float = 5.0
    ) -> list[RequestRecord]:
        """Wait until at least ``count`` requests (for ``path``) are recorded; return them.

        A client can see the end of a response (or of the connection) a moment
        before the server records it. Raises ``TimeoutError`` after ``timeout`` s.
        """

        def matching() -> list[RequestRecord]:
            return [r for r in self._records if path is None or r.path == path]

        with self._recorded:
            if not self._recorded.wait_for(lambda: len(matching()) >= count, timeout):
                raise TimeoutError(
                    f"{len(matching())} of {count} requests recorded within {timeout} s"
                )
            return matching()

    # ----------------------------------------------------------------- internals

    def _server_ssl_context(self) -> ssl.SSLContext:
        if self._cert is None or self._key is None:
            directory = Path(tempfile.mkdtemp(prefix="vigil-tls-"))
            self._cert_cleanup = weakref.finalize(self, shutil.rmtree, directory, True)
            self._cert, self._key = _make_self_signed_cert(directory)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self._cert, self._key)
        return context

    def _thread_main(
        self,
        ssl_context: ssl.SSLContext | None,
        ready: threading.Event,
        failure: list[BaseException],
    ) -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        try:
            server = loop.run_until_complete(self._listen(ssl_context))
        except BaseException as exc:
            failure.append(exc)
            loop.close()
            ready.set()
            return
        self._server = server
        self._port = int(server.sockets[0].getsockname()[1])
        self._loop = loop
        ready.set()
        try:
            loop.run_forever()
        finally:
            try:
                loop.run_until_complete(self._shutdown(server))
                loop.run_until_complete(loop.shutdown_asyncgens())
            finally:
                self._server = None
                loop.close()

    async def _listen(self, ssl_context: ssl.SSLContext | None) -> asyncio.Server:
        """Listen on the previous port if there is one and it is free, else on a new one."""
        ports = [self._port, 0] if self._port else [0]
        for index, port in enumerate(ports):
            try:
                return await asyncio.start_server(
                    self._handle_connection,
                    LOCALHOST,
                    port,
                    ssl=ssl_context,
                    backlog=self._backlog,
                    reuse_address=True,
                )
            except OSError:
                if index + 1 == len(ports):
                    raise
        raise AssertionError("unreachable")

    async def _shutdown(self, server: asyncio.Server) -> None:
        server.close()
        tasks = list(self._connections)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(server.wait_closed(), timeout=5)

    def _record(self, method: str, path: str, query: str, status: int | None, t0: float) -> None:
        record = RequestRecord(method, path, query, status, time.perf_counter() - t0, t0)
        with self._recorded:
            self._records.append(record)
            self._recorded.notify_all()

    async def _handle_connection(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._connections.add(task)
        try:
            keep_alive = True
            while keep_alive:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except asyncio.IncompleteReadError:
                    break  # client closed between requests
                except asyncio.LimitOverrunError:
                    await self._send(writer, 431, b"request head too large\n", keep_alive=False)
                    break
                t0 = time.perf_counter()
                try:
                    method, path, query, keep_alive, length = self._parse_head(head)
                    if length:
                        await reader.readexactly(length)
                except _BadRequest as exc:
                    await self._send(writer, exc.status, f"{exc}\n".encode(), keep_alive=False)
                    self._record("?", "?", "", exc.status, t0)
                    break
                status, keep_alive = await self._dispatch(writer, method, path, query, keep_alive)
                self._record(method, path, query, status, t0)
        except (ConnectionError, asyncio.IncompleteReadError, ssl.SSLError, OSError):
            pass  # the client went away; nothing to answer
        except asyncio.CancelledError:
            pass  # server shutdown
        finally:
            writer.close()
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await asyncio.wait_for(writer.wait_closed(), timeout=2)
            if task is not None:
                self._connections.discard(task)

    @staticmethod
    def _parse_head(head: bytes) -> tuple[str, str, str, bool, int]:
        lines = head.decode("latin-1").split("\r\n")
        parts = lines[0].split(" ")
        if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
            raise _BadRequest(400, "malformed request line")
        method, target, version = parts
        headers: dict[str, str] = {}
        for line in lines[1:]:
            if not line:
                continue
            name, sep, value = line.partition(":")
            if not sep:
                raise _BadRequest(400, "malformed header line")
            headers[name.strip().lower()] = value.strip()
        if "chunked" in headers.get("transfer-encoding", "").lower():
            raise _BadRequest(411, "chunked request bodies are not supported")
        try:
            length = int(headers.get("content-length", "0"))
        except ValueError:
            raise _BadRequest(400, "bad Content-Length") from None
        if length < 0 or length > _MAX_REQUEST_BODY:
            raise _BadRequest(413, "request body too large")
        connection = headers.get("connection", "").lower()
        if version == "HTTP/1.0":
            keep_alive = "keep-alive" in connection
        else:
            keep_alive = "close" not in connection
        path, _, query = target.partition("?")
        return method.upper(), path, query, keep_alive, length

    async def _dispatch(
        self, writer: asyncio.StreamWriter, method: str, path: str, query: str, keep_alive: bool
    ) -> tuple[int | None, bool]:
        """Answer one request; return (status or None, whether to keep the connection)."""
        head_only = method == "HEAD"
        params = parse_qs(query, keep_blank_values=True)

        async def send(status: int, body: bytes = b"", **kwargs: Any) -> tuple[int, bool]:
            await self._send(
                writer, status, body, keep_alive=keep_alive, head_only=head_only, **kwargs
            )
            return status, keep_alive

        if path == "/ok":
            return await send(200, b"ok")
        if path.startswith("/status/"):
            code = path.removeprefix("/status/")
            if not code.isdigit() or not 200 <= int(code) <= 599:
                return await send(400, b"status must be 200-599\n")
            return await send(int(code), f"status {code}".encode())
        if path == "/slow":
            try:
                ms = int(params.get("ms", ["1000"])[0])
            except ValueError:
                return await send(400, b"ms must be an integer\n")
            await asyncio.sleep(max(0, min(ms, _MAX_SLOW_MS)) / 1000)
            return await send(200, b"ok")
        if path == "/garbage":
            writer.write(_GARBAGE)
            await writer.drain()
            return None, False
        if path == "/huge":
            await self._send_huge(writer, keep_alive, head_only)
            return 200, keep_alive
        if path == "/redirect-loop":
            return await send(302, b"", extra_headers=(("Location", "/redirect-loop"),))
        if path == "/body":
            text = params.get("text", [""])[0]
            return await send(200, text.encode())
        if path.startswith("/scripted/"):
            name = path.removeprefix("/scripted/")
            with self._lock:
                mode = self._scripts.get(name, _Mode("healthy"))
            if mode.kind == "down":
                return None, False
            if mode.kind == "slow":
                await asyncio.sleep(mode.value / 1000)
            if mode.kind == "failing":
                return await send(mode.value, f"status {mode.value}".encode())
            return await send(200, b"ok")
        return await send(404, b"not found\n")

    @staticmethod
    async def _send(
        writer: asyncio.StreamWriter,
        status: int,
        body: bytes,
        *,
        keep_alive: bool,
        head_only: bool = False,
        extra_headers: Sequence[tuple[str, str]] = (),
    ) -> None:
        writer.write(HttpTarget._head(status, len(body), keep_alive, extra_headers))
        if body and not head_only and status not in (204, 304):
            writer.write(body)
        await writer.drain()

    @staticmethod
    def _head(
        status: int, length: int, keep_alive: bool, extra_headers: Sequence[tuple[str, str]] = ()
    ) -> bytes:
        try:
            reason = http.HTTPStatus(status).phrase
        except ValueError:
            reason = "Unknown"
        lines = [f"HTTP/1.1 {status} {reason}", "Server: vigil-target"]
        if status not in (204, 304):
            lines += ["Content-Type: text/plain; charset=utf-8", f"Content-Length: {length}"]
        lines.append("Connection: keep-alive" if keep_alive else "Connection: close")
        lines += [f"{name}: {value}" for name, value in extra_headers]
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")

    async def _send_huge(
        self, writer: asyncio.StreamWriter, keep_alive: bool, head_only: bool
    ) -> None:
        writer.write(self._head(200, self._huge_size, keep_alive))
        if not head_only:
            view = memoryview(_HUGE_CHUNK)
            remaining = self._huge_size
            while remaining > 0:
                n = min(remaining, len(view))
                writer.write(view[:n])
                await writer.drain()
                remaining -= n
        await writer.drain()


# --------------------------------------------------------------------------- TCP


class TcpTarget:
    """A TCP listener on 127.0.0.1 that accepts connections and closes them at once.

    :meth:`close` stops listening, so connecting is refused afterwards;
    :meth:`reopen` listens again on the same port if it is still free (else on
    a new one, see :attr:`port`). Use as a context manager or call :meth:`start`.
    """

    def __init__(self, port: int = 0) -> None:
        self._port = port
        self._sock: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._accepted = 0

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def host(self) -> str:
        return LOCALHOST

    @property
    def port(self) -> int:
        return self._port

    @property
    def address(self) -> tuple[str, int]:
        return LOCALHOST, self._port

    @property
    def listening(self) -> bool:
        return self._sock is not None

    @property
    def accepted(self) -> int:
        """How many connections were accepted so far."""
        with self._lock:
            return self._accepted

    def start(self) -> Self:
        """Listen (no-op if already listening)."""
        if self._sock is not None:
            return self
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind((LOCALHOST, self._port))
            except OSError:
                if not self._port:
                    raise
                sock.bind((LOCALHOST, 0))  # the old port is taken
            sock.listen(128)
            sock.settimeout(0.05)
        except BaseException:
            sock.close()
            raise
        self._port = int(sock.getsockname()[1])
        self._sock = sock
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._accept_loop, args=(sock, self._stop), name="vigil-tcp-target", daemon=True
        )
        self._thread.start()
        return self

    def close(self) -> None:
        """Stop listening; returns once the socket is closed (connections are refused)."""
        sock, thread = self._sock, self._thread
        if sock is None:
            return
        self._stop.set()
        if thread is not None:
            thread.join(timeout=5)
        sock.close()
        self._sock = None
        self._thread = None

    def reopen(self) -> int:
        """Listen again, on the same port if possible; return the port."""
        self.close()
        self.start()
        return self._port

    def _accept_loop(self, sock: socket.socket, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                conn, _ = sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            conn.close()
            with self._lock:
                self._accepted += 1
