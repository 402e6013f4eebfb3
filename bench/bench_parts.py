"""Long videos in parts (issue 22): what splitting buys and what it costs, measured in one run.

1. Wall time of a 4-hour video (1 Hz audio, so decoding is cheap) through the local runtime with
   1, 2, 4 and 8 workers, against a backend stand-in that sleeps a fixed time per audio second (so
   the parallelism shows on a 2-core machine), and the speed-up against the ideal (the workers, at
   most the number of parts); the baseline is the same video in one pass (PART_SECONDS above its
   length, a budget that fits), one worker, in the same run.
3. (``--wer``) Word error rate of the transcript made in parts against the single-pass transcript,
   on real speech (the recordings of ../shared/realspeech, English, joined with 1.5 s pauses and
   repeated to ``--wer-minutes``), tiny.en with VAD, in parts of 120 s: the boundaries' cost.
4. Peak RSS of one process transcribing one part (the 4th of 8) of the camera-style MP4 against one
   process transcribing it whole, each in a fresh process (``os.wait4``), VAD on, an instant backend.
2. Bytes fetched by all parts (and the planning probe) ÷ a single-pass fetch, on a camera-style MP4
   (video dominates the bytes; 4 hours in the default parts of 30 minutes), counted at the media
   server from the ranges it answered.

    .venv/bin/python bench/bench_parts.py [--latency 0.002] [--workers 1 2 4 8]
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from pydantic import SecretStr

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from common import fresh_database

from tests.support.database import PostgresUnderTest
from tests.support.media_factory import tone, write_noise_video
from tests.support.media_server import FaultyMediaServer
from tests.support.odd_wav import wav_bytes
from tests.support.part_backends import minute_marks
from tests.support.queues import unique_queue_name
from vidscribe.adapters.sqs import create_queue_pair, sqs_client
from vidscribe.config import Settings
from vidscribe.local.embedded import MotoSqsServer
from vidscribe.local.runtime import LocalRuntime
from vidscribe.models import DecodedAudio, Span, Transcript
from vidscribe.services import Services

os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
os.environ["POWERTOOLS_METRICS_DISABLED"] = "true"
os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")

FOUR_HOURS = 4 * 3600


class LatencyBackend:
    """Sleeps ``latency`` seconds per audio second, then answers with a segment per minute."""

    name = "latency"
    model = "fixed-latency"

    def __init__(self, latency: float) -> None:
        self.latency = latency

    def seconds_for(self, audio_seconds: float) -> float:
        return 0.12 * audio_seconds  # too slow for 4 hours in one 900 s invocation: the budget splits

    def transcribe(self, audio: DecodedAudio, speech: list[Span] | None = None) -> Transcript:
        time.sleep(self.latency * audio.duration)
        return minute_marks(audio.duration, self.name, self.model)


def run(settings: Settings, store: PostgresUnderTest, video_id: str, url: str, backend: object, workers: int) -> float:
    store.add_videos([(video_id, url)])
    services = Services(settings.replace(max_workers=workers), backend=backend)  # type: ignore[arg-type]
    started = time.perf_counter()
    try:
        LocalRuntime(services, workers=workers, poll_interval=0.05).run(once=True)
    finally:
        services.close()
    elapsed = time.perf_counter() - started
    transcript = store.transcript(video_id)
    assert transcript is not None, f"{video_id}: no transcript"
    return elapsed


def served_bytes(media: FaultyMediaServer, name: str, size: int) -> int:
    """What the server answered for ``name``: each Range request's span, or the whole file."""
    total = 0
    for method, served, header in media.log:
        if served != name or method != "GET":
            continue
        match = re.fullmatch(r"bytes=(\d+)-(\d*)", header or "")
        if match is None:
            total += size
            continue
        first = int(match.group(1))
        last = min(int(match.group(2)) if match.group(2) else size - 1, size - 1)
        total += max(0, last - first + 1)
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, default=0.002, help="backend seconds per audio second")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4, 8])
    parser.add_argument("--wer", action="store_true", help="also the split-vs-single WER with the local model")
    parser.add_argument("--wer-minutes", type=float, default=10.0)
    parser.add_argument("--camera-minutes", type=float, default=240.0)
    parser.add_argument("--camera-part-seconds", type=float, default=1800.0)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp, MotoSqsServer() as sqs, FaultyMediaServer() as media:
        db = fresh_database(Path(tmp), f"vidscribe_bench_parts_{os.getpid()}")
        base = Settings.from_env(
            {}, AWS_ENDPOINT_URL=sqs.endpoint_url, RETRY_BACKOFF_SECONDS=0, ALLOW_PRIVATE_URLS=True, VAD="off"
        )
        queue_url, dlq_url = create_queue_pair(sqs_client(base), unique_queue_name("parts"), visibility_timeout=60)
        settings = base.replace(queue_url=queue_url, dlq_url=dlq_url, database_url=SecretStr(db))
        store = PostgresUnderTest(db)
        store.migrate()
        noise = np.random.default_rng(22).integers(0, 256, (FOUR_HOURS, 1), dtype=np.uint8)
        media.add_bytes("long.wav", wav_bytes(noise, 1), "audio/wav")
        backend = LatencyBackend(args.latency)

        # The baseline: one pass, one worker (PART_SECONDS above the video, a budget that fits it).
        whole = settings.replace(part_seconds=FOUR_HOURS + 1, transcriber_timeout_seconds=43_200)
        single = run(whole, store, "single", media.url("long.wav"), backend, 1)
        print(f"single pass, 1 worker: {single:.1f} s (backend sleeps {args.latency * FOUR_HOURS:.1f} s)")
        print("workers | parts | wall | speed-up vs single pass | ideal | of ideal")
        for n in args.workers:
            wall = run(settings, store, f"split-{n}", media.url("long.wav"), backend, n)
            parts = int(np.ceil(FOUR_HOURS / settings.part_seconds))
            ideal = min(n, parts)
            speedup = single / wall
            print(
                f"{n:7d} | {parts:5d} | {wall:5.1f} s | {speedup:5.2f}x | {ideal}x | {speedup / ideal:.0%}", flush=True
            )

        # Bytes: a camera-style MP4 (video ~240 kbit/s, audio 32: the index at the end), in parts vs one pass.
        seconds = args.camera_minutes * 60
        camera = Path(tmp) / "camera.mp4"
        write_noise_video(camera, total_bytes=int(seconds * 30_000), seconds=seconds, audio_from=tone(seconds, 330.0))
        size = camera.stat().st_size
        for name in ("cam-single.mp4", "cam-parts.mp4"):
            media.add_file(name, camera)
        quick = LatencyBackend(0.0)
        run(whole, store, "cam-single", media.url("cam-single.mp4"), quick, 2)
        run(
            settings.replace(part_seconds=args.camera_part_seconds),
            store,
            "cam-parts",
            media.url("cam-parts.mp4"),
            quick,
            2,
        )
        one = served_bytes(media, "cam-single.mp4", size)
        split = served_bytes(media, "cam-parts.mp4", size)
        peak_rss(media.url("cam-single.mp4"), seconds, args.camera_part_seconds)
        print(
            f"camera-style MP4 ({size / 1e6:.0f} MB, {args.camera_minutes:.0f} min) in parts of "
            f"{args.camera_part_seconds:.0f} s: "
            f"{split / 1e6:.1f} MB fetched vs {one / 1e6:.1f} MB in one pass: ratio {split / one:.2f} (goal <= 1.1)"
        )
        if args.wer:
            split_wer(media, args.wer_minutes)
        store.close()


