"""How many bytes the OpenAI backend uploads per minute of audio, and what a 3-hour input costs.

Runs the real ``OpenAIBackend`` (official SDK, real HTTP) against the local OpenAI-compatible server
of ``tests/support/openai_server.py``, started in a child process so that the figures for memory
are the client's alone. Two measurements:

1. a generated 3-hour input (float32 in memory, ~660 MiB), transcribed with the default settings
   (20-minute chunks, 2 in parallel): chunk count, upload sizes, wall time, and the client's RSS
   during the transcription over the baseline that holds the samples; optionally (--byte-bound)
   again with chunks limited by the 24 MiB upload bound only;
2. bytes uploaded per minute of speech: the bundled samples (``samples/manifest.json``, real
   espeak-ng speech) looped with pauses, if present; always also a synthetic speech-like signal.

    .venv/bin/python bench/bench_upload_size.py [--minutes 5] [--hours 3] [--format ogg] [--byte-bound]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import sys
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from vidscribe.adapters.backends.openai_backend import OpenAIBackend  # noqa: E402
from vidscribe.config import Settings  # noqa: E402
from vidscribe.models import SAMPLE_RATE, DecodedAudio  # noqa: E402

SR = SAMPLE_RATE
API_KEY = "sk-bench-local-key"
MiB = 1024 * 1024


# --- the server, in its own process --------------------------------------------------------------
def _serve(conn) -> None:  # runs in the child process
    from tests.support.openai_server import OpenAITranscriptionServer

    with OpenAITranscriptionServer(api_key=API_KEY) as server:
        conn.send(server.base_url)
        while True:
            command = conn.recv()
            if command == "requests":
                conn.send([(r.status, r.size, r.body_size, r.duration) for r in server.requests])
                server.reset()
            elif command == "stop":
                return


class ServerProcess:
    def __enter__(self) -> ServerProcess:
        context = multiprocessing.get_context("spawn")
        self._conn, child = context.Pipe()
        self._process = context.Process(target=_serve, args=(child,), daemon=True)
        self._process.start()
        self.base_url = self._conn.recv()
        return self

    def take_requests(self) -> list[tuple[int, int, int, float | None]]:
        self._conn.send("requests")
        return self._conn.recv()

    def __exit__(self, *exc: object) -> None:
        self._conn.send("stop")
        self._process.join(timeout=10)


# --- audio ---------------------------------------------------------------------------------------
def sample_speech() -> np.ndarray | None:
    """The bundled sample clips decoded to 16 kHz mono, joined with 0.6 s pauses; None if absent."""
    manifest = ROOT / "samples" / "manifest.json"
    if not manifest.is_file():
        return None
    import av

    pieces = []
    for entry in json.loads(manifest.read_text()):
        with av.open(str(manifest.parent / entry["file"])) as container:
            resampler = av.AudioResampler(format="flt", layout="mono", rate=SR)
            for frame in container.decode(audio=0):
                pieces.extend(f.to_ndarray().reshape(-1) for f in resampler.resample(frame))
            pieces.extend(f.to_ndarray().reshape(-1) for f in resampler.resample(None))
        pieces.append(np.zeros(int(0.6 * SR), np.float32))
    return np.concatenate(pieces).astype(np.float32) if pieces else None


def synthetic_speech(seconds: float, seed: int = 7, block_seconds: int = 60) -> np.ndarray:
    """A speech-like signal: voiced syllables (gliding pitch, vowel-like spectra from a few
    wavetables) at ~4.5 per second, fricative noise bursts, pauses between phrases; written into
    one float32 array block by block so generating hours needs no large temporaries."""
    rng = np.random.default_rng(seed)
    table_size = 2048
    phase_grid = np.arange(table_size) / table_size * 2 * np.pi
    tables = []
    for formants in ((700, 1200), (300, 2300), (500, 1000), (400, 1900), (600, 1700), (350, 800)):
        wave = np.zeros(table_size)
        for k in range(1, 30):
            gain = sum(1.0 / (1 + ((k * 130 - f) / 120.0) ** 2) for f in formants) / k**0.5
            wave += gain * np.sin(k * phase_grid)
        tables.append(wave / np.abs(wave).max())
    out = np.empty(int(seconds * SR), np.float32)
    phase = 0.0
    for begin in range(0, out.size, block_seconds * SR):
        n = min(block_seconds * SR, out.size - begin)
        t = (begin + np.arange(n)) / SR
        pitch = 125 + 25 * np.sin(2 * np.pi * 0.3 * t) + 10 * np.sin(2 * np.pi * 2.1 * t)
        phases = phase + np.cumsum(pitch / SR)
        phase = float(phases[-1] % 1.0)
        index = ((phases % 1.0) * table_size).astype(np.int32)
        syllable = (t * 4.5).astype(np.int64)
        vowel = (syllable * 2654435761 % 6).astype(np.int8)
        voiced = np.zeros(n)
        for v, wave in enumerate(tables):
            mask = vowel == v
            voiced[mask] = wave[index[mask]]
        envelope = np.sin(np.pi * ((t * 4.5) % 1.0)) ** 2
        fricative = (syllable % 5 == 2) & ((t * 4.5) % 1.0 < 0.35)
        signal = 0.25 * voiced * envelope + fricative * 0.08 * rng.standard_normal(n)
        phrase_pause = (t % 7.0) > 6.2  # ~11% pauses
        signal[phrase_pause] = 0.002 * rng.standard_normal(int(phrase_pause.sum()))
        out[begin : begin + n] = signal
    return out


def tile_to(clip: np.ndarray, seconds: float) -> np.ndarray:
    out = np.empty(int(seconds * SR), np.float32)
    for begin in range(0, out.size, clip.size):
        piece = out[begin : begin + clip.size]
        piece[:] = clip[: piece.size]
    return out


# --- measuring -----------------------------------------------------------------------------------
def rss_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


class PeakRss:
    """Samples this process's RSS every 20 ms while active."""

    def __enter__(self) -> PeakRss:
        self.baseline = self.peak = rss_bytes()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, rss_bytes())

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss_bytes())


