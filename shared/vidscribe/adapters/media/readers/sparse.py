"""Only the planned bytes: a plan's ranges, fetched ahead by the parallel reader, and zeros between them.

This is the source of a :class:`~.seekable.SeekableFile` read by plan. Every byte the reader asks for is
one of: a span already held (the first answer's, the MP4 index), a range of the plan (fetched ahead by a
:class:`~.parallel.WindowedFetcher`), or -- with an audio-only plan -- neither, and then it reads as
zero. That last case is what lets FFmpeg's own MP4 demuxer run unchanged on a file of which only the
index and the audio chunks were fetched: it walks the virtual file, the video packets it discards are
zeros it never decodes, and the audio decodes bit-identically (DESIGN.md, "The demuxer reads every byte").
"""

from __future__ import annotations

import numpy as np

from ..plan import Plan
from .parallel import WindowedFetcher


class PlannedRanges:
    """The ranges of ``plan`` (item ``i`` of ``fetcher`` is range ``i``); zeros wherever the plan has none."""

    def __init__(self, plan: Plan, fetcher: WindowedFetcher) -> None:
        self._starts = plan.starts
        self._ends = plan.starts + plan.lengths
        self._fetcher = fetcher

    def read(self, pos: int, n: int, end: int) -> bytes:
        i = int(np.searchsorted(self._starts, pos, side="right")) - 1
        if i >= 0 and pos < self._ends[i]:
            start = int(self._starts[i])
            return self._fetcher.get(i)[pos - start : pos - start + n]
        # A gap: zeros up to whatever comes next. Move the fetch window on to the next range.
        if i + 1 < len(self._starts):
            end = min(end, int(self._starts[i + 1]))
            self._fetcher.advance(i + 1)
        return bytes(min(n, end - pos))

    def close(self) -> None:
        self._fetcher.close()
