#!/usr/bin/env python
"""Bytes fetched / file size and HTTP requests when extracting audio over HTTP.

Generates a few-MB MP4 (noise video, speech audio) with its index at the front and the same with
its index at the end, serves both with the product's local media server, extracts the audio with
the source's seekable Range reader (``StreamingMediaSource.open``: one read-ahead block at a time,
where the demuxer reads) at several read-ahead sizes, and prints what was fetched. Goals at the
default 1 MiB read-ahead: <= 1.05 (index at the front) and <= 1.10 (index at the end).

    .venv/bin/python bench/bench_media_bytes.py
    .venv/bin/python bench/bench_media_bytes.py --mb 20 --seconds 120
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # for tests.support (the benchmark reuses the test media factory)

MB = 1_000_000
MiB = 1024 * 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mb", type=float, default=5, help="file size in MB (default 5)")
    parser.add_argument("--seconds", type=float, default=30, help="duration (default 30)")
    args = parser.parse_args()

    from tests.support.media_factory import load_sample_audio, make_noise_video
    from vidscribe.adapters.media import StreamingMediaSource, decode_audio
    from vidscribe.adapters.media.containers.formats import mp4_index_at_end
    from vidscribe.config import Settings
    from vidscribe.local.media_server import MediaServer

    speech = load_sample_audio()
    end = make_noise_video(int(args.mb * MB), args.seconds, audio_from=speech, faststart=False)
    front = make_noise_video(int(args.mb * MB), args.seconds, audio_from=speech, faststart=True)
    assert mp4_index_at_end(end) and not mp4_index_at_end(front)

    goals = {"front.mp4": 1.05, "end.mp4": 1.10}
    failed = False
    with tempfile.TemporaryDirectory(prefix="vidscribe-bench-") as tmp:
        folder = Path(tmp)
        (folder / "front.mp4").write_bytes(front)
        (folder / "end.mp4").write_bytes(end)
        print(
            f"{'file':10} {'size MB':>8} {'read-ahead':>10} {'fetched/size':>12} {'sent/size':>9} "
            f"{'requests':>8} {'seconds':>7}"
        )
        for read_ahead in (256 * 1024, MiB, 4 * MiB):
            for name in ("front.mp4", "end.mp4"):
                size = (folder / name).stat().st_size
                with MediaServer(folder) as server:
                    started = time.perf_counter()
                    settings = Settings.from_env({"ALLOW_PRIVATE_URLS": "true", "READ_AHEAD_BYTES": str(read_ahead)})
                    with StreamingMediaSource(settings).open(server.url(name)) as reader:
                        audio = decode_audio(reader, max_duration_seconds=3600)
                    wall = time.perf_counter() - started
                    ratio = reader.bytes_fetched / size
                    sent = server.bytes_sent / size
                    goal = goals[name] if read_ahead == MiB else None
                    verdict = "" if goal is None else (f"  goal <= {goal}: " + ("ok" if ratio <= goal else "MISSED"))
                    failed |= goal is not None and ratio > goal
                    print(
                        f"{name:10} {size / MB:8.2f} {read_ahead // 1024:>7} KiB {ratio:12.3f} {sent:9.3f} "
                        f"{server.requests:8d} {wall:7.2f}{verdict}"
                    )
                    assert abs(audio.duration - args.seconds) < 0.5
        # For comparison: a server without Range support (only the index-at-front file can stream).
        with MediaServer(folder, range_support=False) as server:
            size = (folder / "front.mp4").stat().st_size
            settings = Settings.from_env({"ALLOW_PRIVATE_URLS": "true"})
            with StreamingMediaSource(settings).open(server.url("front.mp4")) as reader:
                decode_audio(reader, max_duration_seconds=3600)
            print(
                f"{'front.mp4':10} {size / MB:8.2f} {'no Range':>10} {reader.bytes_fetched / size:12.3f} "
                f"{server.bytes_sent / size:9.3f} {server.requests:8d}"
            )
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
