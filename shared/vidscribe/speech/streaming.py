"""One video's speech, found and transcribed while its audio is still being decoded.

A :class:`SpeechStream` is the decoder's :class:`~vidscribe.models.AudioSink`. Blocks of samples go
through the voice activity detector as they arrive; each speech region, once final, is copied out
of a short window of recent samples into the *piece* being built; a piece (at most
``piece_seconds`` of packed speech, cut between regions) goes to the backend on a worker thread
while decoding goes on. So memory is a few pieces and a window, whatever the video's length, and
decoding, detection, encoding and uploading overlap on the machine's cores.

Speech that never pauses for longer than a piece is cut at its quietest 100 ms, and the two parts
are packed with no silence between them (:class:`~.timeline.SpeechLayout`): the model hears them as
one stretch, in two requests. Every piece's segments are mapped back onto the media's timeline.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Protocol

import numpy as np

from ..models import SAMPLE_RATE, DecodedAudio, Segment, Span
from ..observability import logger
from ..ports import TranscriptionBackend
from .guards import drop_hallucinations
from .timeline import JOIN_SECONDS, SpeechLayout

#: Packed speech per backend call: bounds memory (20 MB of float32) and keeps quality (the model
#: reads 30 s windows; a cut falls between speech regions, or at a quiet moment of long speech).
PIECE_SECONDS = 300.0
#: Samples go through the detector this many at a time (few calls, little memory).
BLOCK_SECONDS = 30.0
#: Pieces waiting for the backend at most, besides the one it works on.
QUEUED_PIECES = 1
_QUIET_WINDOW = int(0.1 * SAMPLE_RATE)


class RegionDetector(Protocol):
    """The incremental side of voice activity detection (``vad.SpeechDetector``)."""

    @property
    def speech_seconds(self) -> float: ...

    def feed(self, block: np.ndarray) -> list[Span]: ...

    def finish(self) -> list[Span]: ...

    def open_since(self) -> float | None: ...

    def cut(self, at_seconds: float) -> list[Span]: ...


class Budget(Protocol):
    """The time the transcriber has left (``vidscribe.workflow.budget.TimeBudget``)."""

    def start(self, declared_seconds: float | None) -> None:
        """The duration is known: raise if the video cannot be done in time."""
        ...

    def check(self) -> None:
        """Raise if the time left has run short."""
        ...


class EverythingIsSpeech:
    """The detector with VAD=off: one region from the first sample to the last."""

    def __init__(self) -> None:
        self._fed = 0.0
        self._start = 0.0

    @property
    def speech_seconds(self) -> float:
        return self._fed

    def feed(self, block: np.ndarray) -> list[Span]:
        self._fed += len(block) / SAMPLE_RATE
        return []

    def finish(self) -> list[Span]:
        return [Span(self._start, self._fed)] if self._fed > self._start else []

    def open_since(self) -> float | None:
        return self._start

    def cut(self, at_seconds: float) -> list[Span]:
        if not self._start < at_seconds <= self._fed:
            return []
        span, self._start = Span(self._start, at_seconds), at_seconds
        return [span]


@dataclass
class _Recent:
    """The samples from ``start`` (an index on the media's timeline) to now, in blocks."""

    start: int = 0
    blocks: deque[np.ndarray] = field(default_factory=deque)
    size: int = 0

    @property
    def end(self) -> int:
        return self.start + self.size

    def append(self, block: np.ndarray) -> None:
        self.blocks.append(block)
        self.size += len(block)

    def take(self, first: int, last: int) -> np.ndarray:
        """A copy of samples ``first`` to ``last`` (clipped to what is held)."""
        first, last = max(first, self.start), min(last, self.end)
        parts, offset = [], self.start
        for block in self.blocks:
            lo, hi = max(first, offset), min(last, offset + len(block))
            if lo < hi:
                parts.append(block[lo - offset : hi - offset])
            offset += len(block)
            if offset >= last:
                break
        return np.concatenate(parts) if parts else np.zeros(0, dtype=np.float32)

    def drop_before(self, index: int) -> None:
        while self.blocks and self.start + len(self.blocks[0]) <= index:
            self.size -= len(self.blocks[0])
            self.start += len(self.blocks.popleft())

    def quietest(self, first: int, last: int) -> int:
        """The start of the quietest 100 ms window between ``first`` and ``last``."""
        samples = self.take(first, last)
        windows = len(samples) // _QUIET_WINDOW
        if windows < 2:
            return last
        energy = np.square(samples[: windows * _QUIET_WINDOW].reshape(windows, _QUIET_WINDOW)).mean(axis=1)
        return max(first, self.start) + int(np.argmin(energy)) * _QUIET_WINDOW


@dataclass
class PieceResult:
    segments: list[Segment]
    language: str | None
    language_probability: float | None
    model_audio_seconds: float
    cost_usd: float | None
    flagged: int  # segments the model flagged, or placed in a joining silence, dropped


@dataclass
class StreamResult:
    duration: float
    speech_seconds: float
    segments: list[Segment]  # on the media's timeline, in order (not yet normalized)
    language: str | None
    language_probability: float | None
    model_audio_seconds: float
    cost_usd: float | None
    pieces: int
    regions: int


class SpeechStream:
    """An :class:`AudioSink` that transcribes the speech it is fed, piece by piece (module doc)."""

    def __init__(
        self,
        backend: TranscriptionBackend,
        detector: RegionDetector,
        *,
        lookback_seconds: float = 0.0,
        piece_seconds: float = PIECE_SECONDS,
        join_seconds: float = JOIN_SECONDS,
        budget: Budget | None = None,
    ) -> None:
        if piece_seconds < 2 * BLOCK_SECONDS:
            raise ValueError(f"piece_seconds must be at least {2 * BLOCK_SECONDS:g} (two detector blocks)")
        self.backend = backend
        self.detector = detector
        self.piece_seconds = piece_seconds
        self.join_seconds = join_seconds
        self.budget = budget
        self._lookback = int(lookback_seconds * SAMPLE_RATE) + _QUIET_WINDOW
        self._block = int(BLOCK_SECONDS * SAMPLE_RATE)
        self._incoming: list[np.ndarray] = []
        self._incoming_size = 0
        self._recent = _Recent()
        self._fed = 0  # samples
        self._piece: list[tuple[Span, np.ndarray]] = []
        self._piece_seconds = 0.0
        self._regions = 0
        self._futures: deque[Future[PieceResult]] = deque()
        self._results: list[PieceResult] = []
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="speech-piece")
        self._closed = threading.Event()

    # --- the sink ----------------------------------------------------------------------------------
    def begin(self, declared_seconds: float | None) -> None:
        if self.budget is not None:
            self.budget.start(declared_seconds)

    def feed(self, samples: np.ndarray) -> None:
        self._incoming.append(np.asarray(samples, dtype=np.float32))
        self._incoming_size += len(samples)
        if self._incoming_size >= self._block:
            self._process(self._take_incoming())

    # --- the end -----------------------------------------------------------------------------------
    def finish(self) -> StreamResult:
        """Transcribe what is left and wait for every piece; the stream's result, in order."""
        try:
            if self._incoming_size:
                self._process(self._take_incoming())
            for region in self.detector.finish():
                self._add(region)
            self._submit()
            while self._futures:
                self._results.append(self._futures.popleft().result())
        finally:
            self.close()
        results = self._results
        costs = [r.cost_usd for r in results]
        language, probability = _most_heard(results)
        return StreamResult(
            duration=self._fed / SAMPLE_RATE,
            speech_seconds=self.detector.speech_seconds,
            segments=[s for r in results for s in r.segments],
            language=language,
            language_probability=probability,
            model_audio_seconds=round(sum(r.model_audio_seconds for r in results), 3),
            cost_usd=None if any(c is None for c in costs) else round(sum(c or 0.0 for c in costs), 6),
            pieces=len(results),
            regions=self._regions,
        )

    def close(self) -> None:
        """Stop: pieces not started are dropped; the one the backend holds is waited for."""
        if self._closed.is_set():
            return
        self._closed.set()
        for future in self._futures:
            future.cancel()
        self._executor.shutdown(wait=True, cancel_futures=True)

    # --- internals ---------------------------------------------------------------------------------
    def _take_incoming(self) -> np.ndarray:
        block = np.concatenate(self._incoming) if len(self._incoming) > 1 else self._incoming[0]
        self._incoming, self._incoming_size = [], 0
        return block

    def _process(self, block: np.ndarray) -> None:
        if self.budget is not None:
            self.budget.check()
        self._recent.append(block)
        self._fed += len(block)
        for region in self.detector.feed(block):
            self._add(region)
        since = self.detector.open_since()
        if since is not None and self._fed / SAMPLE_RATE - since > self.piece_seconds - BLOCK_SECONDS:
            # Speech with no pause for almost a piece (the next block would make it longer than one):
            # cut it at its quietest moment in the last 10 s before a piece's length.
            last = min(self._fed, int((since + self.piece_seconds) * SAMPLE_RATE)) - _QUIET_WINDOW
            first = max(int(since * SAMPLE_RATE) + 1, last - 10 * SAMPLE_RATE)
            for region in self.detector.cut(self._recent.quietest(first, last) / SAMPLE_RATE):
                self._add(region)
            since = self.detector.open_since()
        keep_from = self._fed - self._lookback if since is None else int(since * SAMPLE_RATE) - _QUIET_WINDOW
        self._recent.drop_before(max(0, keep_from))

    def _add(self, region: Span) -> None:
        first, last = int(round(region.start * SAMPLE_RATE)), int(round(region.end * SAMPLE_RATE))
        samples = self._recent.take(first, last)
        if len(samples) == 0:
            return
        seconds = len(samples) / SAMPLE_RATE
        if self._piece and self._piece_seconds + self.join_seconds + seconds > self.piece_seconds:
            self._submit()
        self._piece.append((region, samples))
        self._piece_seconds += seconds + self.join_seconds
        self._regions += 1

    def _submit(self) -> None:
        if not self._piece:
            return
        if self.budget is not None:
            self.budget.check()
        piece, self._piece, self._piece_seconds = self._piece, [], 0.0
        while len(self._futures) > QUEUED_PIECES:  # bounded: wait for the oldest
            self._results.append(self._futures.popleft().result())
        self._futures.append(self._executor.submit(self._transcribe, piece))

    def _transcribe(self, piece: Sequence[tuple[Span, np.ndarray]]) -> PieceResult:
        layout = SpeechLayout([region for region, _ in piece], join_seconds=self.join_seconds)
        packed = layout.pack_regions([samples for _, samples in piece])
        raw = self.backend.transcribe(DecodedAudio(packed), speech=layout.packed_spans())
        verdict = drop_hallucinations(raw.segments)
        heard = [s for s in verdict.kept if not layout.in_joining_silence(s)]
        flagged = len(verdict.dropped) + len(verdict.kept) - len(heard)
        if flagged:
            logger.info(
                "dropped segments the model flagged or invented in a pause",
                extra={
                    "flagged": [reason for _, reason in verdict.dropped],
                    "in_pauses": len(verdict.kept) - len(heard),
                },
            )
        return PieceResult(
            # A backend that gives no language per segment gives one for the piece.
            segments=[layout.restore(s if s.language else replace(s, language=raw.language)) for s in heard],
            language=raw.language,
            language_probability=raw.language_probability,
            model_audio_seconds=(
                raw.model_audio_seconds if raw.model_audio_seconds is not None else layout.packed_seconds
            ),
            cost_usd=raw.cost_usd,
            flagged=flagged,
        )


def _most_heard(results: Sequence[PieceResult]) -> tuple[str | None, float | None]:
    """The language of most of the audio sent, and its probability weighted by each piece's audio
    (None when no piece that heard it reported one)."""
    votes: dict[str, float] = {}
    for r in results:
        if r.language:
            votes[r.language] = votes.get(r.language, 0.0) + r.model_audio_seconds
    if not votes:
        return None, None
    language = max(votes, key=lambda k: votes[k])
    sure = [(r.language_probability, r.model_audio_seconds) for r in results
            if r.language == language and r.language_probability is not None]
    weight = sum(w for _, w in sure)
    return language, round(sum(p * w for p, w in sure) / weight, 4) if weight else None
