"""The fetcher's selection can be answered from indexes, so it stays cheap on a large videos table.

At a few thousand rows the planner rightly prefers a Seq Scan (the whole table is a handful of pages),
so this test prices sequential scans out (``enable_seqscan = off``, in its own transaction) and asks
whether an index-only plan of the very statement ``reserve_pending`` runs exists, and through which
indexes. A rewrite that defeats them (the "finished or live job" check back as one OR, a cast on a
join column) or a lost index fails here. That the planner chooses this plan by itself at a million
rows is shown by ``bench/bench_fetcher_scale.py``.
"""

from __future__ import annotations

import re

import psycopg2

from tests.support.database import PostgresUnderTest
from tests.support.sql_capture import statement_of


def reserve_pending_statement(database_url: str, limit: int) -> str:
    return statement_of(
        database_url, lambda store: store.reserve_pending(limit, queued_lease_seconds=600, queue_url="q")
    )


def test_selection_is_answered_from_indexes_when_most_videos_are_transcribed(
    store: PostgresUnderTest, database_url: str
) -> None:
    # Given 3,000 videos, 2,700 of them transcribed with a done job, 100 queued on this queue with a live lease,
    # and the statistics up to date
    conn = psycopg2.connect(database_url)
    conn.autocommit = True
    vid = "'v' || lpad(i::text, 5, '0')"
    with conn.cursor() as cur:
        cur.execute(f"INSERT INTO videos (id, url) SELECT {vid}, 'http://x/' || i FROM generate_series(0, 2999) i")
        cur.execute(
            "INSERT INTO transcripts (video_id, text, segments, language, duration_seconds, backend, model)"
            f" SELECT {vid}, 'x', '[]', 'en', 1, 'local', 'tiny.en' FROM generate_series(0, 2699) i"
        )
        cur.execute(
            f"INSERT INTO video_jobs (video_id, url, state) SELECT {vid}, 'u', 'done' FROM generate_series(0, 2699) i"
        )
        cur.execute(
            "INSERT INTO video_jobs (video_id, url, state, lease_expires_at, queue_url)"
            f" SELECT {vid}, 'u', 'queued', now() + interval '1 hour', 'q' FROM generate_series(2700, 2799) i"
        )
        for table in ("videos", "transcripts", "video_jobs"):
            cur.execute(f"VACUUM (ANALYZE) {table}")

    # When the planner may not scan a table sequentially
    statement = reserve_pending_statement(database_url, limit=100)
    try:
        with conn.cursor() as cur:
            cur.execute("BEGIN")
            cur.execute("SET LOCAL enable_seqscan = off")
            cur.execute("EXPLAIN (ANALYZE, COSTS OFF) " + statement)
            plan = "\n".join(row[0] for row in cur.fetchall())
            cur.execute("ROLLBACK")  # EXPLAIN ANALYZE ran the reservation: undo it
    finally:
        conn.close()

    # Then it still has a plan, and every table is reached through an index
    assert "Seq Scan" not in plan, plan
    used = set(re.findall(r"Scan using (\w+)", plan))
    assert {"videos_pkey", "transcripts_pkey", "video_jobs_finished", "video_jobs_in_flight"} <= used, plan
    # and the plan reserved the 200 eligible videos' first 100
    assert re.search(r"Insert on video_jobs .*rows=100 ", plan), plan
    # (and nothing stays reserved: the EXPLAIN ANALYZE was rolled back)
    assert [v.video_id for v in store.reserve_pending(1, queued_lease_seconds=600, queue_url="q")] == ["v02800"]
