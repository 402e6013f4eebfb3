"""PostgreSQL connections: a small pool, and short transactions that ride out a server restart.

Each unit of work is one transaction on a pooled connection. When the connection is lost (a server
restart, a network blip) every idle connection is dropped and the work is tried again on a fresh
one, for a few seconds, so that a database that goes away for a moment costs a short wait, not an
attempt or a worker. That is for a running service that loses its database: until a first
connection has succeeded, nothing is retried, so a wrong URL fails at once (``Database.check`` says
what is wrong in one line). Connection errors never carry the URL's password: the driver echoes
parts of a malformed DSN, so its messages are scrubbed before they leave this module.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from typing import Any, TypeVar

import psycopg2
from psycopg2.extensions import TRANSACTION_STATUS_IDLE, connection, cursor, parse_dsn

from ...errors import ConfigurationError
from ...redaction import database_url_secrets, scrub

T = TypeVar("T")
Dsn = str | Callable[[], str]  # a connection string, or what makes a fresh one for each connection

_CONNECTION_LOST = (psycopg2.OperationalError, psycopg2.InterfaceError)
# Waits before each new try after a lost connection: about 7.5 s in all, enough for a restart.
_RECONNECT_DELAYS = (0.0, 0.5, 1.0, 2.0, 4.0)


class ConnectionPool:
    """At most ``size`` connections, idle ones kept for reuse; a caller waits for a free one.

    Written by hand: psycopg2's own pools close every returned connection beyond ``minconn`` and
    raise instead of waiting when all are busy, which is neither what a long-lived worker nor a
    Lambda wants.
    """

    def __init__(
        self,
        dsn: Dsn,
        size: int,
        connection_factory: type[connection] | None = None,
        options: Mapping[str, str] | None = None,
    ) -> None:
        # A callable DSN is asked again for every new connection (an IAM token expires in 15 min).
        self._dsn: Callable[[], str] = dsn if callable(dsn) else (lambda: dsn)
        self._options: dict[str, Any] = dict(options or {})
        if connection_factory:
            self._options["connection_factory"] = connection_factory
        self._idle: list[connection] = []
        self._lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(size)

    def get(self) -> connection:
        if not self._slots.acquire(timeout=60):
            raise psycopg2.OperationalError("no database connection became free within 60 s")
        with self._lock:
            idle = self._idle.pop() if self._idle else None
        if idle is not None:
            return idle
        try:
            return connect(self._dsn(), 10, **self._options)
        except BaseException:
            self._slots.release()
            raise

    def put(self, conn: connection, *, broken: bool) -> None:
        try:
            if broken or conn.closed:
                conn.close()
                # One dead connection usually means the server restarted: the idle ones are dead too.
                self.clear()
            elif conn.info.transaction_status != TRANSACTION_STATUS_IDLE:
                conn.close()
            else:
                with self._lock:
                    self._idle.append(conn)
        finally:
            self._slots.release()

    def clear(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()


class Database:
    """One pool for a process; ``run(work)`` is one transaction, retried on a lost connection."""

    def __init__(
        self,
        dsn: Dsn,
        *,
        max_connections: int = 8,
        connection_factory: type[connection] | None = None,
        options: Mapping[str, str] | None = None,
    ) -> None:
        """``options``: libpq connection parameters that override the DSN's (``sslmode``,
        ``sslrootcert``); ``connection_factory``: a psycopg2 connection class, for instrumentation."""
        self._dsn: Callable[[], str] = dsn if callable(dsn) else (lambda: dsn)
        self._options = dict(options or {})
        self._pool = ConnectionPool(dsn, max_connections, connection_factory, options)
        self.max_connections = max_connections
        self._connected = False  # the reconnect loop starts after a first success

    def check(self, source: str = "DATABASE_URL", timeout: int = 2) -> None:
        """Connect once, now, within ``timeout`` seconds; ConfigurationError naming ``source`` (the
        variable that holds the URL) in one line, without the password, if that fails."""
        dsn = self._dsn()
        try:
            connect(dsn, timeout, **self._options).close()
        except psycopg2.Error as exc:
            raise ConfigurationError(connection_problem(exc, dsn, source, timeout)) from None
        self._connected = True

    def describe(self) -> str:
        """Where the database is (host:port/dbname), without credentials: for log lines."""
        return describe_dsn(self._dsn())

    def close(self) -> None:
        self._pool.clear()

    def dedicated_connection(self, application_name: str) -> connection:
        """A connection of its own, outside the pool, in autocommit mode, named ``application_name``
        (what ``pg_stat_activity`` shows): for a session-level lock that lives as long as it does."""
        conn = connect(self._dsn(), 10, application_name=application_name, **self._options)
        conn.autocommit = True
        return conn

    @contextmanager
    def _cursor(self) -> Iterator[cursor]:
        conn = self._pool.get()
        broken = False
        try:
            with conn, conn.cursor() as cur:  # commits on success, rolls back on error
                yield cur
        except _CONNECTION_LOST:
            broken = True
            raise
        finally:
            self._pool.put(conn, broken=broken)

    def run(self, work: Callable[[cursor], T]) -> T:
        """``work(cursor)`` in one transaction; after a lost connection, again on a fresh one (once
        the database has been reached at all)."""
        if not self._connected:
            with self._cursor() as cur:
                result = work(cur)
            self._connected = True
            return result
        for delay in _RECONNECT_DELAYS[:-1]:
            if delay:
                time.sleep(delay)
            try:
                with self._cursor() as cur:
                    return work(cur)
            except _CONNECTION_LOST:
                continue
        time.sleep(_RECONNECT_DELAYS[-1])
        with self._cursor() as cur:
            return work(cur)

    def now(self) -> datetime:
        """The database's clock, so that reports never compare two machines' clocks."""

        def work(cur: cursor) -> datetime:
            cur.execute("SELECT now()")
            row = cur.fetchone()
            assert row is not None
            return row[0]  # type: ignore[no-any-return]

        return self.run(work)


def fetch_one(cur: cursor) -> tuple[Any, ...]:
    """The row a statement that always returns one (an aggregate, ``RETURNING``) returned."""
    row = cur.fetchone()
    if row is None:
        raise psycopg2.ProgrammingError("the statement returned no row")
    return tuple(row)


def connect(dsn: str, timeout: int, **kwargs: Any) -> connection:
    """psycopg2.connect, with the password scrubbed from any error (same exception class)."""
    try:
        conn: connection = psycopg2.connect(dsn, connect_timeout=timeout, **kwargs)
        return conn
    except psycopg2.Error as exc:
        raise type(exc)(scrub(str(exc), database_url_secrets(dsn))) from None


def describe_dsn(dsn: str) -> str:
    """Where a connection string points (host:port/dbname), without its credentials."""
    try:
        params = parse_dsn(dsn)
    except psycopg2.Error:
        return "an unreadable connection string"
    host = params.get("host") or params.get("hostaddr") or "the local socket"
    where = host if host.startswith("/") else f"{host}:{params.get('port') or 5432}"
    return f"{where}/{params.get('dbname') or params.get('user') or 'postgres'}"


def connection_problem(exc: psycopg2.Error, dsn: str, source: str, timeout: int) -> str:
    """One line that says what is wrong with the connection, and what to fix in ``source``."""
    try:
        params = parse_dsn(dsn)
    except psycopg2.Error:
        # Never repeat the driver's message here: it quotes the malformed string, password and all.
        return (
            f"{source} is not a PostgreSQL connection string: give a URL such as postgresql://HOST:5432/DBNAME "
            "(with USER:PASSWORD@ before HOST) or key=value pairs such as 'host=HOST dbname=DBNAME user=USER'"
        )
    host = params.get("host") or params.get("hostaddr") or "the local socket"
    where = f"{host}:{params.get('port') or 5432}" if not host.startswith("/") else host
    database = params.get("dbname") or params.get("user") or "postgres"
    lines = [line.strip() for line in str(exc).strip().splitlines() if line.strip()]
    first = lines[0] if lines else type(exc).__name__
    reason = first.split(" failed: ", 1)[-1].removeprefix("FATAL:").strip()
    lowered = reason.lower()
    if "connection refused" in lowered or "no such file or directory" in lowered:
        hint = "is the server running, and are the host and port right?"
        reason = "connection refused"
    elif "timeout expired" in lowered:
        hint = "check the host and port, or what stands in between"
        reason = f"no answer within {timeout} s"
    elif "password authentication failed" in lowered or "authentication" in lowered:
        hint = "check the user and password"
    elif "invalid response" in lowered or "closed the connection" in lowered:
        hint = "is a PostgreSQL server listening there?"
    elif "does not exist" in lowered:
        hint = "create it, or fix the database name"
    elif "translate host name" in lowered:
        hint = "check the host name"
    else:
        hint = "check the URL"
    message = f"{source}: cannot connect to PostgreSQL at {where} (database {database!r}): {reason}; {hint}"
    return scrub(message, database_url_secrets(dsn))
