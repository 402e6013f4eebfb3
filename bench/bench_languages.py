"""Every language, offline: tiny.en against base, the pipeline against the bare model, the cost.

    .venv/bin/python bench/bench_languages.py [--threads 2]

Prints, on the real recordings of tests/fixtures/realspeech (eight languages, the English
recordings, English-then-German multilingual.mp3):

1. per language, WER (CER for Japanese and Korean) and x real time of tiny.en and base at beam 1
   and 5, each model over each clip in one call (the bare model), and the language base detects;
2. language-detection accuracy: base on the eight clips, and on each half of multilingual.mp3
   through the pipeline (segments' languages);
3. the pipeline (VAD, packing, the model in calls of N seconds) against the bare model on the same
   audio, in the same run: word errors and wall time, for calls of 20 s (and, with base, 15 and
   25 s) and for one call per 300 s piece (the code before);
4. the cost of an audio hour of base in the container image, from the pipeline's speed measured here
   at 1 thread, at Lambda's price per GB-second.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")

from tests.support import realspeech
from tests.support.text import error_rate
from vidscribe.adapters.backends.local_whisper import LocalWhisperBackend
from vidscribe.config import Settings
from vidscribe.models import DecodedAudio
from vidscribe.speech import SpeechTranscriber, build_vad

LAMBDA_X86_USD_PER_GB_SECOND = 0.0000166667
BY_CHARACTERS = {"ja", "ko", "zh"}


def timed(backend: LocalWhisperBackend, samples) -> tuple[float, object]:
    started = time.perf_counter()
    transcript = backend.transcribe(DecodedAudio(samples))
    return time.perf_counter() - started, transcript


def per_language(threads: int) -> None:
    clips = realspeech.multilingual_clips()
    print("1. per language, bare model (one call per clip): error rate / x real time [detected language]")
    header = f"   {'lang':<5}{'s':>6}" + "".join(f"{name + ' b' + str(b):>22}" for name in ("tiny.en", "base")
                                                for b in (1, 5))
    print(header)
    totals: dict[str, list[float]] = {}
    detected = 0
    for clip in clips:
        seconds = len(clip.samples) / 16_000
        cells = []
        for model in ("tiny.en", "base"):
            for beam in (1, 5):
                settings = Settings.from_env({}, WHISPER_MODEL=model, WHISPER_BEAM_SIZE=beam,
                                             WHISPER_CPU_THREADS=threads, MAX_WORKERS=1)
                backend = LocalWhisperBackend(settings, call_seconds=None)
                wall, t = timed(backend, clip.samples)
                rate = error_rate(clip.text, t.text, characters=clip.language in BY_CHARACTERS)
                totals.setdefault(f"{model} b{beam}", [0.0, 0.0])
                totals[f"{model} b{beam}"][0] += seconds
                totals[f"{model} b{beam}"][1] += wall
                mark = "" if model == "tiny.en" else f" [{t.language}]"
                detected += int(model == "base" and beam == 1 and t.language == clip.language)
                cells.append(f"{rate:5.2f} / {seconds / wall:4.1f}x{mark}")
        unit = "CER" if clip.language in BY_CHARACTERS else "WER"
        print(f"   {clip.language:<5}{seconds:6.1f}" + "".join(f"{c:>22}" for c in cells) + f"   ({unit})")
    print("   x real time over all clips: " + ", ".join(f"{k} {a / w:.1f}x" for k, (a, w) in totals.items()))
    print(f"2. language detection, base, beam 1: {detected}/{len(clips)} clips right")


def pipeline_against_bare(threads: int) -> float:
    """Returns base's pipeline seconds per audio second at 20 s calls (for the cost)."""
    english = [realspeech.long_pauses_clip(), realspeech.music_intro_clip()]
    english += [realspeech.build([r]) for r in realspeech.REFERENCED]
    mixed = realspeech.decoded(realspeech.ENGLISH_THEN_GERMAN)
    german_half = mixed[int(realspeech.GERMAN_FROM * 16_000):]
    cases = [("tiny.en", [(c.text, c.samples) for c in english]),
             ("base", [(c.text, c.samples) for c in english]
              + [(realspeech.LIZENZ_TEXT, german_half)]
              + [(c.text, c.samples) for c in realspeech.multilingual_clips() if c.language not in BY_CHARACTERS])]
    print("3. pipeline against the bare model, same audio: word errors (of N reference words), wall time")
    per_second = 0.0
    for model, clips in cases:
        settings = Settings.from_env({}, WHISPER_MODEL=model, WHISPER_CPU_THREADS=threads, MAX_WORKERS=1)
        words = sum(len(text.split()) for text, _ in clips)
        audio = sum(len(s) for _, s in clips) / 16_000
        rows = []
        for label, calls in (("bare (one call)", None), ("pipeline, 300 s pieces (before)", None),
                             ("pipeline, 15 s calls", 15.0), ("pipeline, 20 s calls", 20.0),
                             ("pipeline, 25 s calls", 25.0)):
            if model == "tiny.en" and calls in (15.0, 25.0):
                continue  # the alternatives are measured on base, the slower model
            backend = LocalWhisperBackend(settings, call_seconds=calls)
            run = backend if label.startswith("bare") else SpeechTranscriber(backend, build_vad(settings))
            errors, started = 0.0, time.perf_counter()
            for text, samples in clips:
                t = run.transcribe(DecodedAudio(samples))
                errors += len(text.split()) * error_rate(text, t.text)
            wall = time.perf_counter() - started
            rows.append((label, errors, wall))
            if model == "base" and calls == 20.0:
                per_second = wall / audio
        bare_wall = rows[0][2]
        for label, errors, wall in rows:
            print(f"   {model:<8}{label:<34} errors {errors:5.1f} of {words} (WER {errors / words:.3f})"
                  f"   {wall:6.1f} s = {audio / wall:4.1f}x real time, {wall / bare_wall:.2f}x the bare model's time")
    mixed_t = SpeechTranscriber(LocalWhisperBackend(Settings.from_env({}, WHISPER_CPU_THREADS=threads)),
                                build_vad(Settings.from_env({}))).transcribe(DecodedAudio(mixed))
    halves = [{s.language for s in mixed_t.segments if (s.start >= realspeech.GERMAN_FROM) == german}
              for german in (False, True)]
    print(f"   multilingual.mp3 through the pipeline (base): English half {sorted(halves[0])}, "
          f"German half {sorted(halves[1])}; bare model: one language for all")
    return per_second


