"""What do unusable rows in VIDEOS_TABLE cost the fetcher?

In one run, against a fresh database of --rows videos, --untranscribed of them without a transcript
(the ``newest`` layout of bench_fetcher_scale.py: the id-ordered walk passes every transcribed video
first, the worst case):

1. --bad rows whose ids are 300 characters long (over the 256 the pipeline takes, yet short enough
   to sit in the videos table's own index), sorting first among the untranscribed: one Fetcher.run
   meets them all, records each under its stand-in id, and queues the good videos of its batch in
   the same run;
2. the selection (the very statement ``reserve_pending`` runs, limit --batch) with the bad rows
   recorded (each passed over by one probe of its stand-in's job), against the same selection with
   the bad rows deleted (in a transaction rolled back: the baseline), the good videos' jobs removed
   so that both select what a first run would: --repeats EXPLAIN ANALYZE of each, alternated so
   that the machine's load weighs on both alike; the medians and their ratio.

Both plans are checked for a Seq Scan.

    .venv/bin/python bench/bench_fetcher_bad_rows.py [--rows 1000000] [--untranscribed 100000]
        [--batch 10000] [--bad 100] [--repeats 7]

Exits non-zero when a check fails.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

import psycopg2

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "shared"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ["POWERTOOLS_METRICS_DISABLED"] = "true"

from bench_fetcher_scale import RecordingQueue, load, scans
from common import admin_url, create_database, drop_database

from tests.support.database import PostgresUnderTest
from tests.support.sql_capture import statement_of
from vidscribe.config import Settings
from vidscribe.observability import logger
from vidscribe.workflow import Fetcher

logger.setLevel("ERROR")  # no warning line per bad row

failures: list[str] = []


def check(ok: bool, what: str) -> None:
    print(f"  check: {what}: {'ok' if ok else 'FAILED'}")
    if not ok:
        failures.append(what)


def execution_ms(url: str, statement: str, before: str | None = None) -> tuple[float, list[str]]:
    """One EXPLAIN ANALYZE of ``statement`` (after ``before``, if given), in a transaction rolled back:
    its Execution Time (ms) and its scans."""
    conn = psycopg2.connect(url)
    try:
        with conn.cursor() as cur:
            if before:
                cur.execute(before)
            cur.execute("EXPLAIN (ANALYZE) " + statement)
            plan = [row[0] for row in cur.fetchall()]
    finally:
        conn.rollback()
        conn.close()
    line = next(line for line in plan if line.startswith("Execution Time"))
    return float(re.search(r"([\d.]+) ms", line).group(1)), scans(plan)  # type: ignore[union-attr]


def add_bad_rows(url: str, count: int, first_untranscribed: int) -> None:
    """Rows whose ids (300 characters) sort right after the first untranscribed video's."""
    prefix = f"v{first_untranscribed:07d}-"
    conn = psycopg2.connect(url)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(
            "INSERT INTO videos (id, url) SELECT %s || lpad(i::text, 4, '0') || repeat('x', %s),"
            " 'https://media.example.com/bad-' || i || '.mp4' FROM generate_series(1, %s) i",
            (prefix, 300 - len(prefix) - 4, count),
        )
        cur.execute("VACUUM (ANALYZE) videos")
    conn.close()


def forget_queued_jobs(url: str) -> None:
    conn = psycopg2.connect(url)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("DELETE FROM video_jobs WHERE state = 'queued'")
        cur.execute("VACUUM (ANALYZE) video_jobs")
    conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--untranscribed", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=10_000)
    parser.add_argument("--bad", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    if not 0 < args.bad < args.batch <= args.untranscribed <= args.rows:
        parser.error("need 0 < --bad < --batch <= --untranscribed <= --rows")

    started = time.perf_counter()
    name = f"vidscribe_bench_bad_rows_{os.getpid()}"
    with tempfile.TemporaryDirectory() as tmp:
        admin = admin_url(Path(tmp))
        url = create_database(admin, name)
        try:
            seconds = load(url, args.rows, args.untranscribed, "newest")
            print(f"loaded {args.rows:,} videos, {args.rows - args.untranscribed:,} transcribed, in {seconds:.1f} s")

            print(f"\n1. {args.bad} rows with 300-character ids, met by one Fetcher.run")
            add_bad_rows(url, args.bad, args.rows - args.untranscribed)
            store = PostgresUnderTest(url)
            queue = RecordingQueue()
            settings = Settings.from_env({}, DATABASE_URL=url, FETCH_BATCH_SIZE=args.batch, QUEUE_HIGH_WATER=10**7)
            run_started = time.perf_counter()
            result = Fetcher(settings, store, queue).run()
            run_seconds = time.perf_counter() - run_started
            recorded = [r for r in store.failures() if "300 characters long" in r.message]
            store.close()
            print(f"  Fetcher.run: {result.enqueued:,} queued and {len(recorded)} recorded in {run_seconds:.2f} s")
            check(result.enqueued == args.batch - args.bad, "the good videos of the batch were queued in that run")
            check(len(recorded) == args.bad, "every bad row has its record")

            print(f"\n2. the selection (limit {args.batch:,}) with the {args.bad} bad rows recorded, and without them")
            forget_queued_jobs(url)
            statement = statement_of(url, lambda s: s.reserve_pending(args.batch, 86_400, queue_url="q"))
            without_bad = "DELETE FROM videos WHERE length(id) = 300"
            execution_ms(url, statement)  # warm the cache
            timings: dict[str, list[float]] = {"with": [], "without": []}
            seq_scans = []
            for _ in range(args.repeats):
                for which, before in (("with", None), ("without", without_bad)):
                    ms, found = execution_ms(url, statement, before)
                    timings[which].append(ms)
                    seq_scans += [s for s in found if "Seq Scan" in s]
            check(not seq_scans, "no Seq Scan in any of the plans")
            for which, values in timings.items():
                print(f"  {which:<7} the bad rows: " + ", ".join(f"{t:.0f}" for t in values) + " ms")
            with_bad, clean = statistics.median(timings["with"]), statistics.median(timings["without"])
            print(f"\n  median {with_bad:.0f} ms with {args.bad} recorded bad rows vs {clean:.0f} ms without: "
                  f"ratio {with_bad / clean:.3f}")
        finally:
            drop_database(admin, name)
    print(f"\ntotal {time.perf_counter() - started:.0f} s; "
          + ("all checks passed" if not failures else f"FAILED: {'; '.join(failures)}"))
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
