"""Captions from a text-only model (gpt-transcribe): how far each cue starts from its words.

    .venv/bin/python bench/bench_text_only_cues.py          (about 2 minutes on 2 cores)

The OpenAI path runs for real: the official SDK against the project's OpenAI-compatible server,
which answers each upload with what tiny.en hears in it, as text only (gpt-transcribe's json). The
truth is tiny.en's own word timings (word_timestamps) on the whole clip. Each design's SRT cues
(vidscribe.captions: at most 7 s and two lines of 42 characters) are matched to those words
(tests/support/cue_timing.py), and their start errors summed up over the real recordings of
tests/support/cue_timing.clips(). Designs:

- one request per speech region, its text one segment spanning the region, cut into cues by
  characters (what vidscribe did before);
- the same request, its text spread over the speech inside the region (words timed by their
  characters over the frames louder than the region's pauses), cut into cues at those times;
- finer requests: each region cut at its pauses into pieces of at most 4, 6 (shipped) or 8 s, each
  piece's text one segment timed from the piece's speech.

WER is against the recordings' references (the vad-* clips have none); requests and the audio
uploaded ÷ the speech VAD found are the cost side. Goal: median <= 0.5 s, 90th percentile <= 1.5 s,
WER no worse than one request per region. A second table repeats the first and the shipped design
with the speech-dense clips under pink noise (15 dB SNR) and music (10 dB SNR).
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "ERROR")

from tests.support import nonspeech, realspeech
from tests.support.cue_timing import Summary, clips, cue_start_errors
from tests.support.openai_server import OpenAITranscriptionServer
from tests.support.text import word_error_rate
from vidscribe.adapters.backends.local_whisper import LocalWhisperBackend
from vidscribe.adapters.backends.openai_backend import OpenAIBackend, PlannedRequest
from vidscribe.captions import build_cues
from vidscribe.config import Settings
from vidscribe.models import SAMPLE_RATE, DecodedAudio, Segment, Span, Word
from vidscribe.speech import SpeechTranscriber, VoiceActivityDetector
from vidscribe.speech.pauses import FRAME, loudness_db, quiet_frames

KEY = "sk-bench-text-only-0123456789"


class OneRequestPerRegion(OpenAIBackend):
    """The text-only path as it was: each speech region one request, timed by the region."""

    def requests(self, samples: np.ndarray, speech: Sequence[Span] | None = None) -> list[PlannedRequest]:
        total = len(samples)
        regions = speech or [Span(0.0, total / SAMPLE_RATE)]
        spans = [(round(r.start * SAMPLE_RATE), min(total, round(r.end * SAMPLE_RATE))) for r in regions]
        return [PlannedRequest(a, b, a, b) for a, b in spans if b - a >= 0.1 * SAMPLE_RATE]


def spread_over_speech(segment: Segment, samples: np.ndarray) -> Segment:
    """The segment's words timed by their characters over its loud frames (its pauses skipped)."""
    first = int(segment.start * SAMPLE_RATE)
    loud = ~quiet_frames(loudness_db(samples[first : int(segment.end * SAMPLE_RATE)]))
    frames = np.flatnonzero(loud)
    words = segment.text.split()
    if frames.size == 0 or not words:
        return segment
    weights = np.cumsum([0] + [len(w) + 1 for w in words]) / (sum(len(w) + 1 for w in words))
    positions = frames[np.minimum((weights * frames.size).astype(int), frames.size - 1)]
    times = (first + positions * FRAME) / SAMPLE_RATE
    timed = tuple(Word(float(times[i]), float(max(times[i + 1], times[i])), w) for i, w in enumerate(words))
    return Segment(segment.start, segment.end, segment.text, words=timed)


def under(clip: realspeech.Clip, background: np.ndarray, snr_db: float) -> realspeech.Clip:
    """The clip with ``background`` mixed under its speech at ``snr_db``."""
    loud = clip.samples[np.abs(clip.samples) > 0.01]
    speech_rms = float(np.sqrt(np.mean(np.square(loud))))
    noise = background[: clip.samples.size] * speech_rms / 10 ** (snr_db / 20) / float(np.std(background))
    return realspeech.Clip((clip.samples + noise).astype(np.float32), clip.onsets, clip.speech, clip.text)


