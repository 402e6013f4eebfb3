"""Full-text search at catalogue scale: ``Reports.search`` (what ``vidscribe search`` and the web
page call) over --segments segments (default 1,000,000: 10,000 one-hour transcripts of 100
segments of 36 s, ~10,000 h), p50/p95 per kind of query, and the plans PostgreSQL chose.

The segments are built in the database (generate_series, no round trip per row): ~12 words each
drawn from a 2,000-word vocabulary ``w1``..``w2000``, skewed (word 1 + floor(2000 u**3), u uniform),
so that w3 is in ~16 % of the segments, w100 in ~1.5 %, w1500 in ~0.2 %; "zeppelin" in one segment
in 20,000 and the phrase "refund policy" in one in 1,000; 80 % English, 15 % German, 5 % French. The GIN index
is built after the rows, as migration 008 builds it over stored transcripts.

Baseline (same run): the same queries with PostgreSQL's index scans turned off (enable_bitmapscan,
enable_indexscan), i.e. the engine reading every segment; the ratio is baseline / indexed.

Usage: .venv/bin/python bench/bench_search.py [--segments 1000000] [--runs 30] [--keep]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import psycopg2

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "shared"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ["POWERTOOLS_LOG_LEVEL"] = "WARNING"

from common import admin_url, create_database, drop_database

from vidscribe.adapters.postgres import PostgresReports
from vidscribe.adapters.postgres.search import prepare, search_statement
from vidscribe.adapters.postgres.store import videos_identifier
from vidscribe.config import Settings
from vidscribe.models import SearchQuery
from vidscribe.services import Services

SEGMENTS_PER_VIDEO = 100
SCENARIOS: dict[str, SearchQuery] = {
    "a very common word (w3)": SearchQuery("w3"),
    "a common word (w100)": SearchQuery("w100"),
    "a mid word (w1500)": SearchQuery("w1500"),
    "a rare word (zeppelin, 1 in 20,000)": SearchQuery("zeppelin"),
    'a phrase ("refund policy")': SearchQuery('"refund policy"'),
    "a prefix (zeppel*)": SearchQuery("zeppel*"),
    "two words, one excluded (refund -policy)": SearchQuery("refund -policy"),
    "rare word, --language de": SearchQuery("zeppelin", language="de"),
    "common word, --video": SearchQuery("w3", video_id="v00004242"),
    "a word in none (xylophone)": SearchQuery("xylophone"),
}


def load(url: str, segments: int) -> float:
    videos = segments // SEGMENTS_PER_VIDEO
    vocabulary = "ARRAY(SELECT 'w' || k FROM generate_series(1, 2000) k)"
    statements = [
        "DROP INDEX transcript_segments_document",
        "INSERT INTO videos (id, url) SELECT 'v' || lpad(i::text, 8, '0'),"
        " 'https://user:secret@media.example.com/' || i || '.mp4' FROM generate_series(0, %(videos)s - 1) i",
        # The transcripts themselves with no segments: the trigger indexes nothing; the rows come next.
        "INSERT INTO transcripts (video_id, text, segments, language, duration_seconds, backend, model)"
        " SELECT 'v' || lpad(i::text, 8, '0'), '', '[]'::jsonb,"
        " CASE WHEN mod(i, 20) < 16 THEN 'en' WHEN mod(i, 20) < 19 THEN 'de' ELSE 'fr' END, 3600, 'local', 'base'"
        " FROM generate_series(0, %(videos)s - 1) i",
        f"""INSERT INTO transcript_segments (video_id, n, start_seconds, end_seconds, language, config, text,
                                            document, created_at)
            SELECT t.video_id, g.n, (g.n - 1) * 36.0, g.n * 36.0 - 1, t.language,
                   vidscribe_search_config(t.language), g.text,
                   to_tsvector(vidscribe_search_config(t.language), g.text), t.created_at
            FROM transcripts t
            CROSS JOIN LATERAL (
                SELECT n, (SELECT string_agg(({vocabulary})[1 + floor(2000 * power(random(), 3))::int], ' ')
                           FROM generate_series(1, 12 + 0 * n))
                          || CASE WHEN random() < 0.00005 THEN ' a zeppelin over the bay' ELSE '' END
                          || CASE WHEN random() < 0.001 THEN ' our refund policy changed' ELSE '' END
                          || CASE WHEN random() < 0.002 THEN ' a refund was paid' ELSE '' END AS text
                FROM generate_series(1, {SEGMENTS_PER_VIDEO} + 0 * length(t.video_id)) n  -- per transcript, not once
            ) g""",
        "CREATE INDEX transcript_segments_document ON transcript_segments USING gin (document)",
        "VACUUM (ANALYZE) videos",
        "VACUUM (ANALYZE) transcripts",
        "VACUUM (ANALYZE) transcript_segments",
    ]
    started = time.perf_counter()
    conn = psycopg2.connect(url)
    conn.autocommit = True
    with conn.cursor() as cur:
        for statement in statements:
            cur.execute(statement, {"videos": videos})
    conn.close()
    return time.perf_counter() - started


def timings(reports: PostgresReports, query: SearchQuery, runs: int) -> tuple[list[float], int]:
    times, hits = [], 0
    for _ in range(runs):
        started = time.perf_counter()
        hits = len(reports.search(query))
        times.append((time.perf_counter() - started) * 1000)
    return times, hits


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def baseline(url: str, query: SearchQuery, runs: int) -> float:
    """The search's statement with index scans off: every segment read (p50, ms)."""
    conn = psycopg2.connect(url)
    with conn.cursor() as cur:
        cur.execute("SET enable_bitmapscan = off; SET enable_indexscan = off")
        params = prepare(cur, query)
        times = []
        for _ in range(runs):
            started = time.perf_counter()
            cur.execute(search_statement(videos_identifier("videos")), params)
            cur.fetchall()
            times.append((time.perf_counter() - started) * 1000)
    conn.close()
    return statistics.median(times)


