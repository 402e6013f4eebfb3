"""What the command line reads: the pipeline's status, a run's outcomes, failure records, transcripts.

Read-only queries; the job-state writes are the store's (``store.py``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from psycopg2 import sql
from psycopg2.extensions import cursor

from ...jobs.states import IN_FLIGHT, JobState
from ...models import FailureRecord, SearchHit, SearchQuery, Transcript, TranscriptFilter, TranscriptSummary
from . import job_sql, transcript_listing
from .database import Database, fetch_one
from .search import search
from .store import videos_identifier

_TRANSCRIPT_COLUMNS = (
    "video_id", "text", "segments", "language", "duration_seconds", "backend", "model", "created_at",
    "speech_seconds", "no_speech", "model_audio_seconds", "cost_usd", "language_probability",
)
_TRANSCRIPTS_QUERY = (
    "SELECT video_id, text, segments, language, duration_seconds, backend, model, created_at,"
    " speech_seconds, no_speech, model_audio_seconds, cost_usd, language_probability FROM transcripts"
    " WHERE %(all)s OR video_id = ANY(%(ids)s) ORDER BY video_id"
)


# A video's transcripts by number: the replaced ones (migration 010) and the current one.
_VERSIONS_QUERY = """
    SELECT * FROM (
        SELECT video_id, text, segments, language, duration_seconds, backend, model, created_at, speech_seconds,
               no_speech, model_audio_seconds, cost_usd, language_probability, version
        FROM transcript_versions WHERE video_id = %(id)s
        UNION ALL
        SELECT video_id, text, segments, language, duration_seconds, backend, model, created_at, speech_seconds,
               no_speech, model_audio_seconds, cost_usd, language_probability, version
        FROM transcripts WHERE video_id = %(id)s
    ) v
    WHERE %(all)s OR version = %(n)s
    ORDER BY version
