"""The transcripts a filter selects, a keyset page at a time in video id order: their figures
(``transcripts list``) or the whole transcripts (``export``). Never OFFSET: a page after the last id
seen costs the same deep in the table as at its start."""

from __future__ import annotations

from typing import Any

from psycopg2 import sql
from psycopg2.extensions import cursor

from ...models import Transcript, TranscriptFilter, TranscriptSummary
from .database import Database

_SUMMARY_COLUMNS = sql.SQL(
    "video_id, language, model, backend, duration_seconds, speech_seconds, no_speech,"
    " jsonb_array_length(CASE jsonb_typeof(segments) WHEN 'array' THEN segments ELSE '[]'::jsonb END),"
    " created_at"
)
_TRANSCRIPT_COLUMNS = (
    "video_id",
    "text",
    "segments",
    "language",
    "duration_seconds",
    "backend",
    "model",
    "created_at",
    "speech_seconds",
    "no_speech",
    "model_audio_seconds",
    "cost_usd",
    "language_probability",
)
_CONDITIONS = sql.SQL(
    " WHERE (%(after)s::text IS NULL OR video_id > %(after)s)"
    " AND (%(language)s::text IS NULL OR language = %(language)s)"
    " AND (%(model)s::text IS NULL OR model = %(model)s)"
    " AND (%(since)s::timestamptz IS NULL OR created_at >= %(since)s)"
    " AND (%(until)s::timestamptz IS NULL OR created_at < %(until)s)"
    " AND (%(no_speech)s::boolean IS NULL OR no_speech = %(no_speech)s)"
)
_WHERE = _CONDITIONS + sql.SQL(" ORDER BY video_id LIMIT %(limit)s")


def _params(selection: TranscriptFilter, after: str | None, limit: int) -> dict[str, Any]:
    return {
        "after": after,
        "language": selection.language,
        "model": selection.model,
        "since": selection.since,
        "until": selection.until,
        "no_speech": selection.without_speech,
        "limit": limit,
    }


def summaries(
    database: Database, selection: TranscriptFilter, after: str | None, limit: int
) -> list[TranscriptSummary]:
    """Up to ``limit`` transcripts' figures, the first with an id after ``after``."""
    statement = sql.SQL("SELECT {} FROM transcripts").format(_SUMMARY_COLUMNS) + _WHERE

    def work(cur: cursor) -> list[TranscriptSummary]:
        cur.execute(statement, _params(selection, after, limit))
        return [TranscriptSummary(*row) for row in cur.fetchall()]

    return database.run(work)


def transcripts(database: Database, selection: TranscriptFilter, after: str | None, limit: int) -> list[Transcript]:
    """Up to ``limit`` whole transcripts, the first with an id after ``after``."""
    statement = (
        sql.SQL("SELECT {} FROM transcripts").format(sql.SQL(", ").join(map(sql.Identifier, _TRANSCRIPT_COLUMNS)))
        + _WHERE
    )

    def work(cur: cursor) -> list[Transcript]:
        cur.execute(statement, _params(selection, after, limit))
        found = []
        for row in cur.fetchall():
            data = dict(zip(_TRANSCRIPT_COLUMNS, row, strict=True))
            data["duration"] = data.pop("duration_seconds")
            found.append(Transcript.from_dict(data))
        return found

    return database.run(work)


def count(database: Database, selection: TranscriptFilter) -> int:
    """How many transcripts the filter selects (for a progress bar's total)."""
    statement = sql.SQL("SELECT count(*) FROM transcripts") + _CONDITIONS

    def work(cur: cursor) -> int:
        cur.execute(statement, _params(selection, None, 0))
        row = cur.fetchone()
        return int(row[0]) if row else 0

    return database.run(work)
