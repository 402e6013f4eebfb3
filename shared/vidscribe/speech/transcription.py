"""One video's audio to a trustworthy transcript, whichever backend transcribes it.

1. The voice activity detector finds the speech regions. None: the video is stored as a transcript
   without speech (empty text, no segments, ``no_speech``) and no model is called.
2. Only the regions, joined by short silences (:mod:`.timeline`), go to the backend, with their
   places in the packed audio (a text-only model gets one request, and one segment, per region).
3. Segments the model flags as unreliable (:mod:`.guards`), or that it placed wholly inside a joining
   silence, are dropped.
4. Every segment and word time goes back onto the media's timeline, inside ``[0, duration]``,
   never backwards (:func:`.timeline.normalize`).
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

from ..config import Settings
from ..errors import NoSpeechDecoded
from ..models import DecodedAudio, Span, Transcript
from ..observability import logger
from ..ports import TranscriptionBackend
from .guards import drop_hallucinations
from .timeline import JOIN_SECONDS, SpeechLayout, normalize
from .vad import SpeechFound, VoiceActivityDetector


class SpeechFinder(Protocol):
    """Where the speech is (``VoiceActivityDetector``; unit tests use a fake)."""

    def find(self, samples: np.ndarray) -> SpeechFound: ...


def build_vad(settings: Settings) -> VoiceActivityDetector | None:
    """The detector named by VAD (``off``: None, every second goes to the model)."""
    if settings.vad == "off":
        return None
    return VoiceActivityDetector(settings.vad)


def no_speech_transcript(duration: float, backend: str, model: str, language: str | None = None) -> Transcript:
    return Transcript(
        text="", segments=[], language=language, duration=round(duration, 3), backend=backend, model=model,
        speech_seconds=0.0, no_speech=True, model_audio_seconds=0.0, cost_usd=0.0,
    )


class SpeechTranscriber:
    """The backend, given only the speech; its answer on the media's timeline."""

    def __init__(
        self,
        backend: TranscriptionBackend,
        vad: SpeechFinder | None,
        *,
        language: str | None = None,
        join_seconds: float = JOIN_SECONDS,
    ) -> None:
        self.backend = backend
        self.vad = vad
        self.language = language  # the LANGUAGE hint, recorded on a transcript without speech
        self.join_seconds = join_seconds

    @property
    def name(self) -> str:
        return self.backend.name

    @property
    def model(self) -> str:
        return self.backend.model

    def transcribe(self, audio: DecodedAudio) -> Transcript:
        duration = audio.duration
        if duration <= 0:
            raise NoSpeechDecoded("no audio samples were decoded; refusing to store an empty transcript")
        samples = np.asarray(audio.samples, dtype=np.float32).reshape(-1)
        if self.vad is None:
            regions: list[Span] = [Span(0.0, duration)]
            speech_seconds = duration
        else:
            found = self.vad.find(samples)
            regions, speech_seconds = list(found.regions), found.speech_seconds
        if not regions:
            logger.info("no speech found; the model is not called", extra={"audio_seconds": round(duration, 2)})
            return no_speech_transcript(duration, self.backend.name, self.backend.model, self.language)

        layout = SpeechLayout(regions, join_seconds=self.join_seconds)
        packed = DecodedAudio(layout.pack(samples), source_bytes=audio.source_bytes)
        raw = self.backend.transcribe(packed, speech=layout.packed_spans())
        verdict = drop_hallucinations(raw.segments)
        heard = [s for s in verdict.kept if not layout.in_joining_silence(s)]
        if verdict.dropped or len(heard) < len(verdict.kept):
            logger.info(
                "dropped segments the model flagged or invented in a pause",
                extra={
                    "flagged": [reason for _, reason in verdict.dropped],
                    "in_pauses": len(verdict.kept) - len(heard),
                },
            )
        segments = normalize([layout.restore(s) for s in heard], duration)
        text = " ".join(s.text for s in segments)
        return Transcript(
            text=text,
            segments=segments,
            language=raw.language,
            duration=round(duration, 3),
            backend=raw.backend,
            model=raw.model,
            speech_seconds=round(speech_seconds, 3),
            no_speech=not text,
            model_audio_seconds=raw.model_audio_seconds,
            cost_usd=raw.cost_usd,
        )
