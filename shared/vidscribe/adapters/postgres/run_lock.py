"""Runs on one database share one queue: a PostgreSQL advisory lock per queue, held by each run.

Two runs on one database with queues of their own (each its embedded queue, or two QUEUE_URLs) see
each other's queued videos as "queued on another queue" and send them again, back and forth (12
videos took 54 SendMessage calls). Runs on the same queue are fine: their fetchers reserve through
the database and never send a video twice (tests/integration/test_fault_accounting.py runs three).
So each run holds a shared session lock named after its queue, and a run whose queue differs from
one already held stops at once with a line that names that run. The locks live on a connection of
their own: they go when the run ends, or when its process dies and the server closes the
connection.
"""

from __future__ import annotations

import os
import socket

import psycopg2
from psycopg2.extensions import connection, cursor

from .database import Database

# Advisory lock keys (two int4s; pg_locks shows them as classid, objid, with objsubid = 2): "vids" as
# a number, with the hash of the queue's identity; one more number, taken for the length of a
# transaction, makes registering and looking at the others one step.
_QUEUES = 0x76696473
_REGISTERING = (0x76696474, 0)


class RunLock:
    def __init__(self, database: Database) -> None:
        self._database = database
        self._conn: connection | None = None

    def acquire(self, queue: str) -> str | None:
        """Hold the lock of ``queue`` (a URL, or a name unique to an embedded queue); None when
        held, else who runs on this database with another queue (for the refusal line)."""
        name = f"vidscribe run (pid {os.getpid()} on {socket.gethostname()})"[:63]
        conn = self._database.dedicated_connection(name)
        conn.autocommit = False
        with conn, conn.cursor() as cur:  # one transaction; the session lock outlives it
            cur.execute("SELECT pg_advisory_xact_lock(%s, %s)", _REGISTERING)
            cur.execute("SELECT pg_advisory_lock_shared(%s, hashtext(%s))", (_QUEUES, queue))
            holder = _other_queue(cur)
            if holder is not None:
                cur.execute("SELECT pg_advisory_unlock_shared(%s, hashtext(%s))", (_QUEUES, queue))
        if holder is not None:
            conn.close()
            return holder
        conn.autocommit = True
        self._conn = conn
        return None

    def release(self) -> None:
        if self._conn is None:
            return
        conn, self._conn = self._conn, None
        try:
            # At once: a closed connection's session (and its lock) ends a moment later, on the server.
            with conn.cursor() as cur:
                cur.execute("SELECT pg_advisory_unlock_all()")
        except psycopg2.Error:
            pass  # the connection is gone already, and its session with it
        finally:
            conn.close()


def _other_queue(cur: cursor) -> str | None:
    """A session of this database that holds another queue's lock than ours, as far as
    pg_stat_activity tells this user; None if there is none."""
    cur.execute(
        """
        SELECT a.application_name, a.backend_start
        FROM pg_locks mine
        JOIN pg_locks other ON other.locktype = 'advisory' AND other.granted AND other.database = mine.database
             AND other.classid = mine.classid AND other.objsubid = 2 AND other.objid <> mine.objid
        LEFT JOIN pg_stat_activity a ON a.pid = other.pid
        WHERE mine.pid = pg_backend_pid() AND mine.locktype = 'advisory' AND mine.classid = %s
          AND mine.objsubid = 2
        LIMIT 1
        """,
        (_QUEUES,),
    )
    row = cur.fetchone()
    if row is None:
        return None
    name, since = row
    return f"{name or 'another session'}" + (f", since {since:%Y-%m-%d %H:%M:%S %Z}".rstrip() if since else "")
