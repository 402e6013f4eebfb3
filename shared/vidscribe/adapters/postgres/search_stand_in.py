"""STAND-IN until issue 23's search lands: ``Reports.search`` as a case-insensitive substring match
(ILIKE) over each transcript's segments, so that the web page's search works and is tested against
the interface issue 23 delivers (``models.SearchQuery`` in, ``models.SearchHit`` out).

Issue 23 replaces this module with PostgreSQL full-text search (a tsvector per segment, a GIN index,
``websearch_to_tsquery``, ``ts_rank_cd``, ``ts_headline``). This one reads every segment of every
transcript it passes (no index), ranks nothing (hits come in video and segment order, ``rank`` 1.0)
and takes the query as one literal piece of text.
"""

from __future__ import annotations

import re
from typing import Any

from psycopg2.extensions import cursor

from ...models import SearchHit, SearchQuery
from .catalogue import like_pattern
from .database import Database

_QUERY = """
    SELECT t.video_id, (e.segment->>'start')::float8, (e.segment->>'end')::float8,
           coalesce(e.segment->>'language', t.language), e.segment->>'text'
    FROM transcripts t CROSS JOIN LATERAL jsonb_array_elements(t.segments) WITH ORDINALITY AS e(segment, n)
    WHERE (e.segment->>'text') ILIKE %(pattern)s
      AND (%(language)s::text IS NULL OR coalesce(e.segment->>'language', t.language) = %(language)s)
      AND (%(video)s::text IS NULL OR t.video_id = %(video)s)
      AND (%(since)s::timestamptz IS NULL OR t.created_at >= %(since)s)
    ORDER BY t.video_id, e.n
    LIMIT %(limit)s OFFSET %(offset)s
"""


def snippet(text: str, needle: str) -> tuple[tuple[str, bool], ...]:
    """``text`` in pieces, each occurrence of ``needle`` (any case) flagged as matched."""
    if not needle:
        return ((text, False),)
    pieces: list[tuple[str, bool]] = []
    for index, piece in enumerate(re.split(f"({re.escape(needle)})", text, flags=re.IGNORECASE)):
        if piece:
            pieces.append((piece, index % 2 == 1))
    return tuple(pieces)


def search(database: Database, query: SearchQuery) -> list[SearchHit]:
    needle = " ".join(query.text.split())
    if not needle:
        return []
    params: dict[str, Any] = {
        "pattern": like_pattern(needle),
        "language": query.language,
        "video": query.video_id,
        "since": query.since,
        "limit": query.limit,
        "offset": query.offset,
    }

    def work(cur: cursor) -> list[SearchHit]:
        cur.execute(_QUERY, params)
        return [
            SearchHit(video_id, start, end, language, snippet(" ".join((text or "").split()), needle), 1.0)
            for video_id, start, end, language, text in cur.fetchall()
        ]

    return database.run(work)
