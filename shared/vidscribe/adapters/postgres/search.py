"""Full-text search over the transcripts' segments (issue 23): ``Reports.search``.

Migration 008 keeps one row per segment in ``transcript_segments`` with a ``tsvector`` made with
the segment's language's text-search configuration, under a GIN index. A query is read as a web
search box takes it (``words``, ``"a phrase"``, ``-excluded``, ``or``) plus ``prefix*``, which
``websearch_to_tsquery`` does not offer: ``query_terms`` parses it, and PostgreSQL turns each term
into a ``tsquery`` with each configuration (``plainto_tsquery``, ``phraseto_tsquery``, and
``to_tsquery`` for a prefix, given only letters and digits): no user text is ever read as
``tsquery`` syntax or SQL.

The configurations give different lexemes for one word (english 'polici', german 'policy'): the GIN
index is asked for any configuration's query at once (one bitmap scan), and each candidate row is then
checked against its own configuration's query. Hits are ranked with ``ts_rank_cd``; only the page's
hits get a ``ts_headline`` snippet.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from psycopg2 import sql
from psycopg2.extensions import cursor

from ...errors import SearchSyntaxError
from ...models import SearchHit, SearchQuery
from .database import Database

# A term: an optional "-", then a quoted phrase or a run of non-space characters.
_TERM = re.compile(r'(-?)(?:"([^"]*)"?|(\S+))')
_PREFIX = re.compile(r"(\w+)\*+$")
# ts_headline's highlight marks: characters no transcript holds (they are removed from the text).
_START, _STOP = "\x02", "\x03"
_HEADLINE_OPTIONS = f"StartSel={_START}, StopSel={_STOP}, MaxWords=30, MinWords=12, MaxFragments=1"
_WHOLE_HEADLINE_OPTIONS = f"StartSel={_START}, StopSel={_STOP}, HighlightAll=true"
# A segment up to this long is shown whole (HighlightAll); a longer one (a text-only transcript's
# segment can be minutes long) by its best fragment.
_WHOLE_SNIPPET_CHARS = 320


@dataclass(frozen=True)
class Term:
    kind: str  # "word", "phrase" or "prefix"
    text: str
    excluded: bool = False


def query_terms(text: str) -> list[list[Term]]:
    """``text`` as alternatives (split at ``or``), each a list of terms that must all hold."""
    groups: list[list[Term]] = [[]]
    for match in _TERM.finditer(text):
        minus, phrase, word = match.group(1), match.group(2), match.group(3)
        if phrase is None and word.lower() == "or" and not minus:
            groups.append([])
            continue
        if phrase is not None:
            term = Term("phrase", phrase, bool(minus))
        elif prefix := _PREFIX.search(word):
            term = Term("prefix", prefix.group(1), bool(minus))
        else:
            term = Term("word", word, bool(minus))
        groups[-1].append(term)
    return [group for group in groups if group]


def _term_query(term: Term, index: int) -> sql.Composable:
    """One term as a tsquery made by PostgreSQL with the configuration ``c``."""
    param = sql.Placeholder(f"t{index}")
    if term.kind == "phrase":
        made = sql.SQL("phraseto_tsquery(c, {})").format(param)
    elif term.kind == "prefix":
        # Only \w characters reach to_tsquery, quoted: no operator can be spelled.
        made = sql.SQL("to_tsquery(c, {} || ':*')").format(param)
    else:
        made = sql.SQL("plainto_tsquery(c, {})").format(param)
    return sql.SQL("(!! {})").format(made) if term.excluded else made


def _query_per_config(groups: list[list[Term]]) -> tuple[sql.Composed, dict[str, Any]]:
    """A statement giving, for every configuration ``c`` asked for, the query's tsquery as text."""
    params: dict[str, Any] = {}
    alternatives: list[sql.Composable] = []
    for group in groups:
        parts = []
        for term in group:
            index = len(params)
            params[f"t{index}"] = f"'{term.text}'" if term.kind == "prefix" else term.text
            parts.append(_term_query(term, index))
        alternatives.append(sql.SQL("({})").format(sql.SQL(" && ").join(parts)))
    statement = sql.SQL(
        "SELECT c::text, q::text FROM unnest(%(configs)s::regconfig[]) AS c, LATERAL (SELECT {} AS q) made"
        " WHERE numnode(q) > 0"
    ).format(sql.SQL(" || ").join(alternatives))
    return statement, params