def cost(seconds_per_audio_second: float, threads: int) -> None:
    print(f"4. an audio hour of base in the container image, at the pipeline's speed here ({threads} thread(s): "
          f"{1 / seconds_per_audio_second:.1f}x real time), Lambda x86 ${LAMBDA_X86_USD_PER_GB_SECOND}/GB-s:")
    for mb in (2048, 4096, 10_240):
        print(f"   {mb:>6} MB: ${3600 * seconds_per_audio_second * mb / 1024 * LAMBDA_X86_USD_PER_GB_SECOND:.4f}"
              " (at this speed; more vCPUs only help as far as the threads scale)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    per_language(args.threads)
    pipeline_against_bare(args.threads)
    cost(pipeline_against_bare_one_thread(), 1)


def pipeline_against_bare_one_thread() -> float:
    """base's pipeline speed at 1 thread (Lambda's share below 1,769 MB) on the English recordings."""
    settings = Settings.from_env({}, WHISPER_MODEL="base", WHISPER_CPU_THREADS=1, MAX_WORKERS=1)
    run = SpeechTranscriber(LocalWhisperBackend(settings), build_vad(settings))
    clips = [realspeech.build([r]) for r in realspeech.REFERENCED]
    started = time.perf_counter()
    for clip in clips:
        run.transcribe(DecodedAudio(clip.samples))
    return (time.perf_counter() - started) / sum(clip.duration for clip in clips)


if __name__ == "__main__":
    main()
