"""How fast are the web page's catalogue and search with a million videos?

One run on this machine, against a fresh database of --rows videos: most transcribed (each with a
done job and a three-segment transcript), some failed, processing, queued or never queued, in
several languages and models (the mix is printed). The page runs in-process with vidscribe serve's
own wiring (``serve_command.web_app``) behind waitress, and each page is asked for over real HTTP
(keep-alive, one request at a time):

1. the catalogue: the first page; pages deep in the table (keyset: ``after=`` an id at random); the
   page before one (``before=``); each filter (a common and a rare state, language and model; an id
   substring that matches often, and one that matches nothing: the worst case, a walk of every id);
2. search (issue 23's full-text search: a GIN index over each segment, every match ranked): a word
   every transcript has (the worst case: 900,000 matches ranked), a word one in a thousand has, and a
   word none has;
3. the baseline, in the same run: each scenario's query called directly through the adapter (no
   HTTP, no template): "page ÷ query" is what the page adds;
4. the filters again without migration 006's indexes (dropped, then restored): the query's "without ÷
   with", and the page's (which also lists the languages and models its filters offer).

For each: p50 and p95 of the application's own time (its ``Server-Timing`` header) and p95 of the
time the client saw. Prints the plans of the filtered catalogue queries (no Seq Scan of videos,
jobs or transcripts where an index serves).

    .venv/bin/python bench/bench_web.py [--rows 1000000] [--requests 20] [--keep]
"""

from __future__ import annotations

import argparse
import os
import random
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

import psycopg2
import requests
from psycopg2 import sql

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "shared"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ["POWERTOOLS_LOG_LEVEL"] = "WARNING"

from common import admin_url, create_database, drop_database

from vidscribe.adapters.postgres import PostgresCatalogue, PostgresReports
from vidscribe.cli.serve_command import web_app
from vidscribe.config import Settings
from vidscribe.models import CatalogueQuery, SearchQuery
from vidscribe.services import Services
from vidscribe.web import WebServer
from vidscribe.web.forms import catalogue_query

INDEXES = {
    "transcripts_language_video": "transcripts (language, video_id)",
    "transcripts_model_video": "transcripts (model, video_id)",
}


# --- the database ----------------------------------------------------------------------------------
def load(url: str, rows: int) -> dict[str, int]:
    """``rows`` videos ``v0000000``...: by i mod 1000, 0-9 failed, 10 processing, 11-30 queued,
    31-99 never queued, the rest done (with a transcript: en 80%, de 15%, fr 5%; model base, 10%
    tiny.en, 1% gpt-transcribe). Every transcript says "hello"; one in a thousand "zeppelin"."""
    vid = "'v' || lpad(i::text, 7, '0')"
    statements = [
        f"INSERT INTO videos (id, url) SELECT {vid}, 'https://media.example.com/' || i || '.mp4'"
        " FROM generate_series(0, %(last)s) i",
        f"""INSERT INTO transcripts (video_id, text, segments, language, duration_seconds, backend, model,
                                     speech_seconds, no_speech, model_audio_seconds, cost_usd)
            SELECT {vid}, 'hello there', jsonb_build_array(
                       jsonb_build_object('start', 0.5, 'end', 3.0, 'text', 'hello there, this is video ' || i),
                       jsonb_build_object('start', 3.0, 'end', 6.5, 'text',
                           CASE WHEN mod(i, 1000) = 500 THEN 'a zeppelin over the bay' ELSE 'the weather is mild' END),
                       jsonb_build_object('start', 6.5, 'end', 9.0, 'text', 'thank you for watching')),
                   CASE WHEN mod(i, 100) < 80 THEN 'en' WHEN mod(i, 100) < 95 THEN 'de' ELSE 'fr' END, 9.0, 'local',
                   CASE WHEN mod(i, 100) = 7 THEN 'gpt-transcribe' WHEN mod(i, 10) = 3 THEN 'tiny.en' ELSE 'base' END,
                   8.5, false, 8.5, 0
            FROM generate_series(0, %(last)s) i WHERE mod(i, 1000) >= 100""",
        "INSERT INTO video_jobs (video_id, url, state, attempts) SELECT video_id, NULL, 'done', 1 FROM transcripts",
        f"""INSERT INTO video_jobs (video_id, url, state, attempts, last_error_type, lease_expires_at)
            SELECT {vid}, NULL, CASE WHEN mod(i, 1000) < 10 THEN 'failed' WHEN mod(i, 1000) = 10 THEN 'processing'
                                     ELSE 'queued' END, 1,
                   CASE WHEN mod(i, 1000) < 10 THEN 'FetchRefused' END, now() + interval '1 hour'
            FROM generate_series(0, %(last)s) i WHERE mod(i, 1000) <= 30""",
    ]
    conn = psycopg2.connect(url)
    conn.autocommit = True
    with conn.cursor() as cur:
        for statement in statements:
            cur.execute(statement, {"last": rows - 1})
        for table in ("videos", "transcripts", "video_jobs"):
            cur.execute(f"VACUUM (ANALYZE) {table}")
        cur.execute(
            "SELECT coalesce(j.state, 'new'), count(*) FROM videos v LEFT JOIN video_jobs j ON j.video_id = v.id"
            " GROUP BY 1 ORDER BY 1"
        )
        mix = dict(cur.fetchall())
    conn.close()
    return mix


