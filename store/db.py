"""The database handle: engine, transactions that lock correctly, and schema migrations."""

from __future__ import annotations

import contextlib
import contextvars
import math
import os
import socket
import sys
import threading
import time
import typing as t
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, DisconnectionError, InterfaceError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

try:
    import fcntl
except ImportError:  # Windows has no fcntl: there, processes wait in SQLite's busy handler
    fcntl = None  # type: ignore[assignment]

MIGRATIONS = Path(__file__).parent / "migrations"
# The newest migration's revision (tests/platform/test_store.py checks it is alembic's head): a
# database already there starts without importing alembic, a quarter of a second of every start.
HEAD_REVISION = "0005"
SQLITE_BUSY_TIMEOUT_MS = 10_000
SETUP_LOCK = 0x41525449  # any constant; names the advisory lock of schema set-up


def _configure_sqlite(engine: Engine, *, busy_ms: int = SQLITE_BUSY_TIMEOUT_MS) -> None:
    """WAL, a busy timeout, foreign keys, and BEGIN IMMEDIATE for writes.

    pysqlite's own transaction handling begins lazily, which loses concurrent read-modify-write
    updates and fails with "database is locked" despite the busy timeout; SQLAlchemy's documented
    recipe turns it off and emits BEGIN itself, so writers take the lock up front.
    """

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {busy_ms}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        immediate = connection.get_execution_options().get("sqlite_immediate", False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


# While another process holds the writer's lock, how often a writer with a timeout looks again:
# from a quarter of a millisecond, doubling, to 2 ms (flock itself cannot wait with a timeout).
FLOCK_FIRST_PAUSE = 0.00025
FLOCK_LONGEST_PAUSE = 0.002


def _write_turn_timeout() -> OperationalError:
    """What SQLite's busy handler would raise after its timeout: a 503, nothing written."""
    return OperationalError("waiting for SQLite's write turn", None, TimeoutError())


class _WriteTurn:
    """One SQLite writer at a time: threads of this process take turns on a lock, and processes
    on an advisory lock of a file beside the database (POSIX `flock`; where there is none, or
    for an in-memory database, other processes are left to SQLite's busy handler). With a
    timeout, both waits together last at most that long."""

    def __init__(self, database: str | None, timeout: float | None = None) -> None:
        self._timeout = -1 if timeout is None else timeout  # RLock.acquire's "no timeout"
        self._threads = threading.RLock()
        self._depth = 0
        self._path = None
        if database not in (None, "", ":memory:") and fcntl is not None:
            self._path = f"{database}-writer.lock"
        self._file: t.IO[bytes] | None = None
        self._pid = os.getpid()

    def __enter__(self) -> None:
        deadline = None if self._timeout < 0 else time.monotonic() + self._timeout
        if not self._threads.acquire(timeout=self._timeout):
            raise _write_turn_timeout()
        self._depth += 1
        if self._depth == 1 and self._path is not None:
            try:
                if self._file is None or self._pid != os.getpid():
                    # Its own open file in each process: a forked child using its parent's would
                    # share the parent's lock. Held open while the app lives.
                    self._file = open(self._path, "ab")
                    self._pid = os.getpid()
                _flock(self._file, deadline)
            except BaseException:
                self._depth -= 1
                self._threads.release()
                raise

    def __exit__(self, *_: object) -> None:
        self._depth -= 1
        try:
            if self._depth == 0 and self._file is not None:
                fcntl.flock(self._file, fcntl.LOCK_UN)
        finally:
            self._threads.release()

    def close(self) -> None:
        """Close the lock file (the next write opens it again)."""
        with self._threads:
            if self._file is not None:
                self._file.close()
                self._file = None


def _flock(file: t.IO[bytes], deadline: float | None) -> None:
    """Take the file's exclusive lock; by `deadline` (time.monotonic()), or raise the write
    turn's timeout. Without a deadline, wait as long as the other process holds it."""
    if deadline is None:
        fcntl.flock(file, fcntl.LOCK_EX)
        return
    pause = FLOCK_FIRST_PAUSE
    while True:
        try:
            fcntl.flock(file, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            left = deadline - time.monotonic()
            if left <= 0:
                raise _write_turn_timeout() from None
            time.sleep(min(pause, left))
            pause = min(pause * 2, FLOCK_LONGEST_PAUSE)


class _Deadlines:
    """Cuts a PostgreSQL connection that a thread has held for longer than `timeout` seconds.

    A server that stops answering without closing (a stalled proxy or pooler, a half-dead
    network path that still acknowledges) would otherwise leave the thread waiting forever:
    libpq has no client-side statement timeout, and `statement_timeout` and TCP timeouts only
    help while the server, or the network, still answers. A watchdog thread shuts the socket
    down at the deadline; the blocked call then fails (OperationalError), and the request gets
    a 503. Each checked-out connection's socket is duplicated, so that shutting it down can
    never reach a descriptor number the system has since reused."""

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self._lock = threading.Lock()
        self._watched: dict[int, tuple[float, socket.socket]] = {}
        self._thread: threading.Thread | None = None
        self.setup = threading.local()  # `unbounded` set: this thread sets up the schema

    def watch(self, record: object, dbapi_connection: Any) -> None:
        """Give the connection until now + timeout, until `unwatch`."""
        fd = dbapi_connection.pgconn.socket
        watched = socket.socket(fileno=os.dup(fd))
        with self._lock:
            previous = self._watched.pop(id(record), None)
            self._watched[id(record)] = (time.monotonic() + self.timeout, watched)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="db-deadlines", daemon=True)
                self._thread.start()
        if previous is not None:
            previous[1].close()

    def unwatch(self, record: object) -> None:
        """The connection is back in the pool (or gone)."""
        with self._lock:
            found = self._watched.pop(id(record), None)
        if found is not None:
            found[1].close()

    def _run(self) -> None:
        while True:
            time.sleep(min(0.1, self.timeout / 4))
            now = time.monotonic()
            with self._lock:
                late = [key for key, (deadline, _) in self._watched.items() if deadline <= now]
                cut = [self._watched.pop(key)[1] for key in late]
            for watched in cut:
                with contextlib.suppress(OSError):
                    watched.shutdown(socket.SHUT_RDWR)
                watched.close()


STALL_SHARE = 0.8  # a failure this far into the timeout: the database stopped answering
PROBE_SECONDS = 0.5  # between round trips to a database that stopped answering
QUERY_CANCELED = "57014"  # SQLSTATE: statement_timeout (the server answers; a slow statement)


class _Stalls:
    """A database that stopped answering is known as such until it answers again.

    Once a use of the database has failed after waiting (nearly) its whole timeout, every later
    use fails at once (OperationalError: a 503), instead of each waiting out the timeout again,
    and a thread makes a round trip (`probe`, bounded by the same timeout) every PROBE_SECONDS
    until one is answered. Without it a request waited out the timeout once per step (checking a
    pooled connection, then opening a new one) and each request queued behind others for a
    thread waited theirs too: 2 to 3 times DATABASE_TIMEOUT, measured."""

    def __init__(self, timeout: float, probe: Callable[[], None]) -> None:
        self.timeout = timeout
        self.probe = probe
        self.stalled = False
        self.stopped = False  # the database is disposed of: no more probes
        self._lock = threading.Lock()
        self._prober: threading.Thread | None = None

    def check(self) -> None:
        """Fail at once while the database is known not to answer."""
        if self.stalled:
            raise OperationalError("the database stopped answering", None, TimeoutError())

    @contextmanager
    def watching(self) -> Iterator[None]:
        """A use of the database: refused while it is known not to answer; one that fails after
        waiting out (nearly) its timeout makes it known."""
        self.check()
        started = time.monotonic()
        try:
            yield
        except (OperationalError, InterfaceError) as error:
            waited = time.monotonic() - started
            canceled = getattr(error.orig, "sqlstate", None) == QUERY_CANCELED
            if waited >= self.timeout * STALL_SHARE and not canceled:
                self.note()
            raise

    def note(self) -> None:
        """The database stopped answering: refuse its uses until a probe is answered."""
        with self._lock:
            self.stalled = True
            if self._prober is None:
                self._prober = threading.Thread(target=self._run, name="db-probe", daemon=True)
                self._prober.start()

    def _run(self) -> None:
        while not self.stopped:
            time.sleep(PROBE_SECONDS)
            try:
                self.probe()
            except Exception:  # noqa: S112 (not answering yet: probe again)
                continue
            with self._lock:
                self.stalled = False
                self._prober = None
            return


def _bound_postgresql(engine: Engine, deadlines: _Deadlines) -> None:
    """Every use of a connection is bounded by the deadlines: checked (a round trip, replacing
    `pool_pre_ping`, whose ping nothing bounds) when taken from the pool, cut if it is held too
    long (`_Deadlines`); and a connection that fails the check is replaced."""
    setup = deadlines.setup

    @event.listens_for(engine, "connect")
    def _fresh(_dbapi_connection: Any, record: Any) -> None:
        record.info["fresh"] = True

    @event.listens_for(engine, "checkout")
    def _checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        if getattr(setup, "unbounded", False):
            return
        deadlines.watch(record, dbapi_connection)
        if record.info.pop("fresh", False):
            return
        started = time.monotonic()
        try:
            with dbapi_connection.cursor() as cursor:
                cursor.execute("SELECT 1")
        except Exception as error:
            deadlines.unwatch(record)
            if time.monotonic() - started >= deadlines.timeout * STALL_SHARE:
                # Cut at its deadline: the server stopped answering. A DisconnectionError would
                # have the pool open a new connection at once, and wait out the timeout again.
                raise OperationalError("the database stopped answering", None, error) from None
            raise DisconnectionError(type(error).__name__) from None

    @event.listens_for(engine, "checkin")
    def _checkin(_dbapi_connection: Any, record: Any) -> None:
        deadlines.unwatch(record)


SQLITE_FULL = 13  # SQLite's result code for "database or disk is full"
POSTGRESQL_DISK_FULL = "53100"  # SQLSTATE disk_full
FULL_REMEMBERED_SECONDS = 30.0


def is_storage_full(error: BaseException) -> bool:
    """Whether a database error says it has no room left (a full disk, SQLite's page limit)."""
    original = getattr(error, "orig", error)
    return (
        getattr(original, "sqlite_errorcode", None) == SQLITE_FULL
        or getattr(original, "sqlstate", None) == POSTGRESQL_DISK_FULL
    )


class _Atomic:
    """The transaction of a `Database.atomic()` block, begun by its first write."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.stack = contextlib.ExitStack()
        self._session: Session | None = None

    def session(self) -> Session:
        if self._session is None:
            self._session = self.db.begin_write(self.stack)
        return self._session


_ATOMIC: contextvars.ContextVar[_Atomic | None] = contextvars.ContextVar("atomic", default=None)


class Database:
    """One database, SQLite or PostgreSQL, chosen by its URL."""

    def __init__(self, url: str, *, pool_size: int = 5, timeout: float | None = None) -> None:
        """`pool_size`: connections kept open, at least the threads that use them at once; each
        thread beyond them opens a connection of its own and closes it again (on PostgreSQL a
        new server process each time: 12 s of load on 10 threads opened 451 with 5 kept, 10
        with 10, measured).

        `timeout`: seconds a request may wait for the database, in all: to connect, for a
        connection from the pool, for a statement (PostgreSQL's `statement_timeout`), while
        holding a connection (`_Deadlines`), for SQLite's write lock. None: no bound (tools)."""
        self.url = make_url(url)
        self.is_sqlite = self.url.get_backend_name() == "sqlite"
        self.timeout = timeout
        self._full_at: float | None = None
        options: dict[str, Any] = {}
        connect_args: dict[str, Any] = {}
        if timeout is not None:
            options["pool_timeout"] = timeout
            if self.is_sqlite:
                connect_args["timeout"] = timeout
            else:
                milliseconds = max(1, int(timeout * 1000))
                connect_args.update(
                    connect_timeout=max(2, math.ceil(timeout)),  # libpq's least: 2 s
                    options=f"-c statement_timeout={milliseconds}",
                    # A peer gone silent (packets dropped): unacknowledged data fails the
                    # connection after this long, and idle ones are probed.
                    tcp_user_timeout=milliseconds,
                    keepalives=1,
                    keepalives_idle=max(1, int(timeout)),
                    keepalives_interval=1,
                    keepalives_count=3,
                )
        self.engine = create_engine(
            self.url,
            pool_size=pool_size,
            pool_pre_ping=not self.is_sqlite and timeout is None,
            # A statement's parameters (a message's content, a password hash) stay out of every
            # error's text, and so out of the log.
            hide_parameters=True,
            connect_args=connect_args,
            **options,
        )
        self._deadlines: _Deadlines | None = None
        self._stalls: _Stalls | None = None
        if not self.is_sqlite and timeout is not None:
            self._deadlines = _Deadlines(timeout)
            _bound_postgresql(self.engine, self._deadlines)
            self._stalls = _Stalls(timeout, self._round_trip)
        if self.is_sqlite:
            _configure_sqlite(self.engine, busy_ms=int((timeout or 10) * 1000))
        writer = self._writer_engine = self.engine.execution_options(sqlite_immediate=True)
        self._reader = sessionmaker(self.engine, expire_on_commit=False)
        self._writer = sessionmaker(writer, expire_on_commit=False)
        # SQLite has one writer at a time. Writers queue for their turn here, each woken as soon
        # as the one before commits; left to SQLite's busy handler, they would poll its lock with
        # sleeps of up to 100 ms (measured: a third fewer POSTs per second, p99 ten times worse).
        self._write_turn: contextlib.AbstractContextManager[t.Any] = (
            _WriteTurn(self.url.database, timeout) if self.is_sqlite else contextlib.nullcontext()
        )

    def _watching(self) -> contextlib.AbstractContextManager[None]:
        """A use of the database, bounded as a whole (`_Stalls`) where a timeout is set."""
        return self._stalls.watching() if self._stalls is not None else contextlib.nullcontext()

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A session for queries; nothing it does is committed."""
        with self._watching(), self._reader() as session, session.begin():
            yield session
            session.rollback()

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A session whose work commits as one transaction, or not at all; inside `atomic()`,
        that block's transaction."""
        joined = _ATOMIC.get()
        if joined is not None and joined.db is self:
            yield joined.session()
            return
        with contextlib.ExitStack() as stack:
            yield self.begin_write(stack)

    def begin_write(self, stack: contextlib.ExitStack) -> Session:
        """A write's turn, session and transaction, entered on `stack`: committed when it
        closes, rolled back when it exits with an exception."""
        stack.enter_context(self._watching())
        stack.enter_context(self._noting_room())
        stack.enter_context(self._write_turn)
        session = stack.enter_context(self._writer())
        stack.enter_context(session.begin())
        return session

    @contextmanager
    def write_statements(self) -> Iterator[Connection]:
        """A connection for Core statements that commit as one transaction, or not at all: a
        write's turn and transaction without a Session's unit of work (for one INSERT, about a
        twentieth of a small POST's time, measured); inside `atomic()`, that block's."""
        joined = _ATOMIC.get()
        if joined is not None and joined.db is self:
            yield joined.session().connection()
            return
        with (
            self._watching(),
            self._noting_room(),
            self._write_turn,
            self._writer_engine.begin() as connection,
        ):
            yield connection

    @contextmanager
    def atomic(self) -> Iterator[None]:
        """Every write in the block (in this thread's context) joins one transaction, begun by
        the first and committed when the block ends, or rolled back if it raises."""
        joined = _Atomic(self)
        token = _ATOMIC.set(joined)
        try:
            yield
        except BaseException:
            joined.stack.__exit__(*sys.exc_info())
            raise
        else:
            joined.stack.close()
        finally:
            _ATOMIC.reset(token)

    @contextmanager
    def _noting_room(self) -> Iterator[None]:
        """Remember when a write failed for lack of room, and forget it when one succeeds."""
        try:
            yield
        except DBAPIError as error:
            if is_storage_full(error):
                self._full_at = time.monotonic()
            raise
        self._full_at = None

    @property
    def recently_full(self) -> bool:
        """Whether a write failed for lack of room in the last FULL_REMEMBERED_SECONDS with no
        write succeeding since, or (SQLite) its file system has less than a megabyte free."""
        full_at = self._full_at
        if full_at is not None and time.monotonic() - full_at < FULL_REMEMBERED_SECONDS:
            return True
        if self.is_sqlite and self.url.database not in (None, "", ":memory:"):
            try:
                found = os.statvfs(Path(self.url.database).resolve().parent)
            except OSError:
                return False
            return found.f_bavail * found.f_frsize < 1024 * 1024
        return False

    def ping(self) -> None:
        """Round-trip to the database; raises (OperationalError) when it cannot be reached, at
        once while it is known not to answer."""
        with self._watching():
            self._round_trip()

    def _round_trip(self) -> None:
        with self.engine.connect() as connection:
            connection.exec_driver_sql("SELECT 1")

    def hold_setup_lock(self, connection: Connection) -> None:
        """Serialise schema and fixture set-up between processes starting at once.

        PostgreSQL: an advisory lock held until the transaction ends. SQLite: the transaction
        already holds the write lock (BEGIN IMMEDIATE).
        """
        if not self.is_sqlite:
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": SETUP_LOCK})

    def revision(self) -> str | None:
        """The schema's migration revision, or None for a database never migrated."""
        try:
            with self.engine.connect() as connection:
                found = connection.execute(text("SELECT version_num FROM alembic_version"))
                return found.scalar()
        except DBAPIError as error:
            if error.connection_invalidated:  # unreachable, not unmigrated
                raise
            return None  # no alembic_version table yet

    def migrate(self, revision: str = "head") -> None:
        """Bring the schema to `revision` (the newest); a no-op when it is already there."""
        if self.is_sqlite and self.url.database not in (None, "", ":memory:"):
            Path(self.url.database).parent.mkdir(parents=True, exist_ok=True)
        if revision == "head" and self.revision() == HEAD_REVISION:
            return
        from alembic import command  # lazily: see HEAD_REVISION

        with self._unbounded(), self.engine.connect() as connection:
            if self.is_sqlite:
                # SQLite migrations rebuild tables; with foreign keys on, dropping a parent table
                # deletes its children first. The pragma only works outside a transaction.
                connection.connection.driver_connection.execute("PRAGMA foreign_keys = OFF")  # type: ignore[union-attr]
            try:
                with connection.execution_options(sqlite_immediate=True).begin():
                    if not self.is_sqlite:  # it may wait for another process's migration
                        connection.exec_driver_sql("SET LOCAL statement_timeout = 0")
                    self.hold_setup_lock(connection)
                    config = alembic_config()
                    config.attributes["connection"] = connection
                    command.upgrade(config, revision)
            finally:
                if self.is_sqlite:
                    connection.connection.driver_connection.execute("PRAGMA foreign_keys = ON")  # type: ignore[union-attr]

    @contextmanager
    def _unbounded(self) -> Iterator[None]:
        """Schema set-up, which may wait for another process's: no deadline on its connection."""
        setup = getattr(self._deadlines, "setup", None)
        if setup is None:
            yield
            return
        setup.unbounded = True
        try:
            yield
        finally:
            setup.unbounded = False

    def dispose(self) -> None:
        """Close every pooled connection (and stop looking for a database that stopped
        answering)."""
        if self._stalls is not None:
            self._stalls.stopped = True
        self.engine.dispose()
        if isinstance(self._write_turn, _WriteTurn):
            self._write_turn.close()


def alembic_config(url: str | None = None) -> Any:
    """Alembic's configuration for our migrations, optionally bound to a database URL."""
    from alembic.config import Config  # lazily: see HEAD_REVISION

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if url is not None:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config
