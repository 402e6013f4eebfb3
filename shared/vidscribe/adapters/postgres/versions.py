"""Re-transcription with history: the SQL that requests one and keeps each replaced transcript.

A re-transcription is a job flagged ``retranscribe`` on a video that has a transcript (migration
010): the job goes through the ordinary states (``jobs/states.py``: done or failed -> queued ->
processing -> done or failed), while the current transcript stays readable. When the new one is
stored the current one moves to ``transcript_versions`` under its number and the new one takes the
next; a failed re-transcription writes its failure record and leaves the transcript untouched.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from psycopg2 import sql
from psycopg2.extensions import cursor

from ...jobs.states import JobState
from . import job_sql

#: The columns a version keeps (those of ``transcripts`` but ``version``).
_COLUMNS = sql.SQL(", ").join(
    sql.Identifier(name)
    for name in (
        "video_id", "text", "segments", "language", "duration_seconds", "backend", "model", "created_at",
        "speech_seconds", "no_speech", "model_audio_seconds", "cost_usd", "language_probability",
    )
)  # fmt: skip


def pending(video_id_column: sql.Composable) -> sql.Composable:
    """Whether a re-transcription is requested for the video in ``video_id_column``."""
    return sql.SQL("EXISTS (SELECT 1 FROM video_jobs r WHERE r.video_id = {} AND r.retranscribe)").format(
        video_id_column
    )


def request(
    cur: cursor,
    video_ids: Sequence[str] | None,
    queued_lease_seconds: int,
    *,
    model: str | None = None,
    before: datetime | None = None,
) -> list[str]:
    """Flag the jobs of the transcribed videos named (``video_ids``; None: every one) whose transcript
    passes the filters (made by ``model``, created before ``before``) and that no worker holds now,
    queued for the next fetcher (on no queue) with a fresh attempt budget; returns their ids."""
    cur.execute(
        sql.SQL(
            """
            INSERT INTO video_jobs AS j (video_id, url, state, attempts, lease_expires_at, queue_url, retranscribe)
            SELECT t.video_id, NULL, {queued}, 0, now() + make_interval(secs => %(lease)s), NULL, true
            FROM transcripts t
            WHERE (%(every)s OR t.video_id = ANY(%(ids)s))
              AND (%(model)s::text IS NULL OR t.model = %(model)s)
              AND (%(before)s::timestamptz IS NULL OR t.created_at < %(before)s)
            ON CONFLICT (video_id) DO UPDATE
                SET state = {queued}, attempts = 0, retranscribe = true, queue_url = NULL, claimed_by = NULL,
                    lease_expires_at = EXCLUDED.lease_expires_at, last_error_type = NULL, last_error = NULL,
                    updated_at = now()
                WHERE NOT ({held_live})
            RETURNING j.video_id
            """
        ).format(queued=job_sql.state(JobState.QUEUED), held_live=job_sql.held_live("j")),
        {
            "every": video_ids is None,
            "ids": list(video_ids or []),
            "model": model,
            "before": before,
            "lease": queued_lease_seconds,
        },
    )
    return sorted(row[0] for row in cur.fetchall())


def archive_if_requested(cur: cursor, video_id: str) -> int | None:
    """Before a transcript is stored: when a re-transcription was requested, move the current
    transcript to ``transcript_versions`` and return the number the new one takes; else None."""
    cur.execute("SELECT retranscribe FROM video_jobs WHERE video_id = %s FOR UPDATE", (video_id,))
    row = cur.fetchone()
    if row is None or not row[0]:
        return None
    cur.execute(
        sql.SQL(
            "WITH gone AS (DELETE FROM transcripts WHERE video_id = %s RETURNING *)"
            " INSERT INTO transcript_versions ({columns}, version) SELECT {columns}, version FROM gone"
            " RETURNING version"
        ).format(columns=_COLUMNS),
        (video_id,),
    )
    archived = cur.fetchone()
    cur.execute("UPDATE video_jobs SET retranscribe = false WHERE video_id = %s", (video_id,))
    return None if archived is None else int(archived[0]) + 1
