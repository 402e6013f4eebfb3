"""Full-text search (issue 23) against a real PostgreSQL: each segment indexed with its language's
configuration, ranking, snippets, phrases, prefixes, exclusions, filters and hostile query text."""

from __future__ import annotations

import uuid
from datetime import timedelta
from importlib import resources

import psycopg2
import pytest
from psycopg2 import sql

from tests.support.database import PostgresUnderTest
from vidscribe.adapters.postgres.schema import MIGRATIONS_PACKAGE
from vidscribe.errors import SearchSyntaxError
from vidscribe.models import SearchQuery, Segment, Transcript


def _save(store: PostgresUnderTest, video_id: str, language: str, *texts: str) -> None:
    segments = [Segment(10.0 * i, 10.0 * i + 8, text) for i, text in enumerate(texts)]
    transcript = Transcript(" ".join(texts), segments, language, 10.0 * len(texts), "local", "tiny.en")
    assert store.save_transcript(video_id, transcript)


@pytest.fixture()
def catalogue(store: PostgresUnderTest) -> PostgresUnderTest:
    store.add_videos(
        [
            ("en-1", "https://user:pw@media.example/en-1.mp4?X-Amz-Signature=secret"),
            ("en-2", "https://media.example/en-2.mp4"),
            ("de-1", "https://media.example/de-1.mp4"),
        ]
    )
    _save(
        store,
        "en-1",
        "en",
        "Welcome to the quarterly meeting.",
        "Our refund policy changed: refunds are now processed within five days.",
        "The policies on travel stay the same.",
    )
    _save(
        store,
        "en-2",
        "en",
        "A refund was requested.",
        "The refund desk handles refund requests and refund timing strictly.",
    )
    _save(store, "de-1", "de", "Die Rückerstattung dauert fünf Tage.", "Wir sprechen über die Häuser am Fluss.")
    return store


def _find(store: PostgresUnderTest, text: str, **filters: object) -> list[tuple[str, float]]:
    return [(hit.video_id, hit.start) for hit in store.reports.search(SearchQuery(text, **filters))]  # type: ignore[arg-type]


def test_english_stemming_ranking_snippet_and_url(catalogue: PostgresUnderTest) -> None:
    # "refunds" and "policies" reach "refund" and "policy" through the english configuration; the
    # segment that says "refund" three times ranks first, then the one that says it twice.
    hits = catalogue.reports.search(SearchQuery("refund"))
    assert [(h.video_id, h.start) for h in hits] == [("en-2", 10.0), ("en-1", 10.0), ("en-2", 0.0)]
    assert hits[0].rank > hits[1].rank >= hits[2].rank > 0
    assert [text for text, matched in hits[1].snippet if matched] == ["refund", "refunds"]
    assert "".join(text for text, _ in hits[1].snippet) == (
        "Our refund policy changed: refunds are now processed within five days."
    )
    assert hits[1].url == "https://user:pw@media.example/en-1.mp4?X-Amz-Signature=secret"  # scrubbed by the CLI
    assert hits[1].language == "en"
    assert _find(catalogue, "policies") == [("en-1", 10.0), ("en-1", 20.0)]


def test_german_segments_use_the_german_configuration(catalogue: PostgresUnderTest) -> None:
    # "Haus" finds "Häuser" only through german stemming; the snippet highlights the word as spoken.
    hits = catalogue.reports.search(SearchQuery("Häuser", language="de"))
    assert [(h.video_id, h.start) for h in hits] == [("de-1", 10.0)]
    assert [text for text, matched in hits[0].snippet if matched] == ["Häuser"]
    assert _find(catalogue, "rückerstattung") == [("de-1", 0.0)]
    assert _find(catalogue, "refund", language="de") == []


