"""The schema is part of the product: versioned SQL files in ``migrations/``, applied in name order."""

from __future__ import annotations

from importlib import resources
from importlib.resources.abc import Traversable

from psycopg2.extensions import cursor

from .database import Database

MIGRATIONS_PACKAGE = "vidscribe.adapters.postgres.migrations"


def _migration_files() -> list[Traversable]:
    return sorted(
        (f for f in resources.files(MIGRATIONS_PACKAGE).iterdir() if f.name.endswith(".sql")),
        key=lambda f: f.name,
    )


def pending_migrations(database: Database) -> list[str]:
    """The migrations not applied yet, asked without writing anything (for a read-only role, which
    cannot migrate)."""

    def work(cur: cursor) -> set[str]:
        cur.execute("SELECT to_regclass('vidscribe_migrations') IS NOT NULL")
        row = cur.fetchone()
        if not row or not row[0]:
            return set()
        cur.execute("SELECT name FROM vidscribe_migrations")
        return {r[0] for r in cur.fetchall()}

    done = database.run(work)
    return [f.name for f in _migration_files() if f.name not in done]


def migrate(database: Database) -> list[str]:
    """Apply the SQL files that have not run yet; return their names."""
    files = _migration_files()

    def work(cur: cursor) -> list[str]:
        # One migrator at a time, even when several processes start together.
        cur.execute("SELECT pg_advisory_xact_lock(hashtext('vidscribe.migrate'))")
        cur.execute(
            "CREATE TABLE IF NOT EXISTS vidscribe_migrations ("
            " name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
        )
        cur.execute("SELECT name FROM vidscribe_migrations")
        done = {row[0] for row in cur.fetchall()}
        applied = []
        for f in files:
            if f.name in done:
                continue
            cur.execute(f.read_text())
            cur.execute("INSERT INTO vidscribe_migrations (name) VALUES (%s)", (f.name,))
            applied.append(f.name)
        return applied

    return database.run(work)
