"""Only the speech goes to the model: pack the speech regions into one shorter audio, and map every
timestamp the model returns back onto the original media's timeline.

The packed audio is the regions in order, each followed by ``JOIN_SECONDS`` of digital silence, so
that the model hears where one stretch of speech ends and the next begins (a pause it can put a
segment boundary in) without paying for the pause that was there. faster-whisper's own
``vad_filter`` packs the same way (``collect_chunks`` / ``SpeechTimestampsMap``); this is written
here because the packed audio must also feed the OpenAI path and carry word times, and because a
time the model puts inside a joining silence must go to the right side of it.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Literal

import numpy as np

from ..models import SAMPLE_RATE, Segment, Span, Word

#: Silence between two packed regions (measured: 0.3 s keeps tiny.en's WER on the real recordings
#: and lets it end a segment there; it adds 0.3 s per region to what is uploaded).
JOIN_SECONDS = 0.3


@dataclass(frozen=True)
class _Piece:
    original: Span  # where the region is in the media
    packed_start: float  # where it starts in the packed audio


class SpeechLayout:
    """Where each speech region sits in the packed audio, and the way back."""

    def __init__(self, regions: Sequence[Span], *, join_seconds: float = JOIN_SECONDS) -> None:
        if not regions:
            raise ValueError("a layout needs at least one speech region")
        self.join_seconds = join_seconds
        pieces: list[_Piece] = []
        joins: list[int] = []  # samples of silence before each region
        cursor = 0  # samples
        previous_last: int | None = None
        for region in regions:
            first, last = _sample(region.start), _sample(region.end)
            # Regions that touch (speech cut in two to bound memory) are joined with no silence.
            join = 0 if previous_last is None or first <= previous_last else _sample(join_seconds)
            cursor += join
            joins.append(join)
            pieces.append(_Piece(Span(first / SAMPLE_RATE, last / SAMPLE_RATE), cursor / SAMPLE_RATE))
            cursor += last - first
            previous_last = last
        self._pieces = pieces
        self._joins = joins
        self._starts = [p.packed_start for p in pieces]
        self.packed_seconds = cursor / SAMPLE_RATE

    @property
    def regions(self) -> list[Span]:
        return [p.original for p in self._pieces]

    def packed_spans(self) -> list[Span]:
        """Each region's place in the packed audio."""
        return [Span(p.packed_start, p.packed_start + p.original.seconds) for p in self._pieces]

    def pack(self, samples: np.ndarray) -> np.ndarray:
        """The regions' samples (``samples`` on the media's timeline) joined by silences: what the
        model is given."""
        return self.pack_regions(
            [samples[_sample(p.original.start) : _sample(p.original.end)] for p in self._pieces]
        )

    def pack_regions(self, region_samples: Sequence[np.ndarray]) -> np.ndarray:
        """The same, from each region's own samples (in order): how a stream packs without holding
        the whole timeline."""
        parts: list[np.ndarray] = []
        for join, samples in zip(self._joins, region_samples, strict=True):
            if join:
                parts.append(np.zeros(join, dtype=np.float32))
            parts.append(np.asarray(samples, dtype=np.float32))
        return np.concatenate(parts) if parts else np.zeros(0, dtype=np.float32)

    def to_original(self, packed: float, edge: Literal["start", "end"]) -> float:
        """A packed time on the media's timeline. A time inside a joining silence belongs to no
        region: a start goes forward to the next region's start, an end back to the previous
        region's end (so a segment never spans the pause it was not given)."""
        if not math.isfinite(packed):
            return packed
        index = max(0, bisect.bisect_right(self._starts, packed) - 1)
        piece = self._pieces[index]
        offset = packed - piece.packed_start
        if offset <= piece.original.seconds:
            return piece.original.start + max(0.0, offset)
        if edge == "start" and index + 1 < len(self._pieces):
            return self._pieces[index + 1].original.start
        return piece.original.end

    def restore(self, segment: Segment) -> Segment:
        """``segment`` (timed on the packed audio) timed on the media's timeline."""
        words = tuple(
            Word(self.to_original(w.start, "start"), self.to_original(w.end, "end"), w.text) for w in segment.words
        )
        return replace(
            segment, start=self.to_original(segment.start, "start"), end=self.to_original(segment.end, "end"),
            words=words,
        )

    def in_joining_silence(self, segment: Segment) -> bool:
        """Whether a packed segment lies wholly inside a silence this layout added (nothing the
        model says there was heard in the media)."""
        index = max(0, bisect.bisect_right(self._starts, segment.start) - 1)
        piece = self._pieces[index]
        region_end = piece.packed_start + piece.original.seconds
        next_start = self._starts[index + 1] if index + 1 < len(self._starts) else math.inf
        return segment.start >= region_end and segment.end <= next_start


def _sample(seconds: float) -> int:
    return max(0, int(round(seconds * SAMPLE_RATE)))


def normalize(segments: Sequence[Segment], duration: float) -> list[Segment]:
    """Segments whose times lie in [0, duration], never go backwards, and whose words do the same
    inside their segment; segments with no text are dropped. Unreadable times take the previous one."""
    out: list[Segment] = []
    floor = 0.0
    for segment in segments:
        text = " ".join(segment.text.split())
        if not text:
            continue
        start, end = segment.start, segment.end
        timed = [w for w in segment.words if w.text.strip() and math.isfinite(w.start) and math.isfinite(w.end)]
        if timed:  # the words say where the speech is; a segment's own start may precede it
            start, end = timed[0].start, max(w.end for w in timed)
        start = _clamp(start, floor, duration)
        end = max(start, _clamp(end, start, duration))
        words: list[Word] = []
        cursor = start
        for word in segment.words:
            word_text = word.text.strip()
            if not word_text:
                continue
            word_start = min(max(_clamp(word.start, cursor, duration), start), end)
            word_end = min(max(_clamp(word.end, word_start, duration), word_start), end)
            words.append(Word(round(word_start, 3), round(word_end, 3), word_text))
            cursor = word_start
        out.append(replace(segment, start=round(start, 3), end=round(end, 3), text=text, words=tuple(words)))
        floor = start
    return out


def _clamp(value: float, low: float, high: float) -> float:
    if not math.isfinite(value):
        return low
    return min(max(value, low), max(low, high))
