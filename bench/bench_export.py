"""Export throughput: ``vidscribe export``'s loop (keyset pages from PostgreSQL, render, atomic write)
in files a second, for each format, to a local directory.

One run on this machine, against a fresh database of --videos transcripts of --segments segments
each (about 7 s of speech per segment, ~12 words), built with generate_series. For each format:

- baseline: the same pages read and rendered, nothing written (what the loop cannot go below);
- fresh:    every file written (temporary file, fsync, rename);
- resumed:  the same export again, every file already current (read back and compared, none written).

Usage: .venv/bin/python bench/bench_export.py [--videos 1000] [--segments 20]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import psycopg2

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "shared"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ["POWERTOOLS_LOG_LEVEL"] = "WARNING"

from common import admin_url, create_database, drop_database

from vidscribe.adapters.export_targets import DirectoryTarget, file_name
from vidscribe.adapters.postgres import PostgresReports
from vidscribe.config import Settings
from vidscribe.export import render
from vidscribe.models import TranscriptFilter
from vidscribe.services import Services
from vidscribe.workflow.exporting import EXPORT_BATCH, export_transcripts


def load(url: str, videos: int, segments: int) -> None:
    words = "'the quarterly refund policy changed and refunds are now processed within five working days'"
    statement = f"""
        INSERT INTO transcripts (video_id, text, segments, language, duration_seconds, backend, model,
                                 speech_seconds, no_speech, model_audio_seconds, cost_usd)
        SELECT 'video/' || i || '/talk ' || i, {words},
               (SELECT jsonb_agg(jsonb_build_object('start', n * 7.0, 'end', n * 7.0 + 6.5,
                                                    'text', {words} || ' ' || n) ORDER BY n)
                FROM generate_series(0, %(segments)s - 1) n),
               'en', %(segments)s * 7.0, 'local', 'base', %(segments)s * 6.5, false, %(segments)s * 6.5, 0
        FROM generate_series(1, %(videos)s) i"""
    conn = psycopg2.connect(url)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(statement, {"videos": videos, "segments": segments})
        cur.execute("VACUUM (ANALYZE) transcripts")
    conn.close()


def render_only(reports: PostgresReports, fmt: str) -> int:
    """The baseline: every page read and every file rendered, nothing written."""
    count, after = 0, None
    while page := reports.transcript_page(TranscriptFilter(), after, EXPORT_BATCH):
        for transcript in page:
            render(transcript, fmt).encode("utf-8")
            count += 1
        after = page[-1].video_id
    return count


def timed(work) -> tuple[float, int]:  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    files = work()
    return time.perf_counter() - started, files


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--videos", type=int, default=1000)
    parser.add_argument("--segments", type=int, default=20)
    args = parser.parse_args()
    name = f"vidscribe_bench_export_{os.getpid()}"
    with tempfile.TemporaryDirectory() as tmp:
        admin = admin_url(Path(tmp))
        url = create_database(admin, name)
        try:
            load(url, args.videos, args.segments)
            services = Services(Settings.from_env({}, DATABASE_URL=url))
            reports = PostgresReports(services.database)
            print(f"{args.videos:,} transcripts of {args.segments} segments, {os.cpu_count()} CPUs")
            print(
                f"  {'format':<6} {'baseline f/s':>13} {'fresh f/s':>10} {'ratio':>6} {'resumed f/s':>12} {'ratio':>6}"
            )
            for fmt in ("srt", "vtt", "json", "txt"):
                base_s, base_n = timed(lambda: render_only(reports, fmt))  # noqa: B023
                target = DirectoryTarget(Path(tmp) / fmt)

                def export() -> int:
                    tally = export_transcripts(reports, TranscriptFilter(), fmt, target, file_name)  # noqa: B023
                    return tally.written + tally.current

                fresh_s, fresh_n = timed(export)
                again_s, again_n = timed(export)
                assert base_n == fresh_n == again_n == args.videos
                base, fresh, again = base_n / base_s, fresh_n / fresh_s, again_n / again_s
                print(
                    f"  {fmt:<6} {base:>13.0f} {fresh:>10.0f} {fresh / base:>6.2f} {again:>12.0f} {again / base:>6.2f}"
                )
            services.close()
        finally:
            drop_database(admin, name)


if __name__ == "__main__":
    main()
