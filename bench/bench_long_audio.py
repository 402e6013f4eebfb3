"""Memory and time against a video's duration: 10 minutes, 1 hour and 4 hours of speech through the
OpenAI path (decoding, voice activity detection, Opus encoding, uploads), with an API that answers
at once, so that what is timed is the pipeline's own work.

    .venv/bin/python bench/bench_long_audio.py                  # 10 min, 1 h, 4 h
    .venv/bin/python bench/bench_long_audio.py --minutes 10 60  # a subset
    .venv/bin/python bench/bench_long_audio.py --model gpt-transcribe   # text only: 6 s pieces

The media: audio-only MP4s (AAC, 48 kbit/s) of the bundled speech samples looped, served over
loopback HTTP by the demo's media server and read by the real media source. Each duration runs in a
fresh process, which reports its own peak RSS (ru_maxrss) and wall time; the goals are a 4-hour
peak RSS at most 1.5x the 10-minute one, and 4 hours done in at most 90 s on this 2-core machine.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "shared")]

KEY = "sk-bench-0123456789"


class InstantApi(BaseHTTPRequestHandler):
    """OpenAI's transcription endpoint, answering every upload at once with one short segment."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    uploads = 0
    lock = threading.Lock()

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        while length > 0:
            length -= len(self.rfile.read(min(length, 1 << 20)))
        with InstantApi.lock:
            InstantApi.uploads += 1
        body = json.dumps(
            {"task": "transcribe", "language": "english", "duration": 1.0, "text": "speech",
             "segments": [{"id": 0, "start": 0.0, "end": 1.0, "text": " speech", "avg_logprob": -0.2,
                           "compression_ratio": 1.0, "no_speech_prob": 0.01}],
             "words": [{"start": 0.0, "end": 1.0, "word": "speech"}]}
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def make_media(folder: Path, seconds: int) -> Path:
    """An audio-only MP4 of ``seconds`` of speech: the samples looped, encoded once for 10 minutes,
    then its AAC packets copied (remuxed, not re-encoded) for longer files."""
    import av
    import numpy as np

    from tests.support.media_factory import load_sample_audio

    unit = folder / "unit-600.m4a"
    if not unit.exists():
        base = load_sample_audio()
        audio = np.tile(base, 600 * 16_000 // len(base) + 1)[: 600 * 16_000].astype(np.float32)
        with av.open(str(unit), mode="w", format="mp4") as out:
            stream = out.add_stream("aac", rate=16_000, layout="mono")
            stream.bit_rate = 48_000
            for start in range(0, audio.size, 160_000):
                frame = av.AudioFrame.from_ndarray(audio[start : start + 160_000].reshape(1, -1), format="flt",
                                                   layout="mono")
                frame.sample_rate, frame.pts = 16_000, start
                for packet in stream.encode(frame):
                    out.mux(packet)
            for packet in stream.encode(None):
                out.mux(packet)
    path = folder / f"speech-{seconds}.m4a"
    if path.exists() or seconds == 600:
        return unit if seconds == 600 else path
    with av.open(str(path), mode="w", format="mp4") as out:
        with av.open(str(unit)) as first:
            template = first.streams.audio[0]
            stream = out.add_stream_from_template(template)
        offset = 0
        for repeat in range(seconds // 600):
            with av.open(str(unit)) as source:
                last = 0
                for packet in source.demux(source.streams.audio[0]):
                    if packet.dts is None or (repeat and packet.dts < 0):  # the encoder's priming, once
                        continue
                    packet.pts += offset
                    packet.dts += offset
                    last = max(last, packet.pts + packet.duration)
                    packet.stream = stream
                    out.mux(packet)
                offset = last
    return path


def run_one(url: str, api: str, model: str) -> dict[str, object]:
    """In a fresh process: the media source, the speech layer and the OpenAI backend on one video."""
    from vidscribe.adapters.backends.openai_backend import OpenAIBackend
    from vidscribe.adapters.media import StreamingMediaSource
    from vidscribe.config import Settings
    from vidscribe.speech import SpeechTranscriber, build_vad

    # whisper-1 by default, as when the README's first figures were measured; gpt-transcribe sends
    # each region cut into pieces of at most 6 s: many more requests.
    settings = Settings.from_env({}, TRANSCRIBER="openai", OPENAI_MODEL=model, OPENAI_BASE_URL=api,
                                 OPENAI_API_KEY=KEY, ALLOW_PRIVATE_URLS=True, MAX_DURATION_SECONDS=5 * 3600)
    backend = OpenAIBackend(settings)
    speech = SpeechTranscriber(backend, build_vad(settings))
    started = time.perf_counter()
    transcript, audio = speech.transcribe_from(lambda sink: StreamingMediaSource(settings).fetch_audio(url, sink))
    wall = time.perf_counter() - started
    return {
        "audio_seconds": round(audio.duration, 1),
        "speech_seconds": transcript.speech_seconds,
        "uploaded_seconds": transcript.model_audio_seconds,
        "segments": len(transcript.segments),
        "wall_seconds": round(wall, 1),
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=int, nargs="*", default=[10, 60, 240])
    parser.add_argument("--model", default="whisper-1")
    parser.add_argument("--child", nargs=2, metavar=("URL", "API"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(run_one(*args.child, args.model)))
        return 0

    from vidscribe.local.media_server import MediaServer

    api = ThreadingHTTPServer(("127.0.0.1", 0), InstantApi)
    threading.Thread(target=api.serve_forever, daemon=True).start()
    api_url = f"http://127.0.0.1:{api.server_address[1]}/v1"
    rows = []
    with tempfile.TemporaryDirectory(prefix="vidscribe-long-") as tmp:
        folder = Path(tmp)
        made = time.perf_counter()
        files = {m: make_media(folder, m * 60) for m in args.minutes}
        print(f"media made in {time.perf_counter() - made:.0f} s", file=sys.stderr)
        with MediaServer(folder) as media:
            for minutes, path in files.items():
                InstantApi.uploads = 0
                child = subprocess.run(
                    [sys.executable, __file__, "--child", media.url(path.name), api_url, "--model", args.model],
                    capture_output=True, text=True, check=True,
                )
                row = {"minutes": minutes, "file_mb": round(path.stat().st_size / 1e6, 1),
                       **json.loads(child.stdout.strip().splitlines()[-1]), "requests": InstantApi.uploads}
                rows.append(row)
                print(json.dumps(row), flush=True)
    print()
    print(f"model {args.model}")
    print(f"{'duration':>9} {'file MB':>8} {'speech s':>9} {'uploaded s':>11} {'requests':>9} {'wall s':>7}"
          f" {'peak RSS MiB':>13}")
    for r in rows:
        print(f"{r['minutes']:>7} m {r['file_mb']:>8} {r['speech_seconds']:>9} {r['uploaded_seconds']:>11} "
              f"{r['requests']:>9} {r['wall_seconds']:>7} {r['peak_rss_mib']:>13}")
    by = {r["minutes"]: r for r in rows}
    if 10 in by and 240 in by:
        ratio = by[240]["peak_rss_mib"] / by[10]["peak_rss_mib"]
        print(f"peak RSS 4 h / 10 min: {ratio:.2f} (goal <= 1.5); 4 h in {by[240]['wall_seconds']} s (goal <= 90)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
