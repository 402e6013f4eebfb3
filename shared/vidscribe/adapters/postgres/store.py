"""PostgreSQL adapter for the Store port: videos and their job state, transcripts, failure records.

This is where a transcript is written (``save_transcript``) and where a job's state and lease change.
Every statement is parameterised; the one identifier that comes from configuration (VIDEOS_TABLE) is
validated by Settings and quoted with psycopg2.sql. Each method is one short transaction
(``Database.run``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence

import psycopg2.extras
from psycopg2 import sql
from psycopg2.extensions import cursor

from ...contract import MAX_ATTEMPTS
from ...models import Claim, ClaimOutcome, JobError, PendingVideo, Transcript
from .database import Database, fetch_one

MAX_ERROR_CHARS = 4000  # a failure's message as stored; the rest of a long one says nothing new


def videos_identifier(videos_table: str) -> sql.Identifier:
    """The VIDEOS_TABLE name (``table`` or ``schema.table``), quoted as an identifier."""
    return sql.Identifier(*videos_table.split("."))


class PostgresStore:
    def __init__(self, database: Database, *, videos_table: str = "videos") -> None:
        self._db = database
        self._videos = videos_identifier(videos_table)

    # --- videos ------------------------------------------------------------------------------------
    def add_videos(self, rows: Iterable[tuple[str, str]], *, update_urls: bool = False) -> int:
        """Insert (id, url) rows; an existing id keeps its row unless ``update_urls``.

        Returns how many rows were inserted (or, with ``update_urls``, inserted or changed).
        """
        rows = list(rows)
        if not rows:
            return 0
        conflict = sql.SQL(
            "DO UPDATE SET url = EXCLUDED.url WHERE v.url IS DISTINCT FROM EXCLUDED.url"
            if update_urls
            else "DO NOTHING"
        )
        query = sql.SQL("INSERT INTO {table} AS v (id, url) VALUES %s ON CONFLICT (id) {conflict} RETURNING id").format(
            table=self._videos, conflict=conflict
        )

        def work(cur: cursor) -> int:
            inserted = psycopg2.extras.execute_values(cur, query, rows, page_size=1000, fetch=True)
            return len(inserted)

        return self._db.run(work)

    def video_url(self, video_id: str) -> str | None:
        query = sql.SQL("SELECT url FROM {} WHERE id::text = %s").format(self._videos)

        def work(cur: cursor) -> str | None:
            cur.execute(query, (video_id,))
            row = cur.fetchone()
            if row is None:
                cur.execute("SELECT url FROM video_jobs WHERE video_id = %s", (video_id,))
                row = cur.fetchone()
            return row[0] if row else None

        return self._db.run(work)

    # --- the fetcher's side ------------------------------------------------------------------------
    def reserve_pending(self, limit: int, queued_lease_seconds: int) -> list[PendingVideo]:
        """Mark up to ``limit`` videos that need a transcript as queued and return them.

        Eligible: videos with no transcript and no live job, plus jobs whose queued/processing lease
        has expired (a lost message, a crashed worker, a video queued by hand that is not in the
        videos table). Two fetchers running at once cannot both reserve a video: the second one's
        upsert waits on the first's row lock and then finds a live lease.

        "No finished or live job" is asked as two NOT EXISTS, one per job state group (a video has
        at most one job row, so this is the same condition): each is answered by a partial index
        (migration 002) without visiting job rows, which keeps the plan index-driven with a
        million videos (bench/bench_fetcher_scale.py).
        """
        query = sql.SQL(
            """
            WITH candidates AS (
                SELECT DISTINCT ON (video_id) video_id, url FROM (
                    (SELECT v.id::text AS video_id, v.url, 0 AS source
                     FROM {videos} v
                     WHERE NOT EXISTS (SELECT 1 FROM transcripts t WHERE t.video_id = v.id::text)
                       AND NOT EXISTS (
                             SELECT 1 FROM video_jobs j
                             WHERE j.video_id = v.id::text AND j.state IN ('done', 'failed'))
                       AND NOT EXISTS (
                             SELECT 1 FROM video_jobs j
                             WHERE j.video_id = v.id::text AND j.state IN ('queued', 'processing')
                               AND j.lease_expires_at > now())
                     ORDER BY v.id
                     LIMIT %(limit)s)
                    UNION ALL
                    (SELECT j.video_id, j.url, 1 AS source
                     FROM video_jobs j
                     WHERE j.state IN ('queued', 'processing') AND j.lease_expires_at <= now()
                       AND j.url IS NOT NULL
                       AND NOT EXISTS (SELECT 1 FROM transcripts t WHERE t.video_id = j.video_id)
                     ORDER BY j.lease_expires_at
                     LIMIT %(limit)s)
                ) c
                ORDER BY video_id, source
            )
            INSERT INTO video_jobs AS j (video_id, url, state, lease_expires_at)
            SELECT video_id, url, 'queued', now() + make_interval(secs => %(lease)s)
            FROM candidates ORDER BY video_id LIMIT %(limit)s
            ON CONFLICT (video_id) DO UPDATE
                SET state = 'queued', url = EXCLUDED.url,
                    lease_expires_at = EXCLUDED.lease_expires_at, updated_at = now()
                WHERE j.state IN ('queued', 'processing') AND j.lease_expires_at <= now()
            RETURNING j.video_id, j.url
            """
        ).format(videos=self._videos)

        def work(cur: cursor) -> list[PendingVideo]:
            cur.execute(query, {"limit": limit, "lease": queued_lease_seconds})
            return [PendingVideo(video_id=r[0], url=r[1]) for r in cur.fetchall()]

        return self._db.run(work)

    def release_reservation(self, video_ids: Sequence[str]) -> None:
        if not video_ids:
            return
        self._db.run(
            lambda cur: cur.execute(
                "UPDATE video_jobs SET lease_expires_at = now(), updated_at = now()"
                " WHERE video_id = ANY(%s) AND state = 'queued'",
                (list(video_ids),),
            )
        )

    def forget_queued(self) -> int:
        """The queue was replaced by an empty one (the embedded endpoint keeps nothing across runs):
        every queued or processing job becomes eligible for the fetcher again. Returns how many."""

        def work(cur: cursor) -> int:
            cur.execute(
                "UPDATE video_jobs SET lease_expires_at = now(), updated_at = now()"
                " WHERE state IN ('queued', 'processing') AND lease_expires_at > now()"
            )
            return cur.rowcount

        return self._db.run(work)

    def mark_queued(self, video_id: str, url: str | None, queued_lease_seconds: int) -> None:
        """A video enqueued by hand (or by retry-failed): queued now, attempts counted afresh."""
        self._db.run(
            lambda cur: cur.execute(
                """
                INSERT INTO video_jobs AS j (video_id, url, state, lease_expires_at)
                VALUES (%s, %s, 'queued', now() + make_interval(secs => %s))
                ON CONFLICT (video_id) DO UPDATE
                    SET state = 'queued', url = COALESCE(EXCLUDED.url, j.url), attempts = 0,
                        lease_expires_at = EXCLUDED.lease_expires_at, updated_at = now()
                    WHERE j.state <> 'done'
                """,
                (video_id, url, queued_lease_seconds),
            )
        )

    # --- the transcriber's side --------------------------------------------------------------------
    def claim(
        self, video_id: str, url: str | None, processing_lease_seconds: int, max_attempts: int = MAX_ATTEMPTS
    ) -> Claim:
        """Take ownership of a video for one attempt, unless it is done, failed, owned by a live
        lease, or has used up its ``max_attempts`` (a duplicate delivery or a crash spent them)."""

        def work(cur: cursor) -> Claim:
            cur.execute("SELECT 1 FROM transcripts WHERE video_id = %s", (video_id,))
            if cur.fetchone():
                return Claim(ClaimOutcome.ALREADY_DONE)
            cur.execute(
                """
                INSERT INTO video_jobs AS j (video_id, url, state, attempts, lease_expires_at)
                VALUES (%(id)s, %(url)s, 'processing', 1, now() + make_interval(secs => %(lease)s))
                ON CONFLICT (video_id) DO UPDATE
                    SET state = 'processing', attempts = j.attempts + 1,
                        url = COALESCE(EXCLUDED.url, j.url),
                        lease_expires_at = EXCLUDED.lease_expires_at, updated_at = now()
                    WHERE (j.state = 'queued' OR (j.state = 'processing' AND j.lease_expires_at <= now()))
                      AND j.attempts < %(max)s
                RETURNING attempts
                """,
                {"id": video_id, "url": url, "lease": processing_lease_seconds, "max": max_attempts},
            )
            row = cur.fetchone()
            if row:
                return Claim(ClaimOutcome.CLAIMED, attempts=row[0])
            cur.execute(
                "SELECT state, attempts, lease_expires_at > now() FROM video_jobs WHERE video_id = %s", (video_id,)
            )
            state, attempts, lease_live = fetch_one(cur)
            if state == "done":
                return Claim(ClaimOutcome.ALREADY_DONE, attempts=attempts)
            if state == "failed":
                return Claim(ClaimOutcome.FAILED, attempts=attempts)
            if state == "processing" and lease_live:
                return Claim(ClaimOutcome.IN_FLIGHT, attempts=attempts)
            return Claim(ClaimOutcome.EXHAUSTED, attempts=attempts)

        return self._db.run(work)

    def save_transcript(self, video_id: str, transcript: Transcript) -> bool:
        """Store the transcript and mark the job done; False if another worker stored one first."""

        def work(cur: cursor) -> bool:
            cur.execute(
                """
                INSERT INTO transcripts (video_id, text, segments, language, duration_seconds, backend, model,
                                         speech_seconds, no_speech, model_audio_seconds, cost_usd)
                VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
                ON CONFLICT (video_id) DO NOTHING
                RETURNING video_id
                """,
                (
                    video_id,
                    transcript.text,
                    json.dumps([s.to_dict() for s in transcript.segments]),
                    transcript.language,
                    transcript.duration,
                    transcript.backend,
                    transcript.model,
                    transcript.speech_seconds,
                    transcript.no_speech,
                    transcript.model_audio_seconds,
                    transcript.cost_usd,
                ),
            )
            inserted = cur.fetchone() is not None
            cur.execute(
                "UPDATE video_jobs SET state = 'done', lease_expires_at = NULL, updated_at = now()"
                " WHERE video_id = %s",
                (video_id,),
            )
            cur.execute(
                "UPDATE failures SET resolved_at = now(), resolution = 'transcribed'"
                " WHERE video_id = %s AND resolved_at IS NULL",
                (video_id,),
            )
            return inserted

        return self._db.run(work)

    def release_for_retry(self, video_id: str, error_type: str, message: str, queued_lease_seconds: int) -> None:
        """After a failed attempt: back to queued (its message will come back), with the error kept.

        The lease covers the wait for redelivery so the fetcher does not queue the video again meanwhile.
        """
        self._db.run(
            lambda cur: cur.execute(
                """
                UPDATE video_jobs
                SET state = 'queued', last_error_type = %s, last_error = %s,
                    lease_expires_at = now() + make_interval(secs => %s), updated_at = now()
                WHERE video_id = %s AND state = 'processing'
                """,
                (error_type, message[:MAX_ERROR_CHARS], queued_lease_seconds, video_id),
            )
        )

    def record_failure(
        self,
        video_id: str | None,
        error_type: str,
        message: str,
        attempts: int | None,
        original_message: str | None,
    ) -> int:
        """Write the persistent failure record (idempotent per video) and mark the job failed.

        ``attempts=None`` takes the count from the job row. Returns the open record's id.
        """

        # PostgreSQL text cannot hold NUL; a lenient endpoint may deliver one in a body.
        message = message.replace("\x00", "\\u0000")[:MAX_ERROR_CHARS]
        if original_message is not None:
            original_message = original_message.replace("\x00", "\\u0000")

        def work(cur: cursor) -> int:
            count = attempts
            if video_id is not None:
                cur.execute(
                    """
                    UPDATE video_jobs SET state = 'failed', lease_expires_at = NULL, updated_at = now(),
                        last_error_type = %s, last_error = %s
                    WHERE video_id = %s AND state <> 'done'
                    RETURNING attempts
                    """,
                    (error_type, message, video_id),
                )
                row = cur.fetchone()
                if count is None:
                    count = row[0] if row else 0
                # A newer final failure replaces the open record; the old one stays as history.
                cur.execute(
                    """
                    UPDATE failures SET resolved_at = now(), resolution = 'superseded'
                    WHERE video_id = %s AND resolved_at IS NULL
                      AND (error_type, message, attempts, original_message)
                          IS DISTINCT FROM (%s, %s, %s, %s)
                    """,
                    (video_id, error_type, message, count or 0, original_message),
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
            if row:
                return int(row[0])
            cur.execute("SELECT id FROM failures WHERE video_id = %s AND resolved_at IS NULL", (video_id,))
            return int(fetch_one(cur)[0])

        return self._db.run(work)

    def in_flight(self, video_id: str) -> bool:
        """Whether a worker holds a live processing lease on the video right now."""

        def work(cur: cursor) -> bool:
            cur.execute(
                "SELECT 1 FROM video_jobs WHERE video_id = %s AND state = 'processing' AND lease_expires_at > now()",
                (video_id,),
            )
            return cur.fetchone() is not None

        return self._db.run(work)

    def job_error(self, video_id: str) -> JobError:
        def work(cur: cursor) -> JobError:
            cur.execute(
                "SELECT last_error_type, last_error, attempts FROM video_jobs WHERE video_id = %s", (video_id,)
            )
            row = cur.fetchone()
            return JobError(row[0], row[1], row[2]) if row else JobError(None, None, 0)

        return self._db.run(work)

    def has_transcript(self, video_id: str) -> bool:
        def work(cur: cursor) -> bool:
            cur.execute("SELECT 1 FROM transcripts WHERE video_id = %s", (video_id,))
            return cur.fetchone() is not None

        return self._db.run(work)

    # --- the operator ------------------------------------------------------------------------------
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
