"""PostgreSQL servers for tests, demos and benchmarks.

Three ways to get a server, all yielding a :class:`Server`:

``throwaway_cluster()``
    initdb into a fresh temporary directory, start it on a private Unix
    socket (no TCP), yield, then stop it and delete every byte, also on
    Ctrl-C and exceptions. Durability is switched off (fsync,
    full_page_writes, synchronous_commit): the data dies with the run anyway.

``persistent_cluster(directory)``
    a cluster kept in ``directory``: initialised on first use,
    started when stopped, reused when already running (its socket and port
    are read from ``postmaster.pid``). Left running at exit unless
    ``stop_at_exit=True`` and this call was the one that started it;
    :func:`stop_cluster` stops it.

``external_server()``
    a server the user runs, described by ``RETENTION_DB_HOST``,
    ``RETENTION_DB_PORT``, ``RETENTION_DB_USER`` (default ``odoo``) and
    ``RETENTION_DB_PASSWORD``. :func:`server_from_env` picks it when
    ``RETENTION_DB_HOST`` is set and a throwaway cluster otherwise.

Clusters are created with the role ``odoo`` (Odoo refuses to run as
``postgres``) and trust authentication. ``initdb`` refuses to run as root,
so when we are root the server binaries run as the ``postgres`` OS user,
which then owns the data and socket directories.

Example::

    with throwaway_cluster() as server:
        server.create_database("demo")
        # or: with server.connect("demo") as connection
        psycopg2.connect(**server.dsn_args("demo"))
        subprocess.run(["psql", "demo"], env={**os.environ, **server.environ()})
"""

import contextlib
import glob
import os
import pwd
import shlex
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROLE = "odoo"
# Unix socket paths are limited to 107 bytes (sun_path), ".s.PGSQL.NNNNN" included.
MAX_SOCKET_DIR_LENGTH = 80
# Durability off: a crash may lose or corrupt the data, which is fine for tests only.
FAST_SETTINGS = "-c fsync=off -c full_page_writes=off -c synchronous_commit=off"


class PostgresError(RuntimeError):
    """PostgreSQL could not be found, initialised, started or reached."""


@dataclass
class Server:
    """Where a PostgreSQL server listens and whom to connect as."""

    host: str  # a socket directory or a host name
    port: int
    user: str = ROLE
    password: str | None = None
    data_dir: Path | None = field(default=None, repr=False)  # None: not ours

    def dsn_args(self, dbname="postgres"):
        """Keyword arguments for ``psycopg2.connect``."""
        args = {
            "host": self.host,
            "port": self.port,
            "user": self.user,
            "dbname": dbname,
        }
        if self.password:
            args["password"] = self.password
        return args

    def environ(self):
        """``PG*`` variables for libpq clients (psql, createdb, pg_dump)."""
        env = {"PGHOST": self.host, "PGPORT": str(self.port), "PGUSER": self.user}
        if self.password:
            env["PGPASSWORD"] = self.password
        return env

    def odoo_args(self):
        """Database options for odoo-bin."""
        args = [
            f"--db_host={self.host}",
            f"--db_port={self.port}",
            f"--db_user={self.user}",
        ]
        if self.password:
            args.append(f"--db_password={self.password}")
        return args

    @contextlib.contextmanager
    def connect(self, dbname="postgres"):
        """An autocommit connection, closed on exit."""
        import psycopg2  # Odoo's driver; imported late so pure tools need not have it

        connection = psycopg2.connect(**self.dsn_args(dbname))
        connection.autocommit = True
        try:
            yield connection
        finally:
            connection.close()

    def execute(self, query, params=None, dbname="postgres"):
        with self.connect(dbname) as connection, connection.cursor() as cursor:
            cursor.execute(query, params)
            return cursor.fetchall() if cursor.description else None

    def databases(self):
        rows = self.execute("SELECT datname FROM pg_database WHERE NOT datistemplate")
        return sorted(name for (name,) in rows)

    def database_exists(self, name):
        return bool(
            self.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        )

    def create_database(self, name, template=None):
        """Create ``name``, as a copy of ``template`` when given: a second or
        two for an installed Odoo database, against a minute to install it."""
        from psycopg2 import sql

        query = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
        if template:
            query += sql.SQL(" TEMPLATE {}").format(sql.Identifier(template))
        self.execute(query)

    def drop_database(self, name):
        from psycopg2 import sql

        self.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                sql.Identifier(name)
            )
        )

    def rename_database(self, old, new):
        from psycopg2 import sql

        self.execute(
            sql.SQL("ALTER DATABASE {} RENAME TO {}").format(
                sql.Identifier(old), sql.Identifier(new)
            )
        )