def set_indexes(url: str, present: bool) -> None:
    conn = psycopg2.connect(url)
    conn.autocommit = True
    with conn.cursor() as cur:
        for name, target in INDEXES.items():
            cur.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {target}" if present else f"DROP INDEX {name}")
        cur.execute("ANALYZE transcripts")
    conn.close()


# --- measuring ---------------------------------------------------------------------------------------
def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))]


def over_http(session: requests.Session, urls: list[str]) -> tuple[list[float], list[float]]:
    """(application ms from Server-Timing, client ms) for each URL, asked in turn."""
    app, client = [], []
    for url in urls:
        started = time.perf_counter()
        response = session.get(url, timeout=120)
        client.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (url, response.status_code, response.text[:300])
        app.append(float(re.fullmatch(r"app;dur=([\d.]+)", response.headers["Server-Timing"]).group(1)))
    return app, client


def direct(calls: list[Callable[[], Any]]) -> list[float]:
    times = []
    for call in calls:
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    return times


def row(name: str, app: list[float], client: list[float], query: list[float]) -> dict[str, Any]:
    result = {
        "scenario": name, "n": len(app), "p50": statistics.median(app), "p95": percentile(app, 95),
        "client_p95": percentile(client, 95), "query_p50": statistics.median(query),
    }  # fmt: skip
    result["ratio"] = result["p50"] / result["query_p50"] if result["query_p50"] else float("nan")
    return result


def print_rows(title: str, rows: list[dict[str, Any]]) -> None:
    print(f"\n{title}")
    print(
        f"  {'scenario':<44} {'n':>3} {'p50 ms':>9} {'p95 ms':>9} {'client p95':>11} {'query p50':>10}"
        f" {'page÷query':>11}"
    )
    for r in rows:
        print(
            f"  {r['scenario']:<44} {r['n']:>3} {r['p50']:>9.1f} {r['p95']:>9.1f} {r['client_p95']:>11.1f}"
            f" {r['query_p50']:>10.1f} {r['ratio']:>11.2f}"
        )


