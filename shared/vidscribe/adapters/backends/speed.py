"""How fast a backend goes: wall seconds per second of audio, measured as it works, for the time budget."""

from __future__ import annotations

import math
import threading

#: Whisper reads audio in 30-second windows: a 7-second clip costs about as much as 30 seconds.
WHISPER_WINDOW_SECONDS = 30.0


def windowed_seconds(audio_seconds: float, window: float | None = WHISPER_WINDOW_SECONDS) -> float:
    """The audio a model works through: ``audio_seconds`` rounded up to whole windows (None: as is)."""
    if audio_seconds <= 0:
        return 0.0
    return math.ceil(audio_seconds / window) * window if window else audio_seconds


class MeasuredSpeed:
    """Wall seconds per second of audio over every transcription this process has run, weighted by
    duration; before the first, ``estimate``. Audio is counted in whole 30-second windows, the unit the
    model works in, so that short clips do not make a long video look slow (for long audio the two
    are the same). Thread-safe: the local runtime's workers share it."""

    def __init__(self, estimate: float, *, window_seconds: float | None = WHISPER_WINDOW_SECONDS) -> None:
        if estimate <= 0:
            raise ValueError("the estimate must be positive")
        self._estimate = estimate
        self._window = window_seconds
        self._wall = 0.0
        self._audio = 0.0
        self._lock = threading.Lock()

    def record(self, wall_seconds: float, audio_seconds: float) -> None:
        if audio_seconds <= 0 or wall_seconds < 0:
            return  # nothing was transcribed: no evidence about the speed
        with self._lock:
            self._wall += wall_seconds
            self._audio += windowed_seconds(audio_seconds, self._window)

    @property
    def measured(self) -> bool:
        with self._lock:
            return self._audio > 0

    @property
    def seconds_per_audio_second(self) -> float:
        with self._lock:
            return self._wall / self._audio if self._audio > 0 else self._estimate

    def seconds_for(self, audio_seconds: float) -> float:
        """The wall time ``audio_seconds`` of audio should take to transcribe at this speed."""
        return windowed_seconds(audio_seconds, self._window) * self.seconds_per_audio_second