# --------------------------------------------------------------------------- binaries


def bindir():
    """The directory of initdb/pg_ctl: ``RETENTION_PG_BINDIR``, ``pg_config
    --bindir``, the newest ``/usr/lib/postgresql/*/bin``, or PATH."""
    candidates = [os.environ.get("RETENTION_PG_BINDIR")]
    if shutil.which("pg_config"):
        result = subprocess.run(
            ["pg_config", "--bindir"], capture_output=True, text=True
        )
        candidates.append(result.stdout.strip())
    candidates += sorted(
        glob.glob("/usr/lib/postgresql/*/bin"),
        key=lambda path: int(path.split("/")[-2]),
        reverse=True,
    )
    initdb = shutil.which("initdb")
    candidates.append(initdb and os.path.dirname(initdb))
    for candidate in candidates:
        if candidate and os.access(os.path.join(candidate, "initdb"), os.X_OK):
            return Path(candidate)
    raise PostgresError(
        "PostgreSQL server binaries (initdb, pg_ctl) not found. Install them "
        "(Debian: apt-get install postgresql), set RETENTION_PG_BINDIR to their "
        "directory, or point RETENTION_DB_HOST/PORT/USER/PASSWORD at a running server."
    )


def _as_owner():
    """Command prefix and OS user for the server: ourselves, or ``postgres``
    when we are root (initdb and postgres refuse root)."""
    if os.geteuid() != 0:
        return [], None
    try:
        owner = pwd.getpwnam("postgres")
    except KeyError:
        raise PostgresError(
            "running as root, but there is no 'postgres' OS user to own the cluster "
            "(initdb refuses root): create one, or run as an ordinary user"
        ) from None
    runuser = shutil.which("runuser") or next(
        (
            path
            for path in ("/usr/sbin/runuser", "/sbin/runuser")
            if os.access(path, os.X_OK)
        ),
        None,
    )
    if not runuser:
        raise PostgresError(
            "running as root needs runuser (util-linux) to start PostgreSQL as "
            "'postgres'"
        )
    return [runuser, "-u", "postgres", "--"], owner


def _run(command, what, log=None):
    prefix, _owner = _as_owner()
    try:
        result = subprocess.run(
            prefix + command, capture_output=True, text=True, stdin=subprocess.DEVNULL
        )
    except OSError as error:
        raise PostgresError(f"{what} could not start: {error}") from None
    if result.returncode:
        details = (result.stdout + result.stderr).strip()
        if log and Path(log).exists():
            details += (
                "\n--- server log ---\n" + Path(log).read_text(errors="replace")[-3000:]
            )
        raise PostgresError(f"{what} failed (exit {result.returncode}):\n{details}")
    return result.stdout


def _chown(path):
    _prefix, owner = _as_owner()
    if owner:
        os.chown(path, owner.pw_uid, owner.pw_gid)


def free_port():
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --------------------------------------------------------------------------- clusters