def run(server: ServerProcess, samples: np.ndarray, fmt: str, **settings: object) -> dict:
    # whisper-1's chunks: what the README's upload figures describe (text-only models send pieces of 6 s).
    values = {"openai_api_key": API_KEY, "openai_base_url": server.base_url, "openai_max_retries": 0,
              "openai_model": "whisper-1"}
    values.update(settings)
    backend = OpenAIBackend(Settings(**values), upload_format=fmt)
    plan = backend.plan(samples)
    started = time.perf_counter()
    with PeakRss() as memory:
        transcript = backend.transcribe(DecodedAudio(samples))
    wall = time.perf_counter() - started
    requests = server.take_requests()
    assert all(status == 200 for status, *_ in requests), requests
    minutes = samples.size / SR / 60
    sizes = [size for _, size, _, _ in requests]
    return {
        "audio_minutes": round(minutes, 2),
        "chunks": backend.last_stats.chunks,
        "requests": len(requests),
        "upload_bytes": backend.last_stats.upload_bytes,
        "server_received_file_bytes": sum(sizes),
        "largest_request_body_bytes": max(body for _, _, body, _ in requests),
        "chunk_bytes": sizes,
        "chunk_seconds_planned": [round((end - start) / SR, 1) for start, end in plan],
        "chunk_seconds_decoded_by_server": [round(d or 0, 1) for *_, d in requests],  # arrival order
        "bytes_per_minute": round(backend.last_stats.upload_bytes / minutes),
        "kib_per_minute": round(backend.last_stats.upload_bytes / minutes / 1024, 1),
        "wall_seconds": round(wall, 2),
        "x_realtime": round(minutes * 60 / wall, 1),
        "rss_baseline_mib": round(memory.baseline / MiB, 1),
        "rss_peak_during_mib": round(memory.peak / MiB, 1),
        "rss_added_mib": round((memory.peak - memory.baseline) / MiB, 1),
        "segments": len(transcript.segments),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=5.0, help="length of the per-minute measurement")
    parser.add_argument("--hours", type=float, default=3.0, help="length of the long input")
    parser.add_argument("--format", default="ogg", choices=["ogg", "mp3", "flac", "wav"])
    parser.add_argument("--source", choices=["auto", "samples", "synthetic"], default="auto",
                        help="speech for the long input: the bundled samples looped, or synthetic")
    parser.add_argument("--byte-bound", action="store_true",
                        help="also run the long input with chunks bounded only by the 24 MiB upload limit")
    parser.add_argument("--json", action="store_true", help="print one JSON document instead of a report")
    args = parser.parse_args()

    results: dict[str, object] = {"format": args.format}
    clip = sample_speech() if args.source in ("auto", "samples") else None
    if args.source == "samples" and clip is None:
        sys.exit("no samples/manifest.json")
    with ServerProcess() as server:
        # 1. a long input, generated in memory (first, so that the client's RSS during it is not
        # flattered by memory that earlier runs freed)
        started = time.perf_counter()
        long_source = "bundled samples looped" if clip is not None else "synthetic speech-like"
        samples = tile_to(clip, args.hours * 3600) if clip is not None else synthetic_speech(args.hours * 3600)
        results["long_input"] = {
            "source": long_source,
            "hours": args.hours,
            "samples_mib": round(samples.nbytes / MiB, 1),
            "generate_seconds": round(time.perf_counter() - started, 1),
            "default_settings": run(server, samples, args.format),
        }
        if args.byte_bound:
            results["long_input"]["byte_bound_only"] = run(
                server, samples, args.format, openai_chunk_seconds=int(args.hours * 3600) + 1)
        del samples

        # 2. bytes per minute of speech
        per_minute = {}
        if clip is not None:
            per_minute["bundled samples (espeak-ng speech, looped)"] = run(
                server, tile_to(clip, args.minutes * 60), args.format)
        per_minute["synthetic speech-like"] = run(server, synthetic_speech(args.minutes * 60), args.format)
        for fmt in ("ogg", "mp3"):
            if fmt != args.format:
                per_minute[f"synthetic speech-like, {fmt}"] = run(server, synthetic_speech(args.minutes * 60), fmt)
        results["per_minute"] = per_minute

    if args.json:
        print(json.dumps(results, indent=2))
        return
    print(f"Upload format: {args.format} (OpenAI limit 25 MiB per request)\n")
    print("Bytes uploaded per minute of audio:")
    for label, r in per_minute.items():
        print(f"  {label:48s} {r['kib_per_minute']:7.1f} KiB/min  ({r['bytes_per_minute']} B/min, "
              f"{r['chunks']} chunk(s), {r['x_realtime']}x real time)")
    long = results["long_input"]
    print(f"\n{args.hours:g}-hour input ({long['source']}, {long['samples_mib']} MiB of float32, "
          f"generated in {long['generate_seconds']} s):")
    for key in ("default_settings", "byte_bound_only"):
        if key not in long:
            continue
        r = long[key]
        print(f"  {key}: {r['chunks']} chunks, {r['upload_bytes'] / MiB:.2f} MiB uploaded in total "
              f"({r['kib_per_minute']} KiB/min), largest chunk {max(r['chunk_bytes']) / MiB:.2f} MiB, "
              f"largest request body {r['largest_request_body_bytes'] / MiB:.2f} MiB")
        print(f"    chunk seconds (planned, in order): {r['chunk_seconds_planned']}; decoded by the server: "
              f"{sum(r['chunk_seconds_decoded_by_server']):.1f} s in all")
        print(f"    wall {r['wall_seconds']} s ({r['x_realtime']}x real time); client RSS "
              f"{r['rss_baseline_mib']} MiB before, peak {r['rss_peak_during_mib']} MiB during "
              f"(+{r['rss_added_mib']} MiB for encoding and uploads)")


if __name__ == "__main__":
    main()
