"""The parts of videos planned in parts (the PartStore port, inherited by ``PostgresStore``).

Exactly once: every part's completion locks its plan's row (``SELECT ... FOR UPDATE``) before it
counts the parts still missing, so of two parts finishing together the second sees the first's
result, and only the part that completes the set writes the transcript, in the transaction that
stores its own result; the plan and its parts are deleted in that transaction too. A duplicate
delivery of a finished part, or a retry after the transcript exists, finds no plan and changes
nothing.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

from psycopg2 import sql
from psycopg2.extensions import cursor

from ...contract import MAX_ATTEMPTS
from ...jobs.states import JobState
from ...models import ClaimOutcome, PartClaim, PartRange, Span, Transcript
from ...redaction import scrub
from . import job_sql
from .database import Database
from .failure_records import MAX_ERROR_CHARS
from .transcript_rows import write_transcript

# A part's row has a job's states (jobs/states.py: PART_TRANSITIONS), rendered by job_sql like a job's.
_QUEUED, _PROCESSING = job_sql.state(JobState.QUEUED), job_sql.state(JobState.PROCESSING)
_DONE, _FAILED = job_sql.state(JobState.DONE), job_sql.state(JobState.FAILED)

_INSERT_PART = sql.SQL(
    "INSERT INTO video_parts (video_id, part_index, start_seconds, end_seconds, cut_seconds, state)"
    " VALUES (%s, %s, %s, %s, %s, {})"
).format(_QUEUED)
# Planned before: whatever is neither done nor held live goes again, a failed part with fresh attempts.
_REQUEUE_MISSING = sql.SQL(
    """
    UPDATE video_parts p
    SET state = {queued}, attempts = CASE WHEN {failed} THEN 0 ELSE p.attempts END,
        claim_token = NULL, lease_expires_at = now() + make_interval(secs => %s), updated_at = now()
    WHERE p.video_id = %s AND NOT {done} AND NOT ({held_live})
    RETURNING part_index
    """
).format(
    queued=_QUEUED,
    failed=job_sql.is_state(JobState.FAILED, "p"),
    done=job_sql.is_state(JobState.DONE, "p"),
    held_live=job_sql.held_live("p"),
)
# The job waits for its parts: held (the fetcher leaves it alone) under a lease, its planning attempt
# refunded, so that a delivery after the lease can claim it again and send what is missing.
_HOLD_JOB = sql.SQL(
    "UPDATE video_jobs SET state = {}, attempts = greatest(attempts - 1, 0), claimed_by = NULL,"
    " lease_expires_at = now() + make_interval(secs => %s), updated_at = now() WHERE video_id = %s"
).format(_PROCESSING)
_CLAIM_PART = sql.SQL(
    """
    UPDATE video_parts p
    SET state = {processing}, attempts = p.attempts + 1, claim_token = nextval('video_jobs_claim_token_seq'),
        lease_expires_at = now() + make_interval(secs => %(lease)s), updated_at = now()
    FROM video_part_plans plan
    WHERE p.video_id = %(id)s AND p.part_index = %(i)s AND plan.video_id = p.video_id
      AND {claimable} AND p.attempts < %(max)s
    RETURNING p.attempts, p.claim_token, p.start_seconds, p.end_seconds, plan.part_count
    """
).format(processing=_PROCESSING, claimable=job_sql.claimable("p"))
# The video's job stays live while any of its parts is worked on.
_RENEW_JOB = sql.SQL(
    "UPDATE video_jobs SET lease_expires_at = greatest(lease_expires_at, now() + make_interval(secs => %s)),"
    " updated_at = now() WHERE video_id = %s AND {}"
).format(job_sql.is_state(JobState.PROCESSING))
_STORE_RESULT = sql.SQL(
    "UPDATE video_parts SET state = {}, result = %s, lease_expires_at = NULL, updated_at = now()"
    " WHERE video_id = %s AND part_index = %s"
).format(_DONE)
_RELEASE_PART = sql.SQL(
    "UPDATE video_parts SET state = {}, last_error_type = %s, last_error = %s, updated_at = now()"
    " WHERE video_id = %s AND part_index = %s AND {} AND (%s::bigint IS NULL OR claim_token = %s)"
).format(_QUEUED, job_sql.is_state(JobState.PROCESSING))
_FAIL_PART = sql.SQL(
    "UPDATE video_parts SET state = {}, last_error_type = %s, last_error = %s, lease_expires_at = NULL,"
    " updated_at = now() WHERE video_id = %s AND part_index = %s AND NOT {}"
).format(_FAILED, job_sql.is_state(JobState.DONE))


def _result_json(t: Transcript) -> str:
    return json.dumps(
        {
            "text": t.text,
            "segments": [s.to_dict() for s in t.segments],
            "language": t.language,
            "duration": t.duration,
            "backend": t.backend,
            "model": t.model,
            "speech_seconds": t.speech_seconds,
            "no_speech": t.no_speech,
            "model_audio_seconds": t.model_audio_seconds,
            "cost_usd": t.cost_usd,
            "language_probability": t.language_probability,
        }
    )


class PartRows:
    _db: Database

    def plan_parts(self, video_id: str, duration: float, ranges: Sequence[Span], *, lease_seconds: int) -> list[int]:
        def work(cur: cursor) -> list[int]:
            cur.execute(
                "INSERT INTO video_part_plans (video_id, duration_seconds, part_count) VALUES (%s, %s, %s)"
                " ON CONFLICT (video_id) DO NOTHING RETURNING video_id",
                (video_id, duration, len(ranges)),
            )
            if cur.fetchone() is not None:
                cur.executemany(
                    _INSERT_PART,
                    [(video_id, i, r.start, r.end, 0.0 if i == 0 else None) for i, r in enumerate(ranges)],
                )
                wanted = list(range(len(ranges)))
            else:  # planned before: whatever is neither done nor live goes again, a failed part afresh
                cur.execute(_REQUEUE_MISSING, (lease_seconds, video_id))
                wanted = sorted(r[0] for r in cur.fetchall())
            # The job waits for its parts: live (the fetcher leaves it alone), its planning attempt
            # refunded, so that a re-delivery after the lease can claim it to send what is missing.
            cur.execute(_HOLD_JOB, (lease_seconds, video_id))
            return wanted

        return self._db.run(work)

    def claim_part(self, video_id: str, index: int, lease_seconds: int, max_attempts: int = MAX_ATTEMPTS) -> PartClaim:
        def work(cur: cursor) -> PartClaim:
            cur.execute(_CLAIM_PART, {"id": video_id, "i": index, "lease": lease_seconds, "max": max_attempts})
            row = cur.fetchone()
            if row is not None:
                # The video's job stays live while any of its parts is worked on.
                cur.execute(_RENEW_JOB, (lease_seconds, video_id))
                return PartClaim(ClaimOutcome.CLAIMED, PartRange(index, row[4], row[2], row[3]), row[0], row[1])
            return _why_not(cur, video_id, index)

        return self._db.run(work)

    def agree_cut(self, video_id: str, index: int, proposed: float) -> float:
        def work(cur: cursor) -> float:
            cur.execute(
                "UPDATE video_parts SET cut_seconds = COALESCE(cut_seconds, %s), updated_at = now()"
                " WHERE video_id = %s AND part_index = %s RETURNING cut_seconds",
                (proposed, video_id, index),
            )
            row = cur.fetchone()
            return proposed if row is None else float(row[0])

        return self._db.run(work)

    def save_part(
        self, video_id: str, index: int, result: Transcript, assemble: Callable[[list[Transcript]], Transcript]
    ) -> Transcript | None:
        def work(cur: cursor) -> Transcript | None:
            cur.execute("SELECT part_count FROM video_part_plans WHERE video_id = %s FOR UPDATE", (video_id,))
            if cur.fetchone() is None:
                return None  # assembled already (this was a duplicate, or a retry that came too late)
            cur.execute(_STORE_RESULT, (_result_json(result), video_id, index))
            cur.execute("SELECT state, result FROM video_parts WHERE video_id = %s ORDER BY part_index", (video_id,))
            rows: list[tuple[str, Any]] = cur.fetchall()
            if any(state != JobState.DONE for state, _ in rows):
                return None
            transcript = assemble([Transcript.from_dict(r) for _, r in rows])
            stored = write_transcript(cur, video_id, transcript)
            cur.execute("DELETE FROM video_part_plans WHERE video_id = %s", (video_id,))
            return transcript if stored else None

        return self._db.run(work)

    def release_part(
        self, video_id: str, index: int, error_type: str, message: str, *, claim_token: int | None
    ) -> bool:
        def work(cur: cursor) -> bool:
            cur.execute(
                _RELEASE_PART,
                (error_type, scrub(message)[:MAX_ERROR_CHARS], video_id, index, claim_token, claim_token),
            )
            return bool(cur.rowcount)

        return self._db.run(work)

    def fail_part(self, video_id: str, index: int, error_type: str, message: str) -> None:
        self._db.run(
            lambda cur: cur.execute(_FAIL_PART, (error_type, scrub(message)[:MAX_ERROR_CHARS], video_id, index))
        )


def _why_not(cur: cursor, video_id: str, index: int) -> PartClaim:
    cur.execute(
        "SELECT state, attempts, lease_expires_at > now() FROM video_parts WHERE video_id = %s AND part_index = %s",
        (video_id, index),
    )
    row = cur.fetchone()
    if row is None:  # no plan: the transcript was assembled (or the video was never planned so)
        return PartClaim(ClaimOutcome.ALREADY_DONE)
    state, attempts, live = row
    if state == JobState.DONE:
        return PartClaim(ClaimOutcome.ALREADY_DONE, attempts=attempts)
    if state == JobState.FAILED:
        return PartClaim(ClaimOutcome.FAILED, attempts=attempts)
    if state == JobState.PROCESSING and live:
        return PartClaim(ClaimOutcome.IN_FLIGHT, attempts=attempts)
    return PartClaim(ClaimOutcome.EXHAUSTED, attempts=attempts)