def matching(url: str, query: SearchQuery) -> int:
    """How many segments the query matches (each with its own configuration): what is ranked."""
    conn = psycopg2.connect(url)
    with conn.cursor() as cur:
        params: Any = prepare(cur, query)
        cur.execute(
            "SELECT count(*) FROM transcript_segments s JOIN unnest(%(configs)s::regconfig[], %(queries)s::tsquery[])"
            " AS q(config, query) ON q.config = s.config WHERE s.document @@ q.query"
            " AND (%(language)s::text IS NULL OR s.language = %(language)s)"
            " AND (%(video)s::text IS NULL OR s.video_id = %(video)s)",
            params,
        )
        found = int(cur.fetchone()[0])
    conn.close()
    return found


def plan(url: str, query: SearchQuery) -> str:
    conn = psycopg2.connect(url)
    with conn.cursor() as cur:
        params: Any = prepare(cur, query)
        cur.execute(
            b"EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF) "
            + search_statement(videos_identifier("videos")).as_string(cur).encode(),
            params,
        )
        text = "\n".join(row[0] for row in cur.fetchall())
    conn.close()
    return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--segments", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=30, help="timed searches per scenario")
    parser.add_argument("--baseline-runs", type=int, default=3)
    parser.add_argument("--keep", action="store_true", help="keep the database")
    args = parser.parse_args()
    name = f"vidscribe_bench_search_{os.getpid()}"
    with tempfile.TemporaryDirectory() as tmp:
        admin = admin_url(Path(tmp))
        url = create_database(admin, name)
        try:
            seconds = load(url, args.segments)
            videos = args.segments // SEGMENTS_PER_VIDEO
            print(f"loaded {args.segments:,} segments ({videos:,} transcripts) in {seconds:.0f} s")
            services = Services(Settings.from_env({}, DATABASE_URL=url))
            reports = PostgresReports(services.database)
            reports.search(SearchQuery("warmup"))
            print(f"\n  {'query (Reports.search, a page of 20)':<44} {'matching':>9} {'hits':>5}", end="")
            print(f" {'p50 ms':>8} {'p95 ms':>8} {'no index p50':>13} {'ratio':>7}")
            for label, query in SCENARIOS.items():
                times, hits = timings(reports, query, args.runs)
                slow = baseline(url, query, args.baseline_runs)
                p50 = statistics.median(times)
                p95 = percentile(times, 0.95)
                print(f"  {label:<44} {matching(url, query):>9,} {hits:>5}", end="")
                print(f" {p50:>8.1f} {p95:>8.1f} {slow:>13.0f} {slow / p50:>7.0f}")
            for label in ("a very common word (w3)", "a common word (w100)", "a rare word (zeppelin, 1 in 20,000)"):
                text = plan(url, SCENARIOS[label])
                print(f"\nPlan for {label}:\n{text}")
                assert "Seq Scan on transcript_segments" not in text, "a sequential scan of the segments"
            services.close()
        finally:
            if not args.keep:
                drop_database(admin, name)


if __name__ == "__main__":
    main()
