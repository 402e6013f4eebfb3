"""One ``vidscribe run`` per database: a PostgreSQL advisory lock, held by the run for its life.

Two runs on one database, each with its own queue, would each see the other's queued videos as
"queued on another queue" and send them again, back and forth (12 videos took 54 SendMessage
calls). The lock makes the second run stop at once with a line that names the first. It is a
session lock on a connection of its own: it goes when the run ends, or when its process dies and
the server closes the connection.
"""

from __future__ import annotations

import os
import socket

from psycopg2.extensions import connection, cursor

from .database import Database

# The two int4 keys of pg_try_advisory_lock(key1, key2): "vids" as a number, and 1 for "run".
# pg_locks shows them as classid, objid with objsubid = 2.
_KEYS = (0x76696473, 1)


class RunLock:
    def __init__(self, database: Database) -> None:
        self._database = database
        self._conn: connection | None = None

    def acquire(self) -> str | None:
        """Take the lock; None when taken, else who holds it (for the refusal line)."""
        name = f"vidscribe run (pid {os.getpid()} on {socket.gethostname()})"[:63]
        conn = self._database.dedicated_connection(name)
        with conn.cursor() as cur:
            cur.execute("SELECT pg_try_advisory_lock(%s, %s)", _KEYS)
            row = cur.fetchone()
            if row and row[0]:
                self._conn = conn
                return None
            holder = _holder(cur)
        conn.close()
        return holder

    def release(self) -> None:
        if self._conn is not None:
            self._conn.close()  # the session ends, and its lock with it
            self._conn = None


def _holder(cur: cursor) -> str:
    """Who holds the lock, as far as pg_stat_activity tells this user."""
    cur.execute(
        """
        SELECT a.application_name, a.backend_start FROM pg_locks l JOIN pg_stat_activity a USING (pid)
        WHERE l.locktype = 'advisory' AND l.granted AND l.classid = %s AND l.objid = %s AND l.objsubid = 2
        """,
        _KEYS,
    )
    row = cur.fetchone()
    if not row:
        return "another session"
    name, since = row
    return f"{name or 'another session'}, since {since:%Y-%m-%d %H:%M:%S %Z}".rstrip()
