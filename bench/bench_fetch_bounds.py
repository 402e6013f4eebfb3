#!/usr/bin/env python
"""What hostile sources cost: the time each takes against FETCH_TOTAL_TIMEOUT_SECONDS, and the peak memory
of HLS objects far larger than the fetch window.

Time (in this process, against the product's test media server on loopback): a response head sent one
byte a second, an endless ``100 Continue``, a body trickled 64 bytes at a time, a name with twenty
addresses that each swallow the connection attempt (connect timeout 1 s), and a resolver that does not
answer, each fetched with a total of ``--total`` seconds. Baseline: the total itself (ratio 1.00 = ended
exactly at the deadline; before, the first two and the slow resolver never ended, and twenty black
holes took twenty connect timeouts).

Memory (each in a fresh child process, which reports its VmHWM): an fMP4 playlist with a 40 KB init
section (the baseline), the same with a 1 GiB init section sent without Content-Length, and a TS
playlist of six 300 MiB segments (real audio padded with null packets), with HLS_MAX_SEGMENT_BYTES
raised so that they are read. Goal: each peak <= 1.5x the baseline's.

    .venv/bin/python bench/bench_fetch_bounds.py              # ~45 s
    .venv/bin/python bench/bench_fetch_bounds.py --total 2    # quicker
"""

from __future__ import annotations

import argparse
import ipaddress
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for tests.support

from tests.support.fetch_child import fetch_in_child
from tests.support.hls_factory import GiantInit, PaddedSegment, fmp4_segments, hls_set, media_playlist
from tests.support.media_factory import load_sample_audio, make_video
from tests.support.media_server import BlackHoles, FaultyMediaServer
from vidscribe.adapters.media import StreamingMediaSource
from vidscribe.config import Settings

MiB = 1024 * 1024


def timed(media: StreamingMediaSource, url: str) -> tuple[float, str]:
    started = time.monotonic()
    try:
        media.fetch_audio(url)
        outcome = "ok"
    except Exception as exc:  # a benchmark reports whatever happened
        outcome = type(exc).__name__
    return time.monotonic() - started, outcome


def time_cases(server: FaultyMediaServer, total: float) -> None:
    server.add_bytes("clip.mp4", make_video(1.0))
    server.slow_head("slow-head.mp4", interval=1.0)
    server.endless_continue("continue.mp4")
    server.trickle("trickle.mp4", bytes(8 * MiB), chunk=64, interval=0.05)
    release = threading.Event()

    def slow_resolver(host: str, port: int):
        release.wait(60)
        return [ipaddress.ip_address("127.0.0.1")]

    env = {"ALLOW_PRIVATE_URLS": "true", "HTTP_READ_TIMEOUT": "10", "HTTP_CONNECT_TIMEOUT": "1"}
    settings = Settings.from_env(env)
    with BlackHoles(20) as holes:
        def holes_resolver(host: str, port: int):
            return [ipaddress.ip_address(a) for a in holes.addresses]

        cases = [
            ("a well-behaved 1 s clip (control)", server.url("clip.mp4"), None),
            ("response head, one byte a second", server.url("slow-head.mp4"), None),
            ("100 Continue for ever", server.url("continue.mp4"), None),
            ("body trickled, 64 bytes / 50 ms", server.url("trickle.mp4"), None),
            ("20 black-holed addresses, connect timeout 1 s", f"http://many.test:{holes.port}/x.mp4", holes_resolver),
            ("a resolver that never answers", f"http://slow-dns.test:{server.port}/clip.mp4", slow_resolver),
        ]
        print(f"FETCH_TOTAL_TIMEOUT_SECONDS = {total:g}")
        for name, url, resolver in cases:
            media = StreamingMediaSource(settings, total_timeout_seconds=total, resolver=resolver)
            seconds, outcome = timed(media, url)
            print(f"  {name:46} {seconds:6.3f} s  = {seconds / total:5.3f} x the total  ({outcome})")
    release.set()


def memory_cases(server: FaultyMediaServer) -> int:
    audio = load_sample_audio()
    init, segments = fmp4_segments(20, audio)
    names = [f"s{i}.m4s" for i in range(len(segments))]
    for name, data in zip(names, segments, strict=True):
        server.add_bytes(f"fmp4/{name}", data)
    server.add_bytes("fmp4/small-init.mp4", init)
    server.add_virtual("fmp4/giant-init.mp4", GiantInit(init, 1024 * MiB))
    server.unsized("fmp4/giant-init.mp4")
    for kind in ("small", "giant"):
        playlist = media_playlist(names, [20 / len(names)] * len(names), init=f"{kind}-init.mp4")
        server.add_bytes(f"fmp4/{kind}.m3u8", playlist.encode())
    ts = hls_set(audio, 30, segment_seconds=5, video_bytes=100_000)
    ts_names = sorted(n for n in ts if n.startswith("a") and n.endswith(".ts"))
    for name in ts_names:
        server.add_virtual(f"ts/{name}", PaddedSegment(ts[name], 300 * MiB))
    server.add_bytes("ts/big.m3u8", media_playlist(ts_names, [5.0] * len(ts_names)).encode())
    raised = {"HLS_MAX_SEGMENT_BYTES": str(2048 * MiB)}
    runs = [
        ("40 KB init section (baseline)", "fmp4/small.m3u8", {}),
        ("1 GiB init section, no Content-Length", "fmp4/giant.m3u8", raised),
        (f"{len(ts_names)} TS segments of 300 MiB", "ts/big.m3u8", raised),
        ("1 GiB init section, default cap (256 MiB)", "fmp4/giant.m3u8", {}),
    ]
    baseline = None
    worst = 0.0
    for name, path, env in runs:
        started = time.monotonic()
        report = fetch_in_child(server.url(path), **env)
        seconds = time.monotonic() - started
        peak = report["peak_rss"] / MiB
        baseline = baseline or peak
        worst = max(worst, peak / baseline)
        fetched = "      –" if report["bytes_fetched"] is None else f"{report['bytes_fetched'] / MiB:7.1f}"
        print(
            f"  {name:42} peak RSS {peak:6.1f} MiB = {peak / baseline:4.2f} x  "
            f"{fetched} MiB decoded from, {seconds:4.1f} s with the child's start  ({report['outcome']})"
        )
    print(f"worst peak / baseline = {worst:.2f} (goal <= 1.5)")
    return 0 if worst <= 1.5 else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--total", type=float, default=5.0, help="FETCH_TOTAL_TIMEOUT_SECONDS (default 5)")
    args = parser.parse_args()
    with FaultyMediaServer() as server:
        time_cases(server, args.total)
        return memory_cases(server)


if __name__ == "__main__":
    raise SystemExit(main())
