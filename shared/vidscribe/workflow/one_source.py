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

from collections.abc import Callable

import numpy as np

from ..config import Settings
from ..models import AudioSink, DecodedAudio, PartRange, Transcript
from ..ports import MediaSource, TranscriptionBackend
from ..speech import SpeechFinder, SpeechTranscriber, build_vad
from ..speech.streaming import Budget
from .budget import TimeBudget
from .part_window import PartComplete, PartWindow
from .parts import WINDOW_SECONDS, SplitCheck, on_video_timeline


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

    def transcribe(
        self, source: str, budget: Budget | None = None, *, split_over: float | None = None
    ) -> tuple[Transcript, DecodedAudio]:
        """The transcript of ``source`` (a URL, or whatever the media source reads), and what the
        media source reported (the duration and the bytes fetched; no samples).

        ``split_over`` (PART_SECONDS, with a ``TimeBudget``): raise :class:`.parts.SplitInstead` as soon
        as the duration shows that the video should go in parts (:func:`.parts.part_length`)."""
        if split_over is not None and isinstance(budget, TimeBudget):
            check, limit = budget, split_over
            return self.speech.transcribe_from(
                lambda sink: self.media.fetch_audio(source, SplitCheck(sink, limit, check)), budget
            )
        return self.speech.transcribe_from(lambda sink: self.media.fetch_audio(source, sink), budget)

    def transcribe_part(
        self, source: str, part: PartRange, agree: Callable[[int, float], float], budget: Budget | None = None
    ) -> tuple[Transcript, DecodedAudio]:
        """One part of ``source``: its audio from the cut at its start to the cut at its end
        (:mod:`.part_window`), transcribed, on the video's timeline. ``agree``: the store's record of
        each cut (``PartStore.agree_cut``), so that neighbours meet exactly."""
        windows: list[PartWindow] = []

        def fetch(sink: AudioSink) -> DecodedAudio:
            window = PartWindow(sink, part, agree, WINDOW_SECONDS)
            windows.append(window)
            try:
                audio = self.media.fetch_audio(source, window)
            except PartComplete:  # decoding stopped at the end cut: this part's audio is all in
                audio = DecodedAudio(np.zeros(0, dtype=np.float32))
            else:
                window.finish()
            return DecodedAudio(np.zeros(0, dtype=np.float32), audio.source_bytes, streamed_seconds=window.fed_seconds)

        transcript, audio = self.speech.transcribe_from(fetch, budget)
        window = windows[-1]
        assert window.cut_start is not None
        return on_video_timeline(transcript, window.cut_start, window.fed_seconds), audio