def test_phrase_prefix_exclusion_and_or(catalogue: PostgresUnderTest) -> None:
    assert _find(catalogue, '"refund policy"') == [("en-1", 10.0)]
    assert _find(catalogue, '"policy refund"') == []
    assert _find(catalogue, "quart*") == [("en-1", 0.0)]
    assert _find(catalogue, "rückerst*") == [("de-1", 0.0)]
    assert _find(catalogue, "refund -strict") == [("en-1", 10.0), ("en-2", 0.0)]
    assert sorted(_find(catalogue, "travel or welcome")) == [("en-1", 0.0), ("en-1", 20.0)]


def test_filters_video_since_limit_offset(catalogue: PostgresUnderTest) -> None:
    assert _find(catalogue, "refund", video_id="en-1") == [("en-1", 10.0)]
    assert _find(catalogue, "refund", limit=1, offset=1) == [("en-1", 10.0)]
    later = catalogue.now() + timedelta(minutes=1)
    assert _find(catalogue, "refund", since=later) == []


def test_syntax_characters_are_plain_text(catalogue: PostgresUnderTest) -> None:
    for hostile in ("refund';--", "refund & | ! <-> :* ( ) \\ %_", "'refund':*", '"refund', "refund)*", "refund:*"):
        assert ("en-1", 10.0) in _find(catalogue, hostile), hostile
    assert _find(catalogue, "refund'); DROP TABLE transcripts; --") == []
    assert _find(catalogue, "!!! &&& ::: ***") == []
    assert _find(catalogue, "the and of") == []  # stop words in english, and in no segment of another language
    assert catalogue.transcript("en-1") is not None  # the table is still there


def test_only_exclusions_is_a_clear_error(catalogue: PostgresUnderTest) -> None:
    with pytest.raises(SearchSyntaxError, match="at least one word"):
        catalogue.reports.search(SearchQuery("-refund -policy"))


def test_index_is_kept_current_on_rewrite_and_delete(catalogue: PostgresUnderTest) -> None:
    catalogue.execute(
        "UPDATE transcripts SET segments = %s::jsonb WHERE video_id = 'en-2'",
        ('[{"start": 3.0, "end": 4.0, "text": "Nothing about money here."}]',),
    )
    assert _find(catalogue, "money") == [("en-2", 3.0)]
    assert ("en-2", 10.0) not in _find(catalogue, "refund")
    catalogue.execute("DELETE FROM transcripts WHERE video_id = 'en-2'")
    assert _find(catalogue, "money") == []


def test_the_migration_indexes_transcripts_stored_before_it(database_url: str) -> None:
    # Given a database migrated up to 008 holding a German transcript, When 008 is applied, Then its
    # segments are found, stemmed with the german configuration.
    name = f"vidscribe_search_{uuid.uuid4().hex[:8]}"
    admin = psycopg2.connect(database_url)
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    base, _, query = database_url.partition("?")  # pgserver's URLs end in .../db?host=/socket/dir
    url = f"{base.rsplit('/', 1)[0]}/{name}" + (f"?{query}" if query else "")
    try:
        earlier = PostgresUnderTest(url)
        earlier.execute("CREATE TABLE vidscribe_migrations (name text PRIMARY KEY, applied_at timestamptz)")
        for migration in sorted(resources.files(MIGRATIONS_PACKAGE).iterdir(), key=lambda f: f.name):
            if migration.name.endswith(".sql") and migration.name < "008":
                earlier.execute(migration.read_text())
                earlier.execute("INSERT INTO vidscribe_migrations (name) VALUES (%s)", (migration.name,))
        segments = '[{"start": 0, "end": 2, "text": "Guten Tag."}, {"start": 2, "end": 5, "text": "Die Häuser."}]'
        earlier.execute(
            "INSERT INTO transcripts (video_id, text, segments, language, duration_seconds, backend, model)"
            " VALUES ('old', '', %s::jsonb, 'de', 5, 'local', 'base')",
            (segments,),
        )
        assert "008_segment_search.sql" in earlier.migrate()
        assert [(h.video_id, h.start) for h in earlier.reports.search(SearchQuery("Haus"))] == [("old", 2.0)]
        earlier.close()
    finally:
        with admin.cursor() as cur:
            cur.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        admin.close()