"""


def _transcript(row: tuple[Any, ...]) -> Transcript:
    data = dict(zip(_TRANSCRIPT_COLUMNS, row, strict=True))
    data["duration"] = data.pop("duration_seconds")
    return Transcript.from_dict(data)



# Jobs by state: how many, how many wait on no queue (for the next fetcher), how many are past their
# lease (held by a worker, or on a queue: on no queue, a lease means nothing).
_JOBS_BY_STATE = sql.SQL(
    """
    SELECT state, count(*),
           count(*) FILTER (WHERE {waiting} AND queue_url IS NULL),
           count(*) FILTER (WHERE lease_expires_at <= now() AND ({held} OR queue_url IS NOT NULL)),
           count(*) FILTER (WHERE retranscribe)
    FROM video_jobs GROUP BY state
    """
).format(waiting=job_sql.is_state(JobState.QUEUED), held=job_sql.is_state(JobState.PROCESSING))


class PostgresReports:
    def __init__(self, database: Database, *, videos_table: str = "videos") -> None:
        self._db = database
        self._videos = videos_identifier(videos_table)

    def now(self) -> datetime:
        return self._db.now()

    def transcript(self, video_id: str) -> Transcript | None:
        found = self.transcripts([video_id])
        return found[0] if found else None

    def transcripts(self, video_ids: Sequence[str] | None = None) -> list[Transcript]:
        def work(cur: cursor) -> list[Transcript]:
            cur.execute(_TRANSCRIPTS_QUERY, {"all": video_ids is None, "ids": list(video_ids or [])})
            return [_transcript(row) for row in cur.fetchall()]

        return self._db.run(work)

    def transcript_version(self, video_id: str, version: int) -> Transcript | None:
        """Transcript number ``version`` of a video: a replaced one, or the current one."""
        found = self._versions(video_id, version)
        return found[0] if found else None

    def transcript_versions(self, video_id: str) -> list[Transcript]:
        """Every transcript of a video, version 1 first, the current one last."""
        return self._versions(video_id, None)

    def _versions(self, video_id: str, version: int | None) -> list[Transcript]:
        def work(cur: cursor) -> list[Transcript]:
            cur.execute(_VERSIONS_QUERY, {"id": video_id, "all": version is None, "n": version})
            return [_transcript(row[:-1]) for row in cur.fetchall()]

        return self._db.run(work)

    def search(self, query: SearchQuery) -> list[SearchHit]:
        """The segments that match ``query``, best first: PostgreSQL full-text search (``search``)."""
        return search(self._db, self._videos, query)

    def transcript_summaries(
        self, selection: TranscriptFilter, after: str | None, limit: int
    ) -> list[TranscriptSummary]:
        return transcript_listing.summaries(self._db, selection, after, limit)

    def transcript_page(self, selection: TranscriptFilter, after: str | None, limit: int) -> list[Transcript]:
        return transcript_listing.transcripts(self._db, selection, after, limit)

    def transcript_count(self, selection: TranscriptFilter) -> int:
        return transcript_listing.count(self._db, selection)

    def run_report(self, since: datetime) -> dict[str, Any]:
        """What happened since ``since``, by any process: transcripts written (how many had no
        speech; their audio and speech seconds), and the videos whose latest failure was recorded
        since (a record superseded by a newer failure is history; the newer one counts).
        ``vidscribe run`` reports its own outcomes instead."""

        def work(cur: cursor) -> dict[str, Any]:
            cur.execute(
                "SELECT count(*), coalesce(sum(duration_seconds), 0), count(*) FILTER (WHERE no_speech),"
                " coalesce(sum(speech_seconds), 0) FROM transcripts WHERE created_at >= %s",
                (since,),
            )
            transcribed, audio, without_speech, speech = fetch_one(cur)
            cur.execute(
                "SELECT error_type, count(*) FROM failures WHERE failed_at >= %s"
                " AND (resolved_at IS NULL OR resolution IS DISTINCT FROM 'superseded') GROUP BY error_type ORDER BY 1",
                (since,),
            )
            failed = dict(cur.fetchall())
            return {
                "transcribed": transcribed,
                "without_speech": without_speech,
                "audio_seconds": float(audio),
                "speech_seconds": float(speech),
                "failed": failed,
            }

        return self._db.run(work)

    def failures(self, include_resolved: bool = False) -> list[FailureRecord]:
        def work(cur: cursor) -> list[FailureRecord]:
            cur.execute(
                "SELECT id, video_id, error_type, message, attempts, failed_at, original_message, resolved_at,"
                " resolution FROM failures WHERE %s OR resolved_at IS NULL ORDER BY id",
                (include_resolved,),
            )
            return [FailureRecord(*row) for row in cur.fetchall()]

        return self._db.run(work)

    def queued_jobs(self) -> int:
        """How many videos are queued (on a queue, or waiting for the next run's fetcher): what a
        stopped run leaves for the next one besides the videos never fetched yet."""

        def work(cur: cursor) -> int:
            cur.execute(sql.SQL("SELECT count(*) FROM video_jobs WHERE {}").format(job_sql.is_state(JobState.QUEUED)))
            return int(fetch_one(cur)[0])

        return self._db.run(work)

    def status(self) -> dict[str, Any]:
        """Counts by state, transcripts without speech, the model's audio and estimated cost, the
        oldest in-flight job, and open failures by type.

        A queued job is ``waiting`` when it is on no queue (for the next fetcher: queued by hand
        without QUEUE_URL, given back, or never sent), and past its lease (``lease_expired``) when
        it is on a queue and its message has not been claimed within QUEUED_LEASE_SECONDS: a lost
        message, which the fetcher sends again. A processing job is past its lease when its worker
        has not finished within PROCESSING_LEASE_SECONDS."""
        videos_query = sql.SQL(
            """
            SELECT count(*),
                   count(*) FILTER (WHERE NOT EXISTS (SELECT 1 FROM transcripts t WHERE t.video_id = v.id::text))
            FROM {} v
            """
        ).format(self._videos)

        def work(cur: cursor) -> dict[str, Any]:
            cur.execute(videos_query)
            total, untranscribed = fetch_one(cur)
            cur.execute(
                "SELECT count(*), count(*) FILTER (WHERE no_speech), coalesce(sum(model_audio_seconds), 0),"
                " coalesce(sum(cost_usd), 0), count(*) FILTER (WHERE cost_usd IS NULL AND backend <> 'local')"
                " FROM transcripts"
            )
            transcripts, without_speech, model_seconds, cost, unpriced = fetch_one(cur)
            cur.execute(_JOBS_BY_STATE)
            jobs = {
                # retranscription: jobs of videos that have a transcript and were asked to be
                # transcribed again (migration 010), as against those never transcribed
                state: {"count": n, "waiting": waiting, "lease_expired": expired, "retranscription": again}
                for state, n, waiting, expired, again in cur.fetchall()
            }
            cur.execute(
                sql.SQL(
                    "SELECT video_id, state, attempts, updated_at, lease_expires_at FROM video_jobs"
                    " WHERE {} ORDER BY updated_at LIMIT 1"
                ).format(job_sql.in_states(IN_FLIGHT))
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
            parts = _parts_status(cur)
            return {
                "videos": total,
                "untranscribed": untranscribed,
                "transcripts": transcripts,
                "without_speech": without_speech,
                # What the model was sent and its estimated price, over every transcript stored
                # (transcripts stored before these were recorded count as 0 and as unpriced).
                "model_audio_seconds": round(float(model_seconds), 3),
                "cost_usd": round(float(cost), 6),
                "unpriced_transcripts": unpriced,
                "jobs": {s.value: jobs.get(s.value, {"count": 0, "waiting": 0, "lease_expired": 0}) for s in JobState},
                "oldest_in_flight": oldest,
                "open_failures": failures,
                "parts": parts,
            }

        return self._db.run(work)


_PARTS_BY_STATE = sql.SQL(
    "SELECT state, count(*), count(*) FILTER (WHERE {}) FROM video_parts GROUP BY state"
).format(job_sql.held_live())


def _parts_status(cur: cursor) -> dict[str, Any]:
    """Videos in parts (issue 22): how many, and their parts by state (``in_flight``: held live)."""
    cur.execute("SELECT count(*) FROM video_part_plans")
    videos = fetch_one(cur)[0]
    cur.execute(_PARTS_BY_STATE)
    counts = cur.fetchall()
    return {
        "videos": videos,
        "by_state": {state: n for state, n, _ in counts},
        "in_flight": sum(live for _, _, live in counts),
    }
