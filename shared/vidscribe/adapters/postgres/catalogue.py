"""PostgreSQL adapter for the Catalogue port: what the web page reads besides the reports.

Every video of VIDEOS_TABLE with its job and its transcript, a keyset page at a time: the page after
(or before) an id, in id order, never an OFFSET, so a page deep in a million videos costs what the
first does: the bound is given to the joined jobs and transcripts too, so every join starts at the
page. The languages and models the filters offer are walked along migration 006's indexes
(``bench/bench_web.py``). Read-only, except ``write_access``, which only asks.
"""

from __future__ import annotations

from typing import Any

from psycopg2 import sql
from psycopg2.extensions import cursor, quote_ident

from ...jobs.states import JobState
from ...models import CataloguePage, CatalogueQuery, CatalogueRow, FailureRecord, WriteAccess
from . import job_sql
from .database import Database, fetch_one
from .store import videos_identifier

# A video with its job and its transcript. The displayed state is the job's, else "done" for a
# transcript stored without a job, else "new".
_SELECT = (
    "SELECT v.id::text, v.url, coalesce(j.state, CASE WHEN t.video_id IS NULL THEN 'new' ELSE {done} END),"
    " coalesce(j.attempts, 0), j.last_error_type, t.language, t.duration_seconds, t.model, t.speech_seconds,"
    " t.cost_usd, coalesce(t.no_speech, false), t.created_at"
    " FROM {videos} v LEFT JOIN video_jobs j ON j.video_id = v.id::text{job_bound}"
    " LEFT JOIN transcripts t ON t.video_id = v.id::text{transcript_bound}"
)
# How many distinct languages or models the filters offer at most.
_MAX_CHOICES = 200
# The writes the operator's actions make: retry-failed queues jobs (INSERT ... ON CONFLICT DO UPDATE
# on video_jobs), dismiss resolves failure records (UPDATE failures).
_WRITES = (("video_jobs", "INSERT"), ("video_jobs", "UPDATE"), ("failures", "UPDATE"))


