"""PostgreSQL adapter for the Store port: videos and their job state, transcripts (failure records:
``failure_records.py``, inherited).

This is where a transcript is written (``save_transcript``) and where a job's state, lease and claim
change.
Every statement is parameterised; the one identifier that comes from configuration (VIDEOS_TABLE) is
validated by Settings and quoted with psycopg2.sql. Each method is one short transaction
(``Database.run``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

import psycopg2.extras
from psycopg2 import sql
from psycopg2.extensions import cursor, quote_ident

from ...contract import MAX_ATTEMPTS
from ...errors import ConfigurationError
from ...jobs.states import FINISHED, IN_FLIGHT, NOT_REQUEUEABLE, JobState
from ...models import MAX_VIDEO_ID_LENGTH, Claim, ClaimOutcome, HeldClaim, PendingVideo, Transcript
from ...redaction import scrub
from . import job_sql, versions
from .database import Database, fetch_one
from .failure_records import MAX_ERROR_CHARS, FailureRecords
from .parts import PartRows
from .transcript_rows import write_transcript

# The stand-in id of a videos-table row whose id is too long to be a key: its first characters, to
# recognise it by, and the MD5 of the whole id, to tell such rows apart (98 characters in all).
STAND_IN_ID = "left({id}, 64) || '…#' || md5({id})"


def _stand_in(id_expression: str) -> sql.Composable:
    return sql.SQL(STAND_IN_ID.format(id=id_expression))


def videos_identifier(videos_table: str) -> sql.Identifier:
    """The VIDEOS_TABLE name (``table`` or ``schema.table``), quoted as an identifier."""
    return sql.Identifier(*videos_table.split("."))

_QUEUE = sql.Placeholder("queue")


def _untranscribed(videos: sql.Composable) -> sql.Composable:
    """Videos with no transcript and no finished or live job, walked in id order (see
    ``PostgresStore.reserve_pending``)."""
    return sql.SQL(
        """
        (SELECT video_id, url, 0 AS source FROM (
             SELECT v.id AS sort_key, v.id::text AS video_id, v.url
             FROM {videos} v
             WHERE NOT EXISTS (SELECT 1 FROM transcripts t WHERE t.video_id = v.id::text)
               AND NOT EXISTS (SELECT 1 FROM video_jobs j WHERE j.video_id = v.id::text AND {finished})
               AND NOT EXISTS (SELECT 1 FROM video_jobs j WHERE j.video_id = v.id::text AND {live_here})
             ORDER BY v.id
             OFFSET 0) untranscribed
         WHERE char_length(video_id) <= %(max_id)s
            OR NOT EXISTS (SELECT 1 FROM video_jobs j WHERE j.video_id = {stand_in_v})
         ORDER BY sort_key
         LIMIT %(limit)s)
        """
    ).format(
        videos=videos,
        finished=job_sql.in_states(FINISHED, "j"),
        live_here=job_sql.live_here("j", _QUEUE),
        stand_in_v=_stand_in("untranscribed.video_id"),
    )


def _stale_jobs() -> sql.Composable:
    """Jobs in flight that the fetcher may take again (``job_sql.stale_or_elsewhere``), oldest lease first."""
    return sql.SQL(
        """
        (SELECT j.video_id, j.url, 1 AS source
         FROM video_jobs j
         WHERE {in_flight} AND {stale}
           AND j.url IS NOT NULL
           AND (j.retranscribe OR NOT EXISTS (SELECT 1 FROM transcripts t WHERE t.video_id = j.video_id))
         ORDER BY j.lease_expires_at
         LIMIT %(limit)s)
        """
    ).format(in_flight=job_sql.in_states(IN_FLIGHT, "j"), stale=job_sql.stale_or_elsewhere("j", _QUEUE))


def _reserve_query(videos: sql.Composable) -> sql.Composable:
    """The candidates, reserved as queued on %(queue)s unless another fetcher took them first; the
    rows whose id is too long come back under their stand-in id, unreserved."""
    return sql.SQL(
        """
        WITH candidates AS (
            SELECT DISTINCT ON (video_id) video_id, url FROM ({untranscribed} UNION ALL {stale_jobs}) c
            ORDER BY video_id, source
        ),
        reserved AS (
            INSERT INTO video_jobs AS j (video_id, url, state, lease_expires_at, queue_url)
            SELECT video_id, url, {queued}, now() + make_interval(secs => %(lease)s), %(queue)s
            FROM candidates WHERE char_length(video_id) <= %(max_id)s ORDER BY video_id LIMIT %(limit)s
            ON CONFLICT (video_id) DO UPDATE
                SET state = {queued}, url = EXCLUDED.url, queue_url = EXCLUDED.queue_url,
                    lease_expires_at = EXCLUDED.lease_expires_at, claimed_by = NULL, updated_at = now()
                WHERE {in_flight} AND {stale}
            RETURNING j.video_id, j.url
        )
        SELECT video_id, url, NULL FROM reserved
        UNION ALL
        SELECT video_id, url, {stand_in_c} FROM candidates WHERE char_length(video_id) > %(max_id)s
        """
    ).format(
        untranscribed=_untranscribed(videos),
        stale_jobs=_stale_jobs(),
        queued=job_sql.state(JobState.QUEUED),
        in_flight=job_sql.in_states(IN_FLIGHT, "j"),
        stale=job_sql.stale_or_elsewhere("j", _QUEUE),
        stand_in_c=_stand_in("video_id"),
    )


# A claim: a new job row processing, or a claimable one taken over, while attempts remain.
_CLAIM = sql.SQL(
    """
    INSERT INTO video_jobs AS j
        (video_id, url, state, attempts, lease_expires_at, queue_url, claim_token, claimed_by)
    VALUES (%(id)s, %(url)s, {processing}, 1, now() + make_interval(secs => %(lease)s), %(queue)s,
            nextval('video_jobs_claim_token_seq'), %(owner)s)
    ON CONFLICT (video_id) DO UPDATE
        SET state = {processing}, attempts = j.attempts + 1,
            url = COALESCE(EXCLUDED.url, j.url), queue_url = COALESCE(EXCLUDED.queue_url, j.queue_url),
            claim_token = EXCLUDED.claim_token, claimed_by = EXCLUDED.claimed_by,
            lease_expires_at = EXCLUDED.lease_expires_at, updated_at = now()
        WHERE {claimable} AND j.attempts < %(max)s
    RETURNING attempts, claim_token
    """
).format(processing=job_sql.state(JobState.PROCESSING), claimable=job_sql.claimable("j"))

# A transcript that is final: none, while a re-transcription of it is requested (migration 010).
_SETTLED_TRANSCRIPT = sql.SQL("SELECT 1 FROM transcripts t WHERE t.video_id = %s AND NOT {}").format(
    versions.pending(sql.Identifier("t", "video_id"))
)

# Why a job that exists was not claimed, by its state.
_UNCLAIMED = {JobState.DONE: ClaimOutcome.ALREADY_DONE, JobState.FAILED: ClaimOutcome.FAILED}


def _why_not_claimed(cur: cursor, video_id: str) -> Claim:
    cur.execute(
        sql.SQL("SELECT state, attempts, {} FROM video_jobs WHERE video_id = %s").format(job_sql.held_live()),
        (video_id,),
    )
    state, attempts, held_live = fetch_one(cur)
    if state in _UNCLAIMED:
        return Claim(_UNCLAIMED[JobState(state)], attempts=attempts)
    if held_live:
        return Claim(ClaimOutcome.IN_FLIGHT, attempts=attempts)
    return Claim(ClaimOutcome.EXHAUSTED, attempts=attempts)


class PostgresStore(FailureRecords, PartRows):
    def __init__(self, database: Database, *, videos_table: str = "videos") -> None:
        self._db = database
        self._videos_table = videos_table
        self._videos = videos_identifier(videos_table)

    def check_videos_table(self) -> None:
        """ConfigurationError naming VIDEOS_TABLE unless it is a table or view with id and url."""

        def work(cur: cursor) -> tuple[bool, set[str]]:
            name = ".".join(quote_ident(part, cur) for part in self._videos_table.split("."))
            cur.execute(
                "SELECT to_regclass(%s) IS NOT NULL,"
                " ARRAY(SELECT attname::text FROM pg_attribute"
                "       WHERE attrelid = to_regclass(%s) AND attnum > 0 AND NOT attisdropped)",
                (name, name),
            )
            exists, columns = fetch_one(cur)
            return bool(exists), set(columns or [])

        exists, columns = self._db.run(work)
        if not exists:
            raise ConfigurationError(
                f"VIDEOS_TABLE: there is no table or view {self._videos_table!r} in this database: create it, "
                "or set VIDEOS_TABLE to a table or view with id and url columns"
            )
        missing = [c for c in ("id", "url") if c not in columns]
        if missing:
            raise ConfigurationError(
                f"VIDEOS_TABLE: {self._videos_table!r} has no {' and no '.join(missing)} column: vidscribe needs "
                "id and url (point VIDEOS_TABLE at a view that gives your columns those names)"
            )

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

    def has_video(self, video_id: str) -> bool:
        """Whether the videos table has a row with this id (whatever its url: it may be NULL)."""
        query = sql.SQL("SELECT 1 FROM {} WHERE id::text = %s").format(self._videos)

        def work(cur: cursor) -> bool:
            cur.execute(query, (video_id,))
            return cur.fetchone() is not None

        return self._db.run(work)

    # --- the fetcher's side ------------------------------------------------------------------------
    def reserve_pending(self, limit: int, queued_lease_seconds: int, *, queue_url: str) -> list[PendingVideo]:
        """Mark up to ``limit`` videos that need a transcript as queued on ``queue_url`` and return them.

        Eligible: videos with no transcript and no live job, plus jobs whose queued/processing lease
        has expired (a lost message, a crashed worker, a video queued by hand that is not in the
        videos table), plus jobs queued on another queue than ``queue_url`` or on none (an earlier
        run's embedded queue, another QUEUE_URL, a video waiting for the next fetcher): this
        fetcher's queue does not hold their message. A processing job with a live lease stays with
        its worker whatever queue it came from. Two fetchers running at once cannot both reserve a
        video: the second one's upsert waits on the first's row lock and then finds a live lease on
        its own queue.

        "No finished or live job" is asked as two NOT EXISTS, one per job state group (a video has
        at most one job row, so this is the same condition): each is answered by a partial index
        (migrations 002 and 003) without visiting job rows, which keeps the plan index-driven with a
        million videos (bench/bench_fetcher_scale.py).

        A row with no id is never reserved (there is nothing to name it by). A row whose id is
        longer than MAX_VIDEO_ID_LENGTH is not reserved either: its id may not even fit an index
        entry (a 3 KB id made the whole insert fail), so it comes back with a stand-in id
        (``STAND_IN_ID``), and once a job exists under that stand-in it is passed over. That
        condition is checked above the id-ordered walk (``OFFSET 0`` keeps the planner from
        pushing it down), so it costs nothing for the rows the walk passes over: a filter on
        every videos row cost ~60 ms per million rows walked.
        """
        query = _reserve_query(self._videos)

        def work(cur: cursor) -> list[PendingVideo]:
            cur.execute(
                query,
                {"limit": limit, "lease": queued_lease_seconds, "queue": queue_url, "max_id": MAX_VIDEO_ID_LENGTH},
            )
            return [PendingVideo(video_id=r[0], url=r[1], stand_in_id=r[2]) for r in cur.fetchall()]

        return self._db.run(work)

    def release_reservation(self, video_ids: Sequence[str]) -> None:
        """Reserved videos that never reached the queue: on no queue, eligible for the next fetch."""
        if not video_ids:
            return
        self._db.run(
            lambda cur: cur.execute(
                sql.SQL(
                    "UPDATE video_jobs SET lease_expires_at = now(), queue_url = NULL, updated_at = now()"
                    " WHERE video_id = ANY(%s) AND {}"
                ).format(job_sql.is_state(JobState.QUEUED)),
                (list(video_ids),),
            )
        )

    def mark_queued(self, video_id: str, url: str | None, queued_lease_seconds: int, queue_url: str | None) -> None:
        """A video enqueued by hand (or by retry-failed): queued now on ``queue_url`` (None: on no
        queue, for the next fetcher), attempts counted afresh."""
        self._db.run(
            lambda cur: cur.execute(
                sql.SQL(
                    """
                INSERT INTO video_jobs AS j (video_id, url, state, lease_expires_at, queue_url)
                VALUES (%s, %s, {queued}, now() + make_interval(secs => %s), %s)
                ON CONFLICT (video_id) DO UPDATE
                    SET state = {queued}, url = COALESCE(EXCLUDED.url, j.url), attempts = 0,
                        lease_expires_at = EXCLUDED.lease_expires_at, queue_url = EXCLUDED.queue_url,
                        claimed_by = NULL, claim_token = NULL, updated_at = now()
                    WHERE NOT {final}
                """
                ).format(queued=job_sql.state(JobState.QUEUED), final=job_sql.in_states(NOT_REQUEUEABLE, "j")),
                (video_id, url, queued_lease_seconds, queue_url),
            )
        )

    # --- the transcriber's side --------------------------------------------------------------------
    def claim(
        self,
        video_id: str,
        url: str | None,
        processing_lease_seconds: int,
        max_attempts: int = MAX_ATTEMPTS,
        *,
        queue_url: str | None = None,
        claimed_by: str | None = None,
    ) -> Claim:
        """Take ownership of a video for one attempt, unless it is done, failed, owned by a live
        lease, or has used up its ``max_attempts`` (a duplicate delivery or a crash spent them).

        Each claim gets a new token; ``queue_url`` (where the message came from) and ``claimed_by``
        (the process) are recorded with it."""

        params = {
            "id": video_id,
            "url": url,
            "lease": processing_lease_seconds,
            "max": max_attempts,
            "queue": queue_url,
            "owner": claimed_by,
        }

        def work(cur: cursor) -> Claim:
            cur.execute(_SETTLED_TRANSCRIPT, (video_id,))
            if cur.fetchone():
                return Claim(ClaimOutcome.ALREADY_DONE)
            cur.execute(_CLAIM, params)
            row = cur.fetchone()
            if row:
                return Claim(ClaimOutcome.CLAIMED, attempts=row[0], token=row[1])
            return _why_not_claimed(cur, video_id)

        return self._db.run(work)

    def save_transcript(self, video_id: str, transcript: Transcript) -> bool:
        """Store the transcript and mark the job done; False if another worker stored one first.

        Not fenced by a claim: a transcript that arrives after its claim was released is still the
        video's transcript, and the redelivered message then finds the video done."""

        return self._db.run(lambda cur: write_transcript(cur, video_id, transcript))

    def release_for_retry(
        self, video_id: str, error_type: str, message: str, queued_lease_seconds: int, *, claim_token: int | None = None
    ) -> bool:
        """After a failed attempt: back to queued (its message will come back), with the error kept.

        The lease covers the wait for redelivery so the fetcher does not queue the video again
        meanwhile. With ``claim_token``, only while the job is still under that claim; returns
        whether the job was changed.
        """

        def work(cur: cursor) -> bool:
            cur.execute(
                sql.SQL(
                    """
                UPDATE video_jobs
                SET state = {queued}, last_error_type = %s, last_error = %s, claimed_by = NULL,
                    lease_expires_at = now() + make_interval(secs => %s), updated_at = now()
                WHERE video_id = %s AND {held} AND (%s::bigint IS NULL OR claim_token = %s)
                """
                ).format(queued=job_sql.state(JobState.QUEUED), held=job_sql.is_state(JobState.PROCESSING)),
                (error_type, scrub(message)[:MAX_ERROR_CHARS], queued_lease_seconds, video_id, claim_token,
                 claim_token),
            )
            return bool(cur.rowcount)

        return self._db.run(work)

    def release_claim(
        self, video_id: str, claimed_by: str, queued_lease_seconds: int, *, refund_attempt: bool
    ) -> bool:
        """Give back a claim that will not finish (a shutdown, or a process that died): the job is
        queued again with no claim, so the next delivery may take it at once. ``refund_attempt``:
        the attempt did not fail, it was stopped, and does not count against the video's budget."""

        def work(cur: cursor) -> bool:
            cur.execute(
                sql.SQL(
                    """
                UPDATE video_jobs
                SET state = {queued}, claimed_by = NULL, claim_token = NULL,
                    attempts = CASE WHEN %s THEN greatest(attempts - 1, 0) ELSE attempts END,
                    lease_expires_at = now() + make_interval(secs => %s), updated_at = now()
                WHERE video_id = %s AND {held} AND claimed_by = %s
                """
                ).format(queued=job_sql.state(JobState.QUEUED), held=job_sql.is_state(JobState.PROCESSING)),
                (refund_attempt, queued_lease_seconds, video_id, claimed_by),
            )
            return bool(cur.rowcount)

        return self._db.run(work)

    def held_claims(self, claimed_by_prefix: str) -> list[HeldClaim]:
        """The live processing claims of processes whose ``claimed_by`` starts with the prefix."""
        pattern = claimed_by_prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"

        def work(cur: cursor) -> list[HeldClaim]:
            cur.execute(
                sql.SQL(
                    "SELECT video_id, claimed_by FROM video_jobs WHERE {}"
                    " AND claimed_by IS NOT NULL AND claimed_by LIKE %s ORDER BY video_id"
                ).format(job_sql.held_live()),
                (pattern,),
            )
            return [HeldClaim(r[0], r[1]) for r in cur.fetchall()]

        return self._db.run(work)

    def in_flight(self, video_id: str) -> bool:
        """Whether a worker holds a live processing lease on the video right now."""

        def work(cur: cursor) -> bool:
            cur.execute(
                sql.SQL("SELECT 1 FROM video_jobs WHERE video_id = %s AND {}").format(job_sql.held_live()),
                (video_id,),
            )
            return cur.fetchone() is not None

        return self._db.run(work)

    def request_retranscription(
        self,
        video_ids: Sequence[str] | None,
        queued_lease_seconds: int,
        *,
        model: str | None = None,
        before: datetime | None = None,
    ) -> list[str]:
        """Queue transcribed videos again, for the next fetcher, as re-transcriptions (see
        ``versions``): those named (None: every one) whose transcript was made by ``model`` /
        before ``before``; returns their ids. A video a worker holds is left alone."""
        return self._db.run(
            lambda cur: versions.request(cur, video_ids, queued_lease_seconds, model=model, before=before)
        )

    def has_transcript(self, video_id: str) -> bool:
        """Whether the video has a transcript that no requested re-transcription is to replace."""

        def work(cur: cursor) -> bool:
            cur.execute(_SETTLED_TRANSCRIPT, (video_id,))
            return cur.fetchone() is not None

        return self._db.run(work)

