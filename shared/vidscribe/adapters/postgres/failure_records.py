"""PostgreSQL adapter, continued: the persistent failure records of the Store port.

``PostgresStore`` (``store.py``) inherits these methods: the one place where a failure is
written, superseded, or read back for a retry.
"""

from __future__ import annotations

from collections.abc import Sequence

from psycopg2 import sql
from psycopg2.extensions import cursor

from ...jobs.states import NOT_FAILABLE, JobState
from ...models import Dismissed, JobError, OpenFailure
from ...redaction import scrub
from . import job_sql
from .database import Database

MAX_ERROR_CHARS = 4000  # a failure's message as stored; the rest of a long one says nothing new


class FailureRecords:
    _db: Database

    def record_failure(
        self,
        video_id: str | None,
        error_type: str,
        message: str,
        attempts: int | None,
        original_message: str | None,
        *,
        claim_token: int | None = None,
    ) -> int | None:
        """Write the persistent failure record and mark the job failed; returns the new record's id,
        or None when nothing new was recorded.

        A new final failure of a video (its job was not failed yet, e.g. after retry-failed)
        supersedes the open record, which stays as history: the open record always describes the
        latest failure. Recording again what is already recorded (the job is failed and a record is
        open: a DLQ redelivery) changes nothing. With ``claim_token``, only while the job is still
        under that claim. ``attempts=None`` takes the count from the job row. Messages and the
        original message are stored with their secrets scrubbed.
        """
        message, original_message = _storable(message, original_message)
        return self._db.run(
            lambda cur: _record(cur, video_id, error_type, message, attempts, original_message, claim_token)
        )

    def record_refused_row(self, stand_in_id: str, error_type: str, message: str, original_message: str) -> int | None:
        """The failure record of a videos-table row that cannot even be reserved (its id is too long
        to be a key), under ``stand_in_id``, with a failed job under the same id so that the
        fetcher passes the row over from now on: one transaction, so neither is left without the
        other. Returns the record's id, or None when the row was recorded before."""
        message, original = _storable(message, original_message)

        def work(cur: cursor) -> int | None:
            cur.execute(
                sql.SQL(
                    "INSERT INTO video_jobs (video_id, url, state, attempts, last_error_type, last_error)"
                    " VALUES (%s, NULL, {}, 0, %s, %s) ON CONFLICT (video_id) DO NOTHING RETURNING video_id"
                ).format(job_sql.state(JobState.FAILED)),
                (stand_in_id, error_type, message),
            )
            if cur.fetchone() is None:
                return None
            return _record(cur, stand_in_id, error_type, message, 0, original, None)

        return self._db.run(work)

    def job_error(self, video_id: str) -> JobError:
        def work(cur: cursor) -> JobError:
            cur.execute(
                "SELECT last_error_type, last_error, attempts FROM video_jobs WHERE video_id = %s", (video_id,)
            )
            row = cur.fetchone()
            return JobError(row[0], row[1], row[2]) if row else JobError(None, None, 0)

        return self._db.run(work)

    def open_failures(self, error_type: str | None = None) -> list[OpenFailure]:
        """The open failure records, optionally of one error type, each with its video's url as its
        job knows it (None for a record that names no video, or a job without a url)."""

        def work(cur: cursor) -> list[OpenFailure]:
            cur.execute(
                """
                SELECT f.id, f.video_id, j.url FROM failures f LEFT JOIN video_jobs j USING (video_id)
                WHERE f.resolved_at IS NULL AND (%(type)s::text IS NULL OR f.error_type = %(type)s)
                ORDER BY f.video_id NULLS LAST, f.id
                """,
                {"type": error_type},
            )
            return [OpenFailure(*row) for row in cur.fetchall()]

        return self._db.run(work)

    def dismiss_failures(self, record_ids: Sequence[int] = (), error_type: str | None = None) -> Dismissed:
        """Resolve open failure records as ``dismissed``: those named by id, or every open one of
        ``error_type``. When a named record is not open, nothing is dismissed and ``not_open`` says
        which. The records stay, as history; a video's job stays failed (``retry-failed`` still
        takes it)."""

        def work(cur: cursor) -> Dismissed:
            if record_ids:
                cur.execute(
                    "SELECT id FROM failures WHERE id = ANY(%s) AND resolved_at IS NULL FOR UPDATE",
                    (list(record_ids),),
                )
                found = {row[0] for row in cur.fetchall()}
                not_open = sorted(set(record_ids) - found)
                if not_open:
                    return Dismissed([], not_open)
            cur.execute(
                """
                UPDATE failures SET resolved_at = now(), resolution = 'dismissed'
                WHERE resolved_at IS NULL AND (%(all)s OR id = ANY(%(ids)s))
                  AND (%(type)s::text IS NULL OR error_type = %(type)s)
                RETURNING id
                """,
                {"all": not record_ids, "ids": list(record_ids), "type": error_type},
            )
            return Dismissed(sorted(row[0] for row in cur.fetchall()), [])

        return self._db.run(work)

    def recorded_error_types(self) -> list[str]:
        """Every error type a failure record carries, resolved or not."""

        def work(cur: cursor) -> list[str]:
            cur.execute("SELECT DISTINCT error_type FROM failures ORDER BY 1")
            return [row[0] for row in cur.fetchall()]

        return self._db.run(work)

def _storable(message: str, original_message: str | None) -> tuple[str, str | None]:
    """The message and the original message as they may be stored: scrubbed of secrets, with what
    PostgreSQL text cannot hold (NUL, lone surrogates) and what a terminal would obey (control
    characters) escaped (``scrub``); the message cut to MAX_ERROR_CHARS."""
    return scrub(message)[:MAX_ERROR_CHARS], None if original_message is None else scrub(original_message)


def _record(
    cur: cursor,
    video_id: str | None,
    error_type: str,
    message: str,
    attempts: int | None,
    original_message: str | None,
    claim_token: int | None,
) -> int | None:
    """``FailureRecords.record_failure``'s statements, in the caller's transaction."""
    count = attempts
    if video_id is not None:
        cur.execute("SELECT state, claim_token FROM video_jobs WHERE video_id = %s FOR UPDATE", (video_id,))
        job = cur.fetchone()
        if claim_token is not None and (job is None or job[0] != JobState.PROCESSING or job[1] != claim_token):
            return None  # the claim was released: this attempt's outcome no longer decides
        cur.execute(
            sql.SQL(
                """
            UPDATE video_jobs SET state = {failed}, lease_expires_at = NULL, claimed_by = NULL,
                updated_at = now(), last_error_type = %s, last_error = %s
            WHERE video_id = %s AND NOT {final}
            RETURNING attempts
            """
            ).format(failed=job_sql.state(JobState.FAILED), final=job_sql.in_states(NOT_FAILABLE)),
            (error_type, message, video_id),
        )
        row = cur.fetchone()
        if count is None:
            count = row[0] if row else 0
        if job is not None and job[0] != JobState.FAILED:
            # A new final failure: the open record (from before a retry) becomes history.
            cur.execute(
                "UPDATE failures SET resolved_at = now(), resolution = 'superseded'"
                " WHERE video_id = %s AND resolved_at IS NULL",
                (video_id,),
            )
    cur.execute(
        """
        INSERT INTO failures (video_id, error_type, message, attempts, original_message)
        VALUES (%s, %s, %s, %s, %s)
        ON CONFLICT (video_id) WHERE resolved_at IS NULL AND video_id IS NOT NULL DO NOTHING
        RETURNING id
        """,
        (video_id, error_type, message, count or 0, original_message),
    )
    row = cur.fetchone()
    return int(row[0]) if row else None