def run_designs(material: dict[str, realspeech.Clip], local: LocalWhisperBackend, vad: VoiceActivityDetector,
                designs: list[tuple[str, OpenAIBackend, bool]], server: OpenAITranscriptionServer) -> None:
    truth = {}
    for name, clip in material.items():
        bare = local.transcribe(DecodedAudio(clip.samples))
        truth[name] = ([w for s in bare.segments for w in s.words], bare.text)
    speech_seconds = sum(vad.find(c.samples).speech_seconds for c in material.values())
    print(f"{len(material)} clips, {sum(c.duration for c in material.values()):.0f} s"
          f" ({speech_seconds:.0f} s of speech); VAD engine {vad.engine}")
    referenced = {n: c for n, c in material.items() if c.text}
    words = sum(len(c.text.split()) for c in referenced.values())
    bare_wer = sum(word_error_rate(c.text, truth[n][1]) * len(c.text.split()) for n, c in referenced.items()) / words
    print(f"the bare model on each whole clip: WER {bare_wer:.3f} over {words} reference words")
    print(f"{'design':42} {'median':>7} {'p90':>6} {'max':>6} {'cues':>5} {'> 7 s':>6} {'WER':>6}"
          f" {'requests':>9} {'sent/speech':>12} {'time':>6}")
    for label, backend, spread in designs:
        errors: list[float] = []
        wrong, requests, sent, long_cues = 0.0, 0, 0.0, 0
        started = time.perf_counter()
        per_clip = []
        for name, clip in material.items():
            server.reset()
            transcript = SpeechTranscriber(backend, vad).transcribe(DecodedAudio(clip.samples))
            requests += len(server.transcription_requests())
            sent += server.uploaded_seconds()
            segments = transcript.segments
            if spread:
                segments = [spread_over_speech(s, clip.samples) for s in segments]
            cues = build_cues(segments)
            long_cues += sum(1 for c in cues if c.end_ms - c.start_ms > 7000)
            clip_errors = cue_start_errors(cues, truth[name][0])
            errors += clip_errors
            per_clip.append(f"{name} {np.median(clip_errors):.2f}/{max(clip_errors):.2f}")
            if clip.text:
                wrong += word_error_rate(clip.text, transcript.text) * len(clip.text.split())
        took = time.perf_counter() - started
        summary = Summary.of(errors)
        print(f"{label:42} {summary.median:6.2f}s {summary.p90:5.2f}s {max(errors):5.2f}s {summary.count:5}"
              f" {long_cues:6} {wrong / words:6.3f} {requests:9} {sent / speech_seconds:12.2f} {took:5.0f}s")
        print(f"{'':42} per clip, median/max: " + "; ".join(per_clip))


def main() -> None:
    settings = Settings.from_env({}, MAX_WORKERS=1, WHISPER_CPU_THREADS=2)
    local = LocalWhisperBackend(settings)
    vad = VoiceActivityDetector("auto")

    def hear(samples: np.ndarray) -> list[dict]:
        transcript = local.transcribe(DecodedAudio(samples))
        return [{"start": s.start, "end": s.end, "text": s.text} for s in transcript.segments]

    material = clips()
    for name in ("vad-valid", "vad-train"):
        material[name] = realspeech.Clip(realspeech.hand_labelled(name)[0], [], [], "")
    with OpenAITranscriptionServer(api_key=KEY, speech_model=hear) as server:
        base = settings.replace(transcriber="openai", openai_base_url=server.base_url, openai_timeout_seconds=120,
                                openai_parallel_chunks=1)
        designs: list[tuple[str, OpenAIBackend, bool]] = [
            ("one request per region", OneRequestPerRegion(base, api_key=KEY), False),
            ("one per region, spread over its speech", OneRequestPerRegion(base, api_key=KEY), True),
        ]
        for seconds in (4.0, 6.0, 8.0):
            backend = OpenAIBackend(base, api_key=KEY)
            backend.piece_seconds = seconds
            label = f"pieces cut at pauses, <= {seconds:g} s" + (" (shipped)" if seconds == 6.0 else "")
            designs.append((label, backend, False))
        print("1. real speech, clean")
        run_designs(material, local, vad, designs, server)
        print("\n2. the speech-dense clips under pink noise (15 dB SNR) and music (10 dB SNR)")
        noisy = {}
        for name in ("licence paragraph", "monologue", "chatter"):
            clip = material[name]
            seconds = clip.duration + 1
            noisy[f"{name} + noise"] = under(clip, nonspeech.pink_noise(seconds, seed=7), 15.0)
            noisy[f"{name} + music"] = under(clip, nonspeech.music(seconds, seed=7), 10.0)
        run_designs(noisy, local, vad, [designs[0], designs[3]], server)


if __name__ == "__main__":
    main()