def initdb(data_dir):
    data_dir = Path(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    data_dir.chmod(0o700)
    _chown(data_dir)
    _run(
        [
            str(bindir() / "initdb"),
            "-D",
            str(data_dir),
            "-U",
            ROLE,
            "--auth=trust",
            "-E",
            "UTF8",
            "--locale=C.UTF-8",
            "--no-instructions",
        ],
        "initdb",
    )


def _status(data_dir):
    """``(port, socket_dir)`` of the server running on ``data_dir``, or None."""
    result = subprocess.run(
        _as_owner()[0] + [str(bindir() / "pg_ctl"), "-D", str(data_dir), "status"],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    if result.returncode != 0:
        return None
    # postmaster.pid: pid, data dir, start time, port, socket dir, ...
    lines = (Path(data_dir) / "postmaster.pid").read_text().splitlines()
    return int(lines[3]), lines[4].split(",")[0].strip()


def start(data_dir, socket_dir, port=None, log=None, durable=False):
    """Start the cluster in ``data_dir`` listening only on ``socket_dir``
    (no TCP), with durability off unless ``durable``."""
    port = port or free_port()
    log = Path(log or Path(data_dir).parent / "postgres.log")
    if not log.exists():
        log.touch()
        _chown(log)
    _run(
        [
            str(bindir() / "pg_ctl"),
            "-D",
            str(data_dir),
            "-l",
            str(log),
            "-w",
            "-t",
            "60",
            "-o",
            f"-k {shlex.quote(str(socket_dir))} -p {port} -c listen_addresses='' "
            + ("" if durable else FAST_SETTINGS),
            "start",
        ],
        "pg_ctl start",
        log=log,
    )
    return Server(host=str(socket_dir), port=port, data_dir=Path(data_dir))


def stop_cluster(data_dir):
    """Stop the cluster in ``data_dir`` if it runs (fast shutdown: sessions
    are disconnected)."""
    if Path(data_dir, "postmaster.pid").exists() and _status(data_dir):
        _run(
            [str(bindir() / "pg_ctl"), "-D", str(data_dir), "-m", "fast", "-w", "stop"],
            "pg_ctl stop",
        )


@contextlib.contextmanager
def throwaway_cluster():
    """A new cluster in a temporary directory, deleted at exit."""
    root = Path(tempfile.mkdtemp(prefix="retention-pg-"))
    data_dir = root / "data"
    try:
        _chown(root)  # the socket lives in root itself: short path, private
        initdb(data_dir)
        server = start(data_dir, root)
        yield server
    finally:
        try:
            stop_cluster(data_dir)
        except PostgresError:
            pass  # nothing left to stop, or initdb never finished
        finally:
            shutil.rmtree(root, ignore_errors=True)


@contextlib.contextmanager
def persistent_cluster(directory, stop_at_exit=False, durable=False):
    """The cluster kept in ``directory`` (data in ``directory/data``):
    initialised if new, started if stopped (with durability off unless
    ``durable``: a demo database should survive a power cut, a test one need
    not), reused as it runs if running."""
    directory = Path(directory).absolute()
    data_dir = directory / "data"
    directory.mkdir(parents=True, exist_ok=True)
    _chown(directory)
    if not (data_dir / "PG_VERSION").exists():
        if data_dir.exists():
            shutil.rmtree(data_dir)  # an initdb that died half-way
        initdb(data_dir)
    running = _status(data_dir)
    started_here = running is None
    if running:
        port, socket_dir = running
        server = Server(host=socket_dir, port=port, data_dir=data_dir)
    else:
        socket_dir = directory
        if len(str(socket_dir)) > MAX_SOCKET_DIR_LENGTH:
            socket_dir = Path(tempfile.mkdtemp(prefix="retention-pgsock-"))
            _chown(socket_dir)
        server = start(
            data_dir, socket_dir, log=directory / "postgres.log", durable=durable
        )
    try:
        yield server
    finally:
        if stop_at_exit and started_here:
            stop_cluster(data_dir)


@contextlib.contextmanager
def external_server():
    """The server described by the ``RETENTION_DB_*`` variables."""
    server = Server(
        host=os.environ["RETENTION_DB_HOST"],
        port=int(os.environ.get("RETENTION_DB_PORT") or 5432),
        user=os.environ.get("RETENTION_DB_USER") or ROLE,
        password=os.environ.get("RETENTION_DB_PASSWORD") or None,
    )
    if server.user == "postgres":
        raise PostgresError(
            "RETENTION_DB_USER=postgres: Odoo refuses to run as the superuser "
            "'postgres'; "
            "create a role with CREATEDB (createuser -d odoo) and use it"
        )
    try:
        wait_ready(server, timeout=10)
    except PostgresError as error:
        raise PostgresError(
            f"RETENTION_DB_HOST is set but the server is unreachable: {error}"
        ) from None
    yield server


def server_from_env():
    """``external_server()`` when ``RETENTION_DB_HOST`` is set, else
    ``throwaway_cluster()``."""
    return (
        external_server()
        if os.environ.get("RETENTION_DB_HOST")
        else throwaway_cluster()
    )


def wait_ready(server, timeout=30):
    import psycopg2

    deadline = time.monotonic() + timeout
    while True:
        try:
            server.execute("SELECT 1")
            return
        except psycopg2.OperationalError as error:
            if time.monotonic() > deadline:
                raise PostgresError(str(error).strip()) from None
            time.sleep(0.2)
