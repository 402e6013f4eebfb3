"""One part's samples out of a decoded video: from the cut at its start to the cut at its end.

A part is planned as a nominal time range; its real ends are cut at the quietest moment within
``window_seconds`` of each nominal boundary (in a pause, where there is one), so that no word is cut
in two. Both neighbours look at the same stretch of audio, and the store records the first cut
chosen (``PartStore.agree_cut``): the other neighbour takes that one, so the parts meet exactly,
with nothing lost or transcribed twice. The decoder seeks to ``start_seconds`` where the container
allows it, so a part reads about its own range only.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..models import SAMPLE_RATE, AudioSink, PartRange

#: The quietness is measured over frames this long (a pause between words lasts longer).
FRAME = int(0.1 * SAMPLE_RATE)


class PartComplete(Exception):
    """Raised from ``feed`` once the part's end cut is reached: decoding stops there."""


def quietest_moment(samples: np.ndarray, nominal: float) -> float:
    """The middle of the quietest 100 ms of ``samples`` (in seconds from its first sample), the one
    nearest ``nominal`` among those about as quiet (digital silence is everywhere equally quiet)."""
    frames = len(samples) // FRAME
    if frames == 0:
        return min(max(nominal, 0.0), len(samples) / SAMPLE_RATE)
    energy = np.square(samples[: frames * FRAME].astype(np.float64)).reshape(frames, FRAME).mean(axis=1)
    quiet = np.flatnonzero(energy <= energy.min() * 1.5 + 1e-12)
    centres = (quiet * FRAME + FRAME / 2) / SAMPLE_RATE
    return float(centres[np.argmin(np.abs(centres - nominal))])


class PartWindow:
    """An ``AudioSink`` that hands ``inner`` only one part's samples; ``agree(boundary, proposed)``
    returns the cut the store keeps for a boundary (the index of the part that starts there)."""

    def __init__(
        self, inner: AudioSink, part: PartRange, agree: Callable[[int, float], float], window_seconds: float
    ) -> None:
        self.inner = inner
        self.part = part
        self.agree = agree
        self.window = window_seconds
        # Where the decoder should start: the audio before the lead window is not this part's.
        self.start_seconds = 0.0 if part.is_first else max(0.0, part.start - window_seconds)
        # Where it may stop (None: at the end): an HLS fetch reads only the segments in between.
        self.end_seconds = None if part.is_last else part.end + window_seconds
        self._pos = round(self.start_seconds * SAMPLE_RATE)  # the next sample's index on the video's timeline
        self._held: list[np.ndarray] = []
        self._held_from = self._pos
        self.cut_start: float | None = 0.0 if part.is_first else None
        self.cut_end: float | None = None
        self._tail_from = None if part.is_last else round((part.end - window_seconds) * SAMPLE_RATE)
        self._fed = 0

    @property
    def fed_seconds(self) -> float:
        return self._fed / SAMPLE_RATE

    def begin(self, declared_seconds: float | None) -> None:
        if self.part.is_last:
            length = None if declared_seconds is None else max(0.0, declared_seconds - self.part.start)
        else:
            length = self.part.end - self.part.start
        self.inner.begin(None if length is None else length + self.window)

    def feed(self, samples: np.ndarray) -> None:
        if self.cut_end is not None:
            raise PartComplete
        start, self._pos = self._pos, self._pos + len(samples)
        if self.cut_start is None:  # in the lead window
            self._held.append(samples)
            if self._pos >= round((self.part.start + self.window) * SAMPLE_RATE):
                self._cut_lead()
            return
        self._pass(samples, start)

    def finish(self) -> None:
        """The audio ended: cut whatever window is still open where its audio ends."""
        if self.cut_start is None:
            self._cut_lead()
        if self.cut_end is None and self._held:
            self._cut_tail(final=True)

    def _pass(self, samples: np.ndarray, start: int) -> None:
        if self._held or (self._tail_from is not None and start + len(samples) > self._tail_from):
            keep = 0 if self._held else max(0, self._tail_from - start)  # type: ignore[operator]
            self._send(samples[:keep])
            if not self._held:
                self._held_from = start + keep
            self._held.append(samples[keep:])
            if self._pos >= round((self.part.end + self.window) * SAMPLE_RATE):
                self._cut_tail(final=False)
            return
        self._send(samples)

    def _send(self, samples: np.ndarray) -> None:
        if len(samples):
            self._fed += len(samples)
            self.inner.feed(samples)

    def _decide(self, boundary: int, nominal: float) -> tuple[np.ndarray, int]:
        held = np.concatenate(self._held) if self._held else np.zeros(0, dtype=np.float32)
        self._held = []
        held_from = self._held_from / SAMPLE_RATE
        cut = self.agree(boundary, held_from + quietest_moment(held, nominal - held_from))
        return held, min(max(round((cut - held_from) * SAMPLE_RATE), 0), len(held))

    def _cut_lead(self) -> None:
        held, at = self._decide(self.part.index, self.part.start)
        self.cut_start = (self._held_from + at) / SAMPLE_RATE
        self._pass(held[at:], self._held_from + at)

    def _cut_tail(self, *, final: bool) -> None:
        held, at = self._decide(self.part.index + 1, self.part.end)
        self._send(held[:at])
        self.cut_end = (self._held_from + at) / SAMPLE_RATE
        if not final:
            raise PartComplete
