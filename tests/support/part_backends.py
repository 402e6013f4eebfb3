"""A backend stand-in for long videos in parts: it answers at once with one segment (and one word)
per minute of the audio it is sent, so that a test can check that the assembled transcript covers
the video's whole timeline, in order, each stretch once. ``seconds_for`` claims a speed slower than
real time would allow in one invocation (0.12 s per audio second: a 4-hour video "needs" 1,728 s),
as the issue's example does, so the time budget decides to split."""

from __future__ import annotations

import threading
from collections.abc import Sequence

from vidscribe.errors import BackendTransient
from vidscribe.models import DecodedAudio, Segment, Span, Transcript, Word


class MinuteBackend:
    name = "minutes"
    model = "minute-marks"

    def __init__(self, seconds_per_audio_second: float = 0.12, *, fail_from: float | None = None) -> None:
        self.seconds_per_audio_second = seconds_per_audio_second
        self.fail_from = fail_from  # raise BackendTransient for audio at least this long (one part)
        self.calls = 0
        self.audio_seconds = 0.0
        self._lock = threading.Lock()

    def seconds_for(self, audio_seconds: float) -> float:
        return audio_seconds * self.seconds_per_audio_second

    def transcribe(self, audio: DecodedAudio, speech: Sequence[Span] | None = None) -> Transcript:
        duration = audio.duration
        with self._lock:
            self.calls += 1
            self.audio_seconds += duration
            fail = self.fail_from is not None and duration >= self.fail_from
        if fail:
            raise BackendTransient("the stand-in refuses this much audio")
        segments = []
        start = 0.0
        while start < duration:
            end = min(start + 60.0, duration)
            text = f"m{len(segments)}"
            segments.append(Segment(start, end, text, words=(Word(start, end, text),)))
            start = end
        return Transcript(
            text=" ".join(s.text for s in segments),
            segments=segments,
            language="en",
            duration=duration,
            backend=self.name,
            model=self.model,
            model_audio_seconds=duration,
            cost_usd=0.0,
        )
