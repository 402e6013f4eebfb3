"""One video's audio to a trustworthy transcript, whichever backend transcribes it.

1. The voice activity detector finds the speech regions. None: the video is stored as a transcript
   without speech (empty text, no segments, ``no_speech``) and no model is called.
2. Only the regions, joined by short silences (:mod:`.timeline`), go to the backend, with their
   places in the packed audio (a text-only model gets one request, and one segment, per region),
   in pieces of at most five minutes while the audio is still being decoded (:mod:`.streaming`:
   memory stays flat in the video's duration).
3. Segments the model flags as unreliable (:mod:`.guards`), or that it placed wholly inside a joining
   silence, are dropped.
4. Every segment and word time goes back onto the media's timeline, inside ``[0, duration]``,
   never backwards (:func:`.timeline.normalize`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from ..config import Settings
from ..errors import NoSpeechDecoded
from ..models import AudioSink, DecodedAudio, Transcript
from ..observability import logger
from ..ports import TranscriptionBackend
from .streaming import PIECE_SECONDS, Budget, EverythingIsSpeech, RegionDetector, SpeechStream
from .timeline import JOIN_SECONDS, normalize
from .vad import VoiceActivityDetector


class SpeechFinder(Protocol):
    """Where the speech is (``VoiceActivityDetector``; unit tests use a fake)."""

    @property
    def lookback_seconds(self) -> float:
        """How far before a region's first speech window its start may lie (the padding)."""
        ...

    def detector(self) -> RegionDetector:
        """A fresh incremental detector for one stream."""
        ...


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
        piece_seconds: float = PIECE_SECONDS,
    ) -> None:
        self.backend = backend
        self.vad = vad
        self.language = language  # the LANGUAGE hint, recorded on a transcript without speech
        self.join_seconds = join_seconds
        self.piece_seconds = piece_seconds

    @property
    def name(self) -> str:
        return self.backend.name

    @property
    def model(self) -> str:
        return self.backend.model

    def stream(self, budget: Budget | None = None) -> SpeechStream:
        """A sink for one video's decoded audio."""
        detector: RegionDetector = EverythingIsSpeech() if self.vad is None else self.vad.detector()
        return SpeechStream(
            self.backend,
            detector,
            lookback_seconds=0.0 if self.vad is None else self.vad.lookback_seconds,
            piece_seconds=self.piece_seconds,
            join_seconds=self.join_seconds,
            budget=budget,
        )

    def transcribe(self, audio: DecodedAudio, budget: Budget | None = None) -> Transcript:
        """Transcribe audio already decoded into one array (a local file, tests)."""

        return self.transcribe_from(audio.stream_into, budget)[0]

    def transcribe_from(
        self, fetch: Callable[[AudioSink], DecodedAudio], budget: Budget | None = None
    ) -> tuple[Transcript, DecodedAudio]:
        """``fetch`` decodes a video into the sink it is given (``MediaSource.fetch_audio``); the
        speech is transcribed as it comes. Returns the transcript and what ``fetch`` returned."""
        stream = self.stream(budget)
        try:
            audio = fetch(stream)
        except BaseException:
            stream.close()
            raise
        result = stream.finish()
        duration = result.duration or audio.duration
        if duration <= 0:
            raise NoSpeechDecoded("no audio samples were decoded; refusing to store an empty transcript")
        if result.regions == 0:
            logger.info("no speech found; the model is not called", extra={"audio_seconds": round(duration, 2)})
            return no_speech_transcript(duration, self.backend.name, self.backend.model, self.language), audio
        segments = normalize(result.segments, duration)
        text = " ".join(s.text for s in segments)
        transcript = Transcript(
            text=text,
            segments=segments,
            language=result.language,
            duration=round(duration, 3),
            backend=self.backend.name,
            model=self.backend.model,
            speech_seconds=round(result.speech_seconds, 3),
            no_speech=not text,
            model_audio_seconds=result.model_audio_seconds,
            cost_usd=result.cost_usd,
            language_probability=result.language_probability,
        )
        return transcript, audio
