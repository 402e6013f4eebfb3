#!/usr/bin/env python
"""Peak memory of extracting the audio of a big video vs a small one with the same audio duration.

Generates (in a temporary folder: benchmarks may use temp files, the product never does) a ~500 MB
MP4 and a ~5 MB MP4 carrying the same N seconds of speech, serves them with the product's local
media server, and extracts the audio of each in a fresh child process through
``StreamingMediaSource.fetch_audio``. Each child reports its peak RSS (VmHWM). Goal: big / small <= 1.2.

    .venv/bin/python bench/bench_media_memory.py                 # ~500 MB vs ~5 MB, 60 s of audio
    .venv/bin/python bench/bench_media_memory.py --big-mb 100    # a quicker run
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # for tests.support (the benchmark reuses the test media factory)

MB = 1_000_000


def vm_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def child(url: str, read_ahead: int) -> None:
    """Runs in a fresh process: extract the audio once, print figures as JSON."""
    from vidscribe.adapters.media import StreamingMediaSource
    from vidscribe.config import Settings

    settings = Settings.from_env({"ALLOW_PRIVATE_URLS": "true", "READ_AHEAD_BYTES": str(read_ahead)})
    source = StreamingMediaSource(settings)
    baseline = vm_kib("VmRSS")
    started = time.perf_counter()
    audio = source.fetch_audio(url)
    wall = time.perf_counter() - started
    print(
        json.dumps(
            {
                "peak_rss_mb": vm_kib("VmHWM") / 1024,
                "baseline_rss_mb": baseline / 1024,
                "audio_seconds": audio.duration,
                "audio_mb": audio.samples.nbytes / 1024 / 1024,
                "bytes_fetched": audio.source_bytes,
                "wall_seconds": wall,
            }
        )
    )


def measure(url: str, read_ahead: int) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--child", url, "--read-ahead", str(read_ahead)],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--big-mb", type=float, default=500, help="size of the big video in MB (default 500)")
    parser.add_argument("--small-mb", type=float, default=5, help="size of the small video in MB (default 5)")
    parser.add_argument("--seconds", type=float, default=60, help="audio duration of both videos (default 60)")
    parser.add_argument("--faststart", action="store_true", help="index at the front (default: at the end)")
    parser.add_argument("--read-ahead", type=int, default=1024 * 1024, help="READ_AHEAD_BYTES (default 1 MiB)")
    parser.add_argument("--child", metavar="URL", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.read_ahead)
        return 0

    from tests.support.media_factory import load_sample_audio, write_noise_video
    from vidscribe.local.media_server import MediaServer

    speech = load_sample_audio()
    with tempfile.TemporaryDirectory(prefix="vidscribe-bench-") as tmp:
        folder = Path(tmp)
        sizes = {}
        for name, mb in (("small", args.small_mb), ("big", args.big_mb)):
            started = time.perf_counter()
            path = folder / f"{name}.mp4"
            write_noise_video(
                path, total_bytes=int(mb * MB), seconds=args.seconds, audio_from=speech, faststart=args.faststart
            )
            sizes[name] = path.stat().st_size
            print(
                f"generated {name}.mp4: {sizes[name] / MB:.1f} MB, {args.seconds:.0f} s of audio, index at the "
                f"{'front' if args.faststart else 'end'} ({time.perf_counter() - started:.1f} s)"
            )
        results = {}
        with MediaServer(folder) as server:
            for name in ("small", "big"):
                server.reset_counters()
                results[name] = r = measure(server.url(f"{name}.mp4"), args.read_ahead)
                r["requests"] = server.requests
                print(
                    f"{name:5}: peak RSS {r['peak_rss_mb']:6.1f} MB (after imports {r['baseline_rss_mb']:5.1f} MB), "
                    f"audio {r['audio_seconds']:.1f} s = {r['audio_mb']:.1f} MB float32, "
                    f"fetched {r['bytes_fetched'] / MB:7.1f} MB of {sizes[name] / MB:.1f} MB "
                    f"in {r['requests']} requests, "
                    f"{r['wall_seconds']:.2f} s"
                )
    ratio = results["big"]["peak_rss_mb"] / results["small"]["peak_rss_mb"]
    growth = results["big"]["peak_rss_mb"] - results["small"]["peak_rss_mb"]
    print(
        f"peak RSS big / small = {ratio:.3f} (goal <= 1.2; {growth:+.1f} MB for a "
        f"{sizes['big'] / sizes['small']:.0f}x larger file)"
    )
    return 0 if ratio <= 1.2 else 1


if __name__ == "__main__":
    raise SystemExit(main())