def like_pattern(text: str) -> str:
    """``text`` as a LIKE pattern that matches it anywhere, its own wildcards taken literally."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _row(row: tuple[Any, ...]) -> CatalogueRow:
    return CatalogueRow(
        video_id=row[0],
        url=row[1],
        state=row[2],
        attempts=row[3],
        last_error_type=row[4],
        language=row[5],
        duration=row[6],
        model=row[7],
        speech_seconds=row[8],
        cost_usd=None if row[9] is None else float(row[9]),
        no_speech=row[10],
        transcribed_at=row[11],
    )


def _filters(query: CatalogueQuery) -> tuple[list[sql.Composable], dict[str, Any]]:
    """The WHERE conditions of the filters, and their parameters."""
    conditions: list[sql.Composable] = []
    params: dict[str, Any] = {}
    if query.state == "new":
        conditions.append(sql.SQL("j.video_id IS NULL AND t.video_id IS NULL"))
    elif query.state == JobState.DONE:
        conditions.append(
            sql.SQL("t.video_id IS NOT NULL AND (j.state IS NULL OR {})").format(job_sql.is_state(JobState.DONE, "j"))
        )
    elif query.state is not None:
        conditions.append(sql.SQL("j.state = %(state)s"))
        params["state"] = query.state
    if query.language is not None:
        conditions.append(sql.SQL("t.language = %(language)s"))
        params["language"] = query.language
    if query.model is not None:
        conditions.append(sql.SQL("t.model = %(model)s"))
        params["model"] = query.model
    if query.id_contains:
        conditions.append(sql.SQL("v.id::text ILIKE %(pattern)s"))
        params["pattern"] = like_pattern(query.id_contains)
    return conditions, params


class PostgresCatalogue:
    def __init__(self, database: Database, *, videos_table: str = "videos") -> None:
        self._db = database
        self._videos_table = videos_table
        self._videos = videos_identifier(videos_table)
        self._text_ids: bool | None = None

    # --- the catalogue -----------------------------------------------------------------------------
    def page(self, query: CatalogueQuery) -> CataloguePage:
        """One page of ``query.limit`` videos; going back (``before``), the page before that id."""
        backwards = query.before is not None and query.after is None
        statement, params = self.statement(query, backwards)

        def work(cur: cursor) -> list[CatalogueRow]:
            cur.execute(statement, params)
            return [_row(r) for r in cur.fetchall()]

        rows = self._db.run(work)
        more = len(rows) > query.limit
        rows = rows[: query.limit]
        if backwards:
            return CataloguePage(rows[::-1], has_previous=more, has_next=True)
        return CataloguePage(rows, has_previous=query.after is not None, has_next=more)

    def statement(self, query: CatalogueQuery, backwards: bool = False) -> tuple[sql.Composed, dict[str, Any]]:
        """The page's statement and its parameters (``bench/bench_web.py`` prints its plans)."""
        conditions, params = _filters(query)
        bound = query.before if backwards else query.after
        operator = sql.SQL("<" if backwards else ">")
        joins: dict[str, sql.Composable] = {"job_bound": sql.SQL(""), "transcript_bound": sql.SQL("")}
        if bound is not None:
            params["bound"] = bound
            conditions.append(sql.SQL("v.id {} %(bound)s").format(operator))
            if self._ids_are_text():
                # PostgreSQL carries equalities across a join, not ranges: without the bound on the
                # joined tables too, a merge join walks their index from its first entry to the page.
                joins = {
                    "job_bound": sql.SQL(" AND j.video_id {} %(bound)s").format(operator),
                    "transcript_bound": sql.SQL(" AND t.video_id {} %(bound)s").format(operator),
                }
        params["limit"] = query.limit + 1  # one more: is there another page?
        statement = sql.SQL("{select} WHERE {conditions} ORDER BY v.id {direction} LIMIT %(limit)s").format(
            select=sql.SQL(_SELECT).format(videos=self._videos, done=job_sql.state(JobState.DONE), **joins),
            conditions=sql.SQL(" AND ").join(conditions) if conditions else sql.SQL("true"),
            direction=sql.SQL("DESC" if backwards else "ASC"),
        )
        return statement, params

    def _ids_are_text(self) -> bool:
        """Whether VIDEOS_TABLE's id is text in the database's collation: then it sorts as the job's
        and the transcript's video_id do, and a bound on one is a bound on the other."""
        if self._text_ids is None:

            def work(cur: cursor) -> bool:
                cur.execute(
                    "SELECT atttypid IN ('text'::regtype, 'varchar'::regtype) AND attcollation IN (0, 100)"
                    " FROM pg_attribute WHERE attrelid = to_regclass(%s) AND attname = 'id'",
                    (".".join(quote_ident(part, cur) for part in self._videos_table.split(".")),),
                )
                row = cur.fetchone()
                return bool(row and row[0])

            self._text_ids = self._db.run(work)
        return self._text_ids

    def video(self, video_id: str) -> CatalogueRow | None:
        select = sql.SQL(_SELECT).format(
            videos=self._videos, done=job_sql.state(JobState.DONE), job_bound=sql.SQL(""), transcript_bound=sql.SQL("")
        )
        statement = sql.SQL("{select} WHERE v.id::text = %s").format(select=select)

        def work(cur: cursor) -> CatalogueRow | None:
            cur.execute(statement, (video_id,))
            row = cur.fetchone()
            if row is None:  # a video queued by hand with a URL is not in the videos table
                cur.execute(
                    "SELECT j.video_id, j.url, j.state, j.attempts, j.last_error_type, t.language, t.duration_seconds,"
                    " t.model, t.speech_seconds, t.cost_usd, coalesce(t.no_speech, false), t.created_at"
                    " FROM video_jobs j LEFT JOIN transcripts t USING (video_id) WHERE j.video_id = %s",
                    (video_id,),
                )
                row = cur.fetchone()
            return _row(row) if row else None

        return self._db.run(work)

    def choices(self) -> tuple[list[str], list[str]]:
        """Distinct languages and models, each by a walk that skips from value to value along its
        index (a loose index scan: a few probes, not a scan of every transcript)."""

        def distinct(cur: cursor, column: str) -> list[str]:
            cur.execute(
                sql.SQL(
                    """
                    WITH RECURSIVE walk(value) AS (
                        (SELECT {c} FROM transcripts WHERE {c} IS NOT NULL ORDER BY {c} LIMIT 1)
                        UNION ALL
                        SELECT (SELECT {c} FROM transcripts WHERE {c} > walk.value ORDER BY {c} LIMIT 1)
                        FROM walk WHERE walk.value IS NOT NULL
                    )
                    SELECT value FROM walk WHERE value IS NOT NULL LIMIT %s
                    """
                ).format(c=sql.Identifier(column)),
                (_MAX_CHOICES,),
            )
            return [r[0] for r in cur.fetchall()]

        return self._db.run(lambda cur: (distinct(cur, "language"), distinct(cur, "model")))

    def open_failures(self, limit: int) -> list[FailureRecord]:
        def work(cur: cursor) -> list[FailureRecord]:
            cur.execute(
                "SELECT id, video_id, error_type, message, attempts, failed_at, original_message, resolved_at,"
                " resolution FROM failures WHERE resolved_at IS NULL ORDER BY id DESC LIMIT %s",
                (limit,),
            )
            return [FailureRecord(*row) for row in cur.fetchall()]

        return self._db.run(work)

    # --- what this role may do ---------------------------------------------------------------------
    def write_access(self) -> WriteAccess:
        """Whether the operator's writes would be allowed: not in a read-only transaction (a role or
        a database with ``default_transaction_read_only``, a standby), and with the privileges the
        writes need (``has_table_privilege`` answers true when any one listed privilege is held, so
        each is asked alone)."""

        def work(cur: cursor) -> WriteAccess:
            cur.execute("SELECT current_setting('transaction_read_only') = 'on', pg_is_in_recovery()")
            read_only, standby = fetch_one(cur)
            if standby:
                return WriteAccess(False, "the database is a read-only standby")
            if read_only:
                return WriteAccess(False, "the database role's transactions are read-only")
            missing = []
            for table, privilege in _WRITES:
                cur.execute("SELECT has_table_privilege(%s, %s)", (table, privilege))
                if not fetch_one(cur)[0]:
                    missing.append(f"{privilege} on {table}")
            if missing:
                return WriteAccess(False, "the database role may not " + ", ".join(missing))
            return WriteAccess(True)

        return self._db.run(work)