_CONFIGS = """
    SELECT array_agg(DISTINCT config::text) FROM (
        SELECT config FROM search_languages WHERE %(language)s::text IS NULL
        UNION ALL SELECT 'pg_catalog.simple'::regconfig WHERE %(language)s::text IS NULL
        UNION ALL SELECT vidscribe_search_config(%(language)s) WHERE %(language)s::text IS NOT NULL
    ) configs
"""

# The candidates come from the GIN index (any configuration's query); each is kept when its own
# configuration's query matches. Only the page's hits are given a headline and a URL.
_SEARCH = """
    WITH queries AS MATERIALIZED (
        SELECT config::regconfig AS config, query::tsquery AS query
        FROM unnest(%(configs)s::text[], %(queries)s::text[]) AS q(config, query)
    ), hits AS (
        SELECT s.video_id, s.n, s.start_seconds, s.end_seconds, s.language, s.config, s.text, s.query,
               ts_rank_cd(s.document, s.query) AS rank
        FROM (
            -- One index scan for every configuration's query at once, then each row's own query (OFFSET 0
            -- keeps it apart: flattened, PostgreSQL scans the index once per configuration instead).
            SELECT s.*, (SELECT q.query FROM queries q WHERE q.config = s.config) AS query
            FROM transcript_segments s
            WHERE s.document @@ %(any)s::tsquery
              AND (%(language)s::text IS NULL OR s.language = %(language)s)
              AND (%(video)s::text IS NULL OR s.video_id = %(video)s)
              AND (%(since)s::timestamptz IS NULL OR s.created_at >= %(since)s)
            OFFSET 0
        ) s
        WHERE s.document @@ s.query
        ORDER BY rank DESC, s.video_id, s.n
        LIMIT %(limit)s OFFSET %(offset)s
    )
    SELECT h.video_id, h.start_seconds, h.end_seconds, h.language, h.rank,
           ts_headline(h.config, translate(h.text, %(marks)s, ''), h.query,
                       CASE WHEN length(h.text) <= %(whole)s THEN %(whole_options)s ELSE %(options)s END),
           (SELECT v.url FROM {videos} v WHERE v.id::text = h.video_id LIMIT 1)
    FROM hits h ORDER BY h.rank DESC, h.video_id, h.n
"""


def snippet_pieces(headline: str) -> tuple[tuple[str, bool], ...]:
    """A ``ts_headline`` with our marks, as pieces of text each flagged when highlighted."""
    pieces: list[tuple[str, bool]] = []
    for index, piece in enumerate(re.split(f"[{_START}{_STOP}]", " ".join(headline.split()))):
        if piece:
            pieces.append((piece, index % 2 == 1))
    return tuple(pieces)


def prepare(cur: cursor, query: SearchQuery) -> dict[str, Any] | None:
    """The search's parameters (the query made by every configuration), or None when the text has
    no word to look for (empty, or only stop words)."""
    groups = query_terms(query.text)
    if not groups:
        return None
    if all(term.excluded for group in groups for term in group):
        raise SearchSyntaxError("a search needs at least one word that is not excluded with '-'")
    cur.execute(_CONFIGS, {"language": query.language})
    configs = (cur.fetchone() or [None])[0] or []
    statement, params = _query_per_config(groups)
    cur.execute(statement, {**params, "configs": configs})
    made = cur.fetchall()
    if not made:
        return None
    return {
        "configs": [c for c, _ in made],
        "queries": [q for _, q in made],
        "any": " | ".join(sorted({f"( {q} )" for _, q in made})),
        "language": query.language,
        "video": query.video_id,
        "since": query.since,
        "limit": query.limit,
        "offset": query.offset,
        "marks": _START + _STOP,
        "options": _HEADLINE_OPTIONS,
        "whole": _WHOLE_SNIPPET_CHARS,
        "whole_options": _WHOLE_HEADLINE_OPTIONS,
    }


def search_statement(videos: sql.Composable) -> sql.Composed:
    return sql.SQL(_SEARCH).format(videos=videos)


def search(database: Database, videos: sql.Composable, query: SearchQuery) -> list[SearchHit]:
    """The segments that match ``query``, best first."""
    statement = search_statement(videos)

    def work(cur: cursor) -> list[SearchHit]:
        params = prepare(cur, query)
        if params is None:
            return []
        cur.execute(statement, params)
        return [
            SearchHit(video_id, start, end, language, snippet_pieces(headline), float(rank), url)
            for video_id, start, end, language, rank, headline, url in cur.fetchall()
        ]

    return database.run(work)
