"""PostgreSQL adapter for the Store port: videos, job state, transcripts and failure records.

Every statement is parameterised; the one identifier that comes from configuration (VIDEOS_TABLE) is
validated by Settings and quoted with psycopg2.sql. Each method is one short transaction on a pooled
connection. When the connection is lost (a server restart, a network blip) every idle connection is
dropped and the call is tried again on a fresh one, for a few seconds, so that a database that goes
away for a moment costs a short wait, not an attempt or a worker.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from importlib import resources
from typing import Any, TypeVar

import psycopg2
import psycopg2.extras
from psycopg2 import sql
from psycopg2.extensions import TRANSACTION_STATUS_IDLE

from .models import Claim, ClaimOutcome, FailureRecord, Transcript
from .ports import PendingVideo

T = TypeVar("T")

_CONNECTION_LOST = (psycopg2.OperationalError, psycopg2.InterfaceError)
# Waits before each new try after a lost connection: about 7.5 s in all, enough for a restart.
_RECONNECT_DELAYS = (0.0, 0.5, 1.0, 2.0, 4.0)


class ConnectionPool:
    """At most ``size`` connections, idle ones kept for reuse; a caller waits for a free one.

    psycopg2's own pools close every returned connection beyond ``minconn`` and raise instead of
    waiting when all are busy, which is neither what a long-lived worker nor a Lambda wants.
    """

    def __init__(self, dsn: str, size: int, connection_factory: Any = None) -> None:
        self._dsn = dsn
        self._factory = {"connection_factory": connection_factory} if connection_factory else {}
        self._idle: list[Any] = []
        self._lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(size)

    def get(self) -> Any:
        if not self._slots.acquire(timeout=60):
            raise psycopg2.OperationalError("no database connection became free within 60 s")
        with self._lock:
            conn = self._idle.pop() if self._idle else None
        if conn is not None:
            return conn
        try:
            return psycopg2.connect(self._dsn, connect_timeout=10, **self._factory)
        except BaseException:
            self._slots.release()
            raise

    def put(self, conn: Any, *, broken: bool) -> None:
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


@dataclass(frozen=True)
class StoredTranscript:
    video_id: str
    text: str
    segments: list[dict[str, Any]]
    language: str | None
    duration: float
    backend: str
    model: str
    created_at: datetime


class PostgresStore:
    def __init__(
        self, dsn: str, *, videos_table: str = "videos", max_connections: int = 8, connection_factory: Any = None
    ) -> None:
        """``connection_factory``: a psycopg2 connection class, for instrumentation (benchmarks)."""
        self._pool = ConnectionPool(dsn, max_connections, connection_factory)
        self._videos = sql.Identifier(*videos_table.split("."))

    def close(self) -> None:
        self._pool.clear()

    # --- plumbing --------------------------------------------------------------------------------
    @contextmanager
    def _cursor(self) -> Iterator[psycopg2.extensions.cursor]:
        conn = self._pool.get()
        broken = False
        try:
            with conn:  # commits on success, rolls back on error
                with conn.cursor() as cur:
                    yield cur
        except _CONNECTION_LOST:
            broken = True
            raise
        finally:
            self._pool.put(conn, broken=broken)

    def _run(self, work: Callable[[psycopg2.extensions.cursor], T]) -> T:
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

    # --- schema ------------------------------------------------------------------------------------
    def migrate(self) -> list[str]:
        """Apply the SQL files in vidscribe/migrations that have not run yet; return their names."""
        files = sorted(
            (f for f in resources.files("vidscribe.migrations").iterdir() if f.name.endswith(".sql")),
            key=lambda f: f.name,
        )

        def work(cur: Any) -> list[str]:
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

        return self._run(work)

    # --- videos ------------------------------------------------------------------------------------
    def add_videos(self, rows: Iterable[tuple[str, str]], *, update_urls: bool = False) -> int:
        """Insert (id, url) rows; an existing id keeps its row unless ``update_urls``.

        Returns how many rows were inserted (or, with ``update_urls``, inserted or changed).
        """
        rows = list(rows)
        if not rows:
            return 0
        conflict = (
            "DO UPDATE SET url = EXCLUDED.url WHERE v.url IS DISTINCT FROM EXCLUDED.url"
            if update_urls
            else "DO NOTHING"
        )
        query = sql.SQL("INSERT INTO {table} AS v (id, url) VALUES %s ON CONFLICT (id) " + conflict + " RETURNING id").format(
            table=self._videos
        )

        def work(cur: Any) -> int:
            inserted = psycopg2.extras.execute_values(cur, query, rows, page_size=1000, fetch=True)
            return len(inserted)

        return self._run(work)

    def video_url(self, video_id: str) -> str | None:
        query = sql.SQL("SELECT url FROM {} WHERE id::text = %s").format(self._videos)

        def work(cur: Any) -> str | None:
            cur.execute(query, (video_id,))
            row = cur.fetchone()
            if row is None:
                cur.execute("SELECT url FROM video_jobs WHERE video_id = %s", (video_id,))
                row = cur.fetchone()
            return row[0] if row else None

        return self._run(work)

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

        def work(cur: Any) -> list[PendingVideo]:
            cur.execute(query, {"limit": limit, "lease": queued_lease_seconds})
            return [PendingVideo(video_id=r[0], url=r[1]) for r in cur.fetchall()]

        return self._run(work)

    def release_reservation(self, video_ids: Sequence[str]) -> None:
        if not video_ids:
            return
        self._run(
            lambda cur: cur.execute(
                "UPDATE video_jobs SET lease_expires_at = now(), updated_at = now()"
                " WHERE video_id = ANY(%s) AND state = 'queued'",
                (list(video_ids),),
            )
        )

    def forget_queued(self) -> int:
        """The queue was replaced by an empty one (the embedded endpoint keeps nothing across runs):
        every queued or processing job becomes eligible for the fetcher again. Returns how many."""

        def work(cur: Any) -> int:
            cur.execute(
                "UPDATE video_jobs SET lease_expires_at = now(), updated_at = now()"
                " WHERE state IN ('queued', 'processing') AND lease_expires_at > now()"
            )
            return cur.rowcount

        return self._run(work)

    def mark_queued(self, video_id: str, url: str | None, queued_lease_seconds: int) -> None:
        """A video enqueued by hand (or by retry-failed): queued now, attempts counted afresh."""
        self._run(
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
    def claim(self, video_id: str, url: str | None, processing_lease_seconds: int, max_attempts: int = 2) -> Claim:
        """Take ownership of a video for one attempt, unless it is done, failed, owned by a live
        lease, or has used up its ``max_attempts`` (a duplicate delivery or a crash spent them)."""

        def work(cur: Any) -> Claim:
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
            state, attempts, lease_live = cur.fetchone()
            if state == "done":
                return Claim(ClaimOutcome.ALREADY_DONE, attempts=attempts)
            if state == "failed":
                return Claim(ClaimOutcome.FAILED, attempts=attempts)
            if state == "processing" and lease_live:
                return Claim(ClaimOutcome.IN_FLIGHT, attempts=attempts)
            return Claim(ClaimOutcome.EXHAUSTED, attempts=attempts)

        return self._run(work)

    def save_transcript(self, video_id: str, transcript: Transcript) -> bool:
        """Store the transcript and mark the job done; False if another worker stored one first."""

        def work(cur: Any) -> bool:
            cur.execute(
                """
                INSERT INTO transcripts (video_id, text, segments, language, duration_seconds, backend, model)
                VALUES (%s, %s, %s, %s, %s, %s, %s)
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

        return self._run(work)

    def release_for_retry(self, video_id: str, error_type: str, message: str, retry_after_seconds: int) -> None:
        """After a failed attempt: back to queued (its message will come back), with the error kept.

        The lease covers the wait for redelivery so the fetcher does not queue the video again meanwhile.
        """
        self._run(
            lambda cur: cur.execute(
                """
                UPDATE video_jobs
                SET state = 'queued', last_error_type = %s, last_error = %s,
                    lease_expires_at = now() + make_interval(secs => %s), updated_at = now()
                WHERE video_id = %s AND state = 'processing'
                """,
                (error_type, message[:4000], retry_after_seconds, video_id),
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
        message = message.replace("\x00", "\\u0000")
        if original_message is not None:
            original_message = original_message.replace("\x00", "\\u0000")

        def work(cur: Any) -> int:
            count = attempts
            if video_id is not None:
                cur.execute(
                    """
                    UPDATE video_jobs SET state = 'failed', lease_expires_at = NULL, updated_at = now(),
                        last_error_type = %s, last_error = %s
                    WHERE video_id = %s AND state <> 'done'
                    RETURNING attempts
                    """,
                    (error_type, message[:4000], video_id),
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
                    (video_id, error_type, message[:4000], count or 0, original_message),
                )
            cur.execute(
                """
                INSERT INTO failures (video_id, error_type, message, attempts, original_message)
                VALUES (%s, %s, %s, %s, %s)
                ON CONFLICT (video_id) WHERE resolved_at IS NULL AND video_id IS NOT NULL DO NOTHING
                RETURNING id
                """,
                (video_id, error_type, message[:4000], count or 0, original_message),
            )
            row = cur.fetchone()
            if row:
                return row[0]
            cur.execute("SELECT id FROM failures WHERE video_id = %s AND resolved_at IS NULL", (video_id,))
            return cur.fetchone()[0]

        return self._run(work)

    def in_flight(self, video_id: str) -> bool:
        """Whether a worker holds a live processing lease on the video right now."""

        def work(cur: Any) -> bool:
            cur.execute(
                "SELECT 1 FROM video_jobs WHERE video_id = %s AND state = 'processing' AND lease_expires_at > now()",
                (video_id,),
            )
            return cur.fetchone() is not None

        return self._run(work)

    def job_error(self, video_id: str) -> tuple[str | None, str | None, int]:
        def work(cur: Any) -> tuple[str | None, str | None, int]:
            cur.execute(
                "SELECT last_error_type, last_error, attempts FROM video_jobs WHERE video_id = %s", (video_id,)
            )
            row = cur.fetchone()
            return (row[0], row[1], row[2]) if row else (None, None, 0)

        return self._run(work)

    def has_transcript(self, video_id: str) -> bool:
        def work(cur: Any) -> bool:
            cur.execute("SELECT 1 FROM transcripts WHERE video_id = %s", (video_id,))
            return cur.fetchone() is not None

        return self._run(work)

    # --- reading, for the CLI ----------------------------------------------------------------------
    def transcript(self, video_id: str) -> StoredTranscript | None:
        def work(cur: Any) -> StoredTranscript | None:
            cur.execute(
                "SELECT video_id, text, segments, language, duration_seconds, backend, model, created_at"
                " FROM transcripts WHERE video_id = %s",
                (video_id,),
            )
            row = cur.fetchone()
            return StoredTranscript(*row) if row else None

        return self._run(work)

    def transcripts(self, video_ids: Sequence[str] | None = None) -> list[StoredTranscript]:
        def work(cur: Any) -> list[StoredTranscript]:
            cols = "video_id, text, segments, language, duration_seconds, backend, model, created_at"
            if video_ids is None:
                cur.execute(f"SELECT {cols} FROM transcripts ORDER BY video_id")
            else:
                cur.execute(
                    f"SELECT {cols} FROM transcripts WHERE video_id = ANY(%s) ORDER BY video_id", (list(video_ids),)
                )
            return [StoredTranscript(*row) for row in cur.fetchall()]

        return self._run(work)

    def now(self) -> datetime:
        """The database's clock, so that run reports never compare two machines' clocks."""

        def work(cur: Any) -> datetime:
            cur.execute("SELECT now()")
            return cur.fetchone()[0]

        return self._run(work)

    def run_report(self, since: datetime) -> dict[str, Any]:
        """What happened since ``since``: transcripts written (and their audio), failures recorded."""

        def work(cur: Any) -> dict[str, Any]:
            cur.execute(
                "SELECT count(*), coalesce(sum(duration_seconds), 0) FROM transcripts WHERE created_at >= %s",
                (since,),
            )
            transcribed, audio = cur.fetchone()
            cur.execute(
                "SELECT error_type, count(*) FROM failures WHERE failed_at >= %s GROUP BY error_type ORDER BY 1",
                (since,),
            )
            failed = dict(cur.fetchall())
            return {"transcribed": transcribed, "audio_seconds": float(audio), "failed": failed}

        return self._run(work)

    def failures(self, include_resolved: bool = False) -> list[FailureRecord]:
        def work(cur: Any) -> list[FailureRecord]:
            cur.execute(
                "SELECT id, video_id, error_type, message, attempts, failed_at, original_message, resolved_at"
                " FROM failures WHERE %s OR resolved_at IS NULL ORDER BY id",
                (include_resolved,),
            )
            return [FailureRecord(*row) for row in cur.fetchall()]

        return self._run(work)

    def failed_video_ids(self, error_type: str | None = None) -> list[tuple[str, str | None]]:
        """(video id, url) of the videos with an open failure record, optionally of one error type."""

        def work(cur: Any) -> list[tuple[str, str | None]]:
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

        return self._run(work)

    def status(self) -> dict[str, Any]:
        """Counts by state, the oldest in-flight job, and open failures by type."""
        videos_query = sql.SQL(
            """
            SELECT count(*),
                   count(*) FILTER (WHERE NOT EXISTS (SELECT 1 FROM transcripts t WHERE t.video_id = v.id::text))
            FROM {} v
            """
        ).format(self._videos)

        def work(cur: Any) -> dict[str, Any]:
            cur.execute(videos_query)
            total, untranscribed = cur.fetchone()
            cur.execute("SELECT count(*) FROM transcripts")
            (transcripts,) = cur.fetchone()
            cur.execute(
                "SELECT state, count(*), count(*) FILTER (WHERE lease_expires_at <= now())"
                " FROM video_jobs GROUP BY state"
            )
            jobs = {state: {"count": n, "lease_expired": expired} for state, n, expired in cur.fetchall()}
            cur.execute(
                """
                SELECT video_id, state, attempts, updated_at, lease_expires_at FROM video_jobs
                WHERE state IN ('queued', 'processing') ORDER BY updated_at LIMIT 1
                """
            )
            row = cur.fetchone()
            oldest = (
                {
                    "video_id": row[0],
                    "state": row[1],
                    "attempts": row[2],
                    "since": row[3].isoformat(),
                    "lease_expires_at": row[4].isoformat() if row[4] else None,
                }
                if row
                else None
            )
            cur.execute(
                "SELECT error_type, count(*) FROM failures WHERE resolved_at IS NULL GROUP BY error_type ORDER BY 1"
            )
            failures = dict(cur.fetchall())
            return {
                "videos": total,
                "untranscribed": untranscribed,
                "transcripts": transcripts,
                "jobs": {s: jobs.get(s, {"count": 0, "lease_expired": 0}) for s in ("queued", "processing", "done", "failed")},
                "oldest_in_flight": oldest,
                "open_failures": failures,
            }

        return self._run(work)
