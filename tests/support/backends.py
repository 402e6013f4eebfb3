"""A wrapper around a real backend that counts calls and concurrency, and can fail on request."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Sequence

from vidscribe.errors import BackendTransient
from vidscribe.models import DecodedAudio, Span, Transcript
from vidscribe.ports import TranscriptionBackend


class CountingBackend:
    def __init__(self, inner: TranscriptionBackend) -> None:
        self.inner = inner
        self.name = inner.name
        self.model = inner.model
        self.calls = 0
        self.active = 0
        self.max_active = 0
        self.fail_next = 0  # raise BackendTransient for this many calls
        self.durations: Counter[float] = Counter()
        self.entered = threading.Event()
        self.release: threading.Event | None = None  # when set, calls wait on it (to hold a worker)
        self._lock = threading.Lock()

    def seconds_for(self, audio_seconds: float) -> float:
        return self.inner.seconds_for(audio_seconds)

    def transcribe(self, audio: DecodedAudio, speech: Sequence[Span] | None = None) -> Transcript:
        with self._lock:
            self.calls += 1
            self.active += 1
            self.max_active = max(self.max_active, self.active)
            fail = self.fail_next > 0
            if fail:
                self.fail_next -= 1
        self.entered.set()
        try:
            if self.release is not None:
                assert self.release.wait(timeout=60), "the test never released the backend"
            if fail:
                raise BackendTransient("injected transient failure")
            return self.inner.transcribe(audio, speech)
        finally:
            with self._lock:
                self.active -= 1
