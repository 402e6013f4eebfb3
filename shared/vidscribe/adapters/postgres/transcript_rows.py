"""Where a transcript row is written: one function every transaction that stores a transcript calls
(a whole video's, and the assembled transcript of a video in parts)."""

from __future__ import annotations

import json

from psycopg2 import sql
from psycopg2.extensions import cursor

from ...jobs.states import JobState
from ...models import Transcript
from . import job_sql, versions


def write_transcript(cur: cursor, video_id: str, transcript: Transcript) -> bool:
    """Insert the transcript (unless one exists), mark the job done and resolve its open failure
    records, in the caller's transaction; False if another worker stored one first. A requested
    re-transcription first moves the current transcript to its numbered version."""
    new_version = versions.archive_if_requested(cur, video_id)
    cur.execute(
        """
        INSERT INTO transcripts (video_id, text, segments, language, duration_seconds, backend, model,
                                 speech_seconds, no_speech, model_audio_seconds, cost_usd,
                                 language_probability)
        VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
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
            transcript.language_probability,
        ),
    )
    inserted = cur.fetchone() is not None
    if new_version is not None:
        cur.execute("UPDATE transcripts SET version = %s WHERE video_id = %s", (new_version, video_id))
    cur.execute(
        sql.SQL(
            "UPDATE video_jobs SET state = {}, lease_expires_at = NULL, claimed_by = NULL, updated_at = now()"
            " WHERE video_id = %s"
        ).format(job_sql.state(JobState.DONE)),
        (video_id,),
    )
    cur.execute(
        "UPDATE failures SET resolved_at = now(), resolution = 'transcribed'"
        " WHERE video_id = %s AND resolved_at IS NULL",
        (video_id,),
    )
    return inserted
