"""One source to one transcript: the path every transcription takes, the worker's and ``vidscribe
transcribe``'s alike.

The media source decodes the audio block by block into the speech stream, which finds the speech and
sends it to the backend in pieces while the audio still streams in (:mod:`vidscribe.speech`): memory
stays flat in the duration, and an endless or lying source ends at MAX_DURATION_SECONDS as it is
decoded. The media source applies its guards (the URL guard on every hop, MAX_MEDIA_BYTES,
FETCH_TOTAL_TIMEOUT_SECONDS). Nothing is claimed or stored here: the worker
(:class:`.transcribing.Transcriber`) does that around it, and passes the time budget of its
invocation; a one-off transcription has no invocation ceiling, and so no budget.
"""

from __future__ import annotations

from ..config import Settings
from ..models import DecodedAudio, Transcript
from ..ports import MediaSource, TranscriptionBackend
from ..speech import SpeechFinder, SpeechTranscriber, build_vad
from ..speech.streaming import Budget


class SourceTranscriber:
    def __init__(
        self,
        settings: Settings,
        media: MediaSource,
        backend: TranscriptionBackend,
        *,
        vad: SpeechFinder | None = None,
    ) -> None:
        """``vad``: where the speech is; by default the detector VAD names (none with VAD=off)."""
        self.media = media
        # Only the speech reaches the model; a source without speech never does.
        self.speech = SpeechTranscriber(
            backend, vad if vad is not None else build_vad(settings), language=settings.language
        )

    def transcribe(self, source: str, budget: Budget | None = None) -> tuple[Transcript, DecodedAudio]:
        """The transcript of ``source`` (a URL, or whatever the media source reads), and what the
        media source reported (the duration and the bytes fetched; no samples)."""
        return self.speech.transcribe_from(lambda sink: self.media.fetch_audio(source, sink), budget)