def peak_rss(url: str, seconds: float, part_seconds: float) -> None:
    """Peak RSS of a fresh process transcribing one part of ``url``, and the whole of it."""
    from tests.support.peak_rss import run_measured

    count = int(np.ceil(seconds / part_seconds))
    env = {**os.environ, "ALLOW_PRIVATE_URLS": "true", "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    me = [sys.executable, str(Path(__file__).resolve()), "--child", url]
    part = run_measured([*me, str(count // 2), str(count), str(part_seconds)], env, timeout=600)
    whole = run_measured(me, env, timeout=600)
    assert part.returncode == 0 and whole.returncode == 0, (part.stderr[-2000:], whole.stderr[-2000:])
    # The child's own high-water mark (VmHWM): wait4's ru_maxrss starts from this big parent's at exec.
    print(
        f"peak RSS, one process: part {count // 2 + 1} of {count}: {float(part.stdout):.0f} MiB "
        f"({part.seconds:.1f} s); "
        f"the whole video: {float(whole.stdout):.0f} MiB ({whole.seconds:.1f} s)"
    )


def child(argv: list[str]) -> None:
    """``--child URL [INDEX COUNT PART_SECONDS]``: transcribe one part of URL, or the whole of it."""
    from vidscribe.adapters.media import StreamingMediaSource
    from vidscribe.models import PartRange
    from vidscribe.workflow.one_source import SourceTranscriber

    settings = Settings.from_env({}, ALLOW_PRIVATE_URLS=True)
    source = SourceTranscriber(settings, StreamingMediaSource(settings), LatencyBackend(0.0))  # type: ignore[arg-type]
    if len(argv) == 1:
        source.transcribe(argv[0])
    else:
        url, index, count, part_seconds = argv[0], int(argv[1]), int(argv[2]), float(argv[3])
        part = PartRange(index, count, index * part_seconds, (index + 1) * part_seconds)
        source.transcribe_part(url, part, lambda _, at: at)
    status = Path("/proc/self/status").read_text()
    print(int(re.search(r"VmHWM:\s+(\d+) kB", status).group(1)) / 1024)  # type: ignore[union-attr]


REALSPEECH = Path(__file__).resolve().parents[2] / "shared" / "realspeech"


def split_wer(media: FaultyMediaServer, minutes: float) -> None:
    """The local model's transcript of long real speech in parts of 120 s against its single pass."""
    from tests.support.text import word_error_rate as wer
    from vidscribe.adapters.backends.local_whisper import LocalWhisperBackend
    from vidscribe.adapters.media import StreamingMediaSource, open_local_audio
    from vidscribe.models import PartRange
    from vidscribe.workflow.one_source import SourceTranscriber
    from vidscribe.workflow.parts import assemble, plan_ranges

    names = ["single-mic-example1.wav", "single-mic-example5.wav", "single-mic-example6.wav", "vad-train.wav",
             "vad-valid.wav", "hotwords.mp3", "multilingual/leopard_en.wav"]  # fmt: skip
    pause = np.zeros(int(1.5 * 16_000), dtype=np.float32)
    clips = [c for name in names for c in (open_local_audio(REALSPEECH / name, 3600).samples, pause)]
    one_round = np.concatenate(clips)
    rounds = int(np.ceil(minutes * 60 * 16_000 / len(one_round)))
    speech = np.tile(one_round, rounds)[: int(minutes * 60 * 16_000)]
    frames = np.clip(speech * 32767, -32768, 32767).astype(np.int16)
    media.add_bytes("speech.wav", wav_bytes(frames, 16_000), "audio/wav")
    settings = Settings.from_env({}, ALLOW_PRIVATE_URLS=True, WHISPER_MODEL="tiny.en")
    backend = LocalWhisperBackend(settings)
    source = SourceTranscriber(settings, StreamingMediaSource(settings), backend)
    url = media.url("speech.wav")
    single, _ = source.transcribe(url)
    ranges = plan_ranges(len(speech) / 16_000, 120.0)
    cuts: dict[int, float] = {}
    parts = [
        source.transcribe_part(url, PartRange(i, len(ranges), r.start, r.end), lambda j, at: cuts.setdefault(j, at))[0]
        for i, r in enumerate(ranges)
    ]
    split = assemble(parts)
    again, _ = source.transcribe(url)  # the baseline's own noise: a second single pass
    words = len(single.text.split())
    rate = wer(single.text, split.text)
    print(f"a second single pass against the first: WER {wer(single.text, again.text):.4f}")
    print(
        f"real speech, {minutes:.0f} min, tiny.en, {len(ranges)} parts ({len(ranges) - 1} boundaries): "
        f"WER of the split transcript against the single pass {rate:.4f} ({rate * words:.1f} of {words} words; "
        f"{len(split.text.split())} words in parts)"
    )


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        child(sys.argv[2:])
    else:
        main()