# --- the scenarios -----------------------------------------------------------------------------------
def catalogue_scenarios(rows: int, n: int, rng: random.Random) -> dict[str, list[str]]:
    """Name -> the query strings of its requests."""
    deep = [f"after=v{rng.randrange(rows):07d}" for _ in range(n)]
    return {
        "first page": [""] * n,
        "a page deep in the table (after=)": deep,
        "the page before one (before=)": [d.replace("after=", "before=") for d in deep],
        "state=done (90%)": ["state=done&" + d for d in deep],
        "state=new (6.9%)": ["state=new&" + d for d in deep],
        "state=failed (1%)": ["state=failed&" + d for d in deep],
        "state=processing (0.1%)": ["state=processing&" + d for d in deep],
        "language=fr (4.5%)": ["language=fr&" + d for d in deep],
        "model=gpt-transcribe (0.9%)": ["model=gpt-transcribe&" + d for d in deep],
        "language=de&model=tiny.en (1.4%)": ["language=de&model=tiny.en&" + d for d in deep],
        "id contains 09 (common)": ["q=09&" + d for d in deep],
        "id contains zzz (nothing: every id walked)": ["q=zzz"] * max(3, n // 4),
    }


def search_scenarios(n: int) -> dict[str, list[str]]:
    return {
        "hello (in every transcript)": ["hello"] * n,
        "zeppelin (one in a thousand)": ["zeppelin"] * max(3, n // 4),
        "xylophone (nowhere)": ["xylophone"] * 3,
    }


def query_of(qs: str) -> CatalogueQuery:
    pairs = dict(p.split("=", 1) for p in qs.split("&") if p)
    return catalogue_query(pairs)


def measure_catalogue(session, base, catalogue, scenarios) -> list[dict[str, Any]]:  # type: ignore[no-untyped-def]
    results = []
    for name, queries in scenarios.items():
        app, client = over_http(session, [base + ("?" + q if q else "") for q in queries])
        baseline = direct([lambda q=q: catalogue.page(query_of(q)) for q in queries])
        results.append(row(name, app, client, baseline))
    return results


def measure_search(session, base, reports, scenarios) -> list[dict[str, Any]]:  # type: ignore[no-untyped-def]
    results = []
    for name, words in scenarios.items():
        app, client = over_http(session, [f"{base}search?q={quote(w)}" for w in words])
        baseline = direct([lambda w=w: reports.search(SearchQuery(w, limit=21)) for w in words])
        results.append(row(name, app, client, baseline))
    return results


def plans(url: str, catalogue: PostgresCatalogue, rows: int) -> None:
    """EXPLAIN ANALYZE of the filtered catalogue queries as the adapter builds them."""
    conn = psycopg2.connect(url)
    middle = f"v{rows // 2:07d}"
    for qs in ("state=processing", "language=fr", "model=gpt-transcribe", "state=new", "q=zzz"):
        query = query_of(f"{qs}&after={middle}")
        statement, params = catalogue.statement(query)
        statement = sql.SQL("EXPLAIN (ANALYZE, COSTS OFF) {}").format(statement)
        with conn.cursor() as cur:
            cur.execute(statement, params)
            lines = [r[0] for r in cur.fetchall()]
        scans = [re.sub(r"\s+\(actual.*", "", line).strip(" ->") for line in lines if "Scan" in line]
        total = next((line for line in lines if line.startswith("Execution Time")), "")
        print(f"  {qs:<22} {total:<28} {'; '.join(scans)}")
    conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=20, help="requests per scenario (fewer for the worst cases)")
    parser.add_argument("--keep", action="store_true", help="keep the database")
    args = parser.parse_args()
    name = f"vidscribe_bench_web_{os.getpid()}"
    rng = random.Random(24)
    with tempfile.TemporaryDirectory() as tmp:
        admin = admin_url(Path(tmp))
        url = create_database(admin, name)
        try:
            started = time.perf_counter()
            mix = load(url, args.rows)
            print(f"loaded {args.rows:,} videos in {time.perf_counter() - started:.0f} s: "
                  + ", ".join(f"{state} {count:,}" for state, count in mix.items()))  # fmt: skip
            services = Services(Settings.from_env({}, DATABASE_URL=url))
            app, _ = web_app(services, read_only=True, host="127.0.0.1")
            server = WebServer(app, host="127.0.0.1", port=0)
            thread = server.start_thread()
            catalogue = PostgresCatalogue(services.database)
            reports = PostgresReports(services.database)
            session = requests.Session()
            over_http(session, [server.url, server.url + "search?q=warmup"])  # connections, templates
            scenarios = catalogue_scenarios(args.rows, args.requests, rng)
            print_rows(
                "Catalogue (with migration 006's indexes)", measure_catalogue(session, server.url, catalogue, scenarios)
            )
            print("\nPlans (EXPLAIN ANALYZE, from the middle of the table):")
            plans(url, catalogue, args.rows)
            print_rows("Search (full-text: GIN index, every match ranked)",
                       measure_search(session, server.url, reports, search_scenarios(args.requests)))  # fmt: skip
            filtered = {k: v for k, v in scenarios.items() if "=" in k and "contains" not in k and "after" not in k}
            filtered = {k: v[: max(3, args.requests // 4)] for k, v in filtered.items() if "before" not in k}
            set_indexes(url, present=False)
            without = measure_catalogue(session, server.url, catalogue, filtered)
            set_indexes(url, present=True)
            again = measure_catalogue(session, server.url, catalogue, filtered)
            print("\nThe filters without migration 006's indexes (the same requests, then with them again; the page")
            print("also lists the languages and models for its filters, a walk along those indexes)")
            print(
                f"  {'scenario':<36} {'query: without':>15} {'with':>7} {'ratio':>7} {'page: without':>14} {'with':>7}"
            )
            for before, after in zip(without, again, strict=True):
                print(
                    f"  {before['scenario']:<36} {before['query_p50']:>15.1f} {after['query_p50']:>7.1f}"
                    f" {before['query_p50'] / after['query_p50']:>7.0f} {before['p50']:>14.1f} {after['p50']:>7.1f}"
                )
            server.stop()
            thread.join(timeout=10)
            services.close()
        finally:
            if not args.keep:
                drop_database(admin, name)


if __name__ == "__main__":
    main()
