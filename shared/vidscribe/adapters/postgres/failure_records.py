"""PostgreSQL adapter, continued: the persistent failure records of the Store port.

``PostgresStore`` (``store.py``) inherits these methods: the one place where a failure is
written, superseded, or read back for a retry.
"""

from __future__ import annotations

from psycopg2.extensions import cursor

from ...models import JobError
from ...redaction import scrub
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
        # PostgreSQL text cannot hold NUL; a lenient endpoint may deliver one in a body.
        message = scrub(message.replace("\x00", "\\u0000"))[:MAX_ERROR_CHARS]
        if original_message is not None:
            original_message = scrub(original_message.replace("\x00", "\\u0000"))

        def work(cur: cursor) -> int | None:
            count = attempts
            if video_id is not None:
                cur.execute("SELECT state, claim_token FROM video_jobs WHERE video_id = %s FOR UPDATE", (video_id,))
                job = cur.fetchone()
                if claim_token is not None and (job is None or job[0] != "processing" or job[1] != claim_token):
                    return None  # the claim was released: this attempt's outcome no longer decides
                cur.execute(
                    """
                    UPDATE video_jobs SET state = 'failed', lease_expires_at = NULL, claimed_by = NULL,
                        updated_at = now(), last_error_type = %s, last_error = %s
                    WHERE video_id = %s AND state <> 'done'
                    RETURNING attempts
                    """,
                    (error_type, message, video_id),
                )
                row = cur.fetchone()
                if count is None:
                    count = row[0] if row else 0
                if job is not None and job[0] != "failed":
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

        return self._db.run(work)

    def job_error(self, video_id: str) -> JobError:
        def work(cur: cursor) -> JobError:
            cur.execute(
                "SELECT last_error_type, last_error, attempts FROM video_jobs WHERE video_id = %s", (video_id,)
            )
            row = cur.fetchone()
            return JobError(row[0], row[1], row[2]) if row else JobError(None, None, 0)

        return self._db.run(work)

    def failed_video_ids(self, error_type: str | None = None) -> list[tuple[str, str | None]]:
        """(video id, url) of the videos with an open failure record, optionally of one error type."""

        def work(cur: cursor) -> list[tuple[str, str | None]]:
            cur.execute(
                """
                SELECT f.video_id, j.url FROM failures f LEFT JOIN video_jobs j USING (video_id)
                WHERE f.resolved_at IS NULL AND f.video_id IS NOT NULL
                  AND (%(type)s::text IS NULL OR f.error_type = %(type)s)
                ORDER BY f.video_id
                """,
                {"type": error_type},
            )
            return [(r[0], r[1]) for r in cur.fetchall()]

        return self._db.run(work)
