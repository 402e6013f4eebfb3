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

    def __init__(self, seconds_per_audio_second: float = 0.12) -> None:
        self.seconds_per_audio_second = seconds_per_audio_second
        self.failing = False  # raise BackendTransient while set (a backend that is down)
        self.calls = 0
        self.audio_seconds = 0.0
        self._lock = threading.Lock()

    def seconds_for(self, audio_seconds: float) -> float:
        return audio_seconds * self.seconds_per_audio_second

    def transcribe(self, audio: DecodedAudio, speech: Sequence[Span] | None = None) -> Transcript:
        duration = audio.duration
        with self._lock:
            self.calls += 1
            if self.failing:
                raise BackendTransient("the stand-in is down")
            self.audio_seconds += duration  # what it transcribed
        return minute_marks(duration, self.name, self.model)


def minute_marks(duration: float, backend: str = "minutes", model: str = "minute-marks") -> Transcript:
    """A segment and a word per minute of ``duration`` seconds, named m0, m1, ..."""
    segments: list[Segment] = []
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
        backend=backend,
        model=model,
        model_audio_seconds=duration,
        cost_usd=0.0,
    )
