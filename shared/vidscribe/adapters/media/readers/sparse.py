"""A seekable, read-only file object over a remote file fetched by plan.

Every byte the reader asks for is one of: a span already held (the probe's first bytes, the MP4 index),
a range of the plan (fetched ahead by a :class:`WindowedFetcher`), or -- with an audio-only plan --
neither, and then it reads as zero. That last case is what lets FFmpeg's own MP4 demuxer run unchanged
on a file of which only the index and the audio chunks were fetched: it walks the virtual file, the
video packets it discards are zeros it never decodes, and the audio decodes bit-identically (DESIGN.md,
"The demuxer reads every byte").
"""

from __future__ import annotations

import bisect
import io
from typing import Any

import numpy as np

from ....errors import VidscribeError
from ..plan import Plan
from .parallel import WindowedFetcher


class PlannedFile(io.RawIOBase):
    def __init__(
        self,
        size: int,
        held: dict[int, bytes],
        plan: Plan,
        fetcher: WindowedFetcher,
        *,
        content_type: str | None = None,
    ) -> None:
        super().__init__()
        self.size = size
        self._held = sorted((start, data) for start, data in held.items() if data)
        self._held_starts = [start for start, _ in self._held]
        self._starts = plan.starts
        self._ends = plan.starts + plan.lengths
        self._fetcher = fetcher
        self._pos = 0
        self.head = held.get(0, b"")[:64 * 1024]
        self.content_type = content_type
        self.failure: VidscribeError | None = None  # see HttpRangeReader.failure

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self.size}.get(whence)
        if base is None:
            raise ValueError(f"invalid whence {whence}")
        if base + offset < 0:
            raise ValueError(f"negative seek position {base + offset}")
        self._pos = base + offset
        return self._pos

    def read(self, n: int = -1) -> bytes:
        if self.closed:
            raise ValueError("read from a closed file")
        if n is None or n < 0:
            n = self.size - self._pos
        n = min(n, self.size - self._pos)
        if n <= 0:
            return b""
        try:
            data = self._read_at(self._pos, n)
        except VidscribeError as exc:
            self.failure = exc
            raise
        self._pos += len(data)
        return data

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        data = self.read(len(view))
        view[: len(data)] = data
        return len(data)

    def _read_at(self, pos: int, n: int) -> bytes:
        """Bytes from ``pos``: up to the end of the span, range or zero gap that holds ``pos``."""
        h = bisect.bisect_right(self._held_starts, pos) - 1
        if h >= 0:
            start, data = self._held[h]
            if pos < start + len(data):
                return data[pos - start : pos - start + n]
        i = int(np.searchsorted(self._starts, pos, side="right")) - 1
        if i >= 0 and pos < self._ends[i]:
            start = int(self._starts[i])
            return self._fetcher.get(i)[pos - start : pos - start + n]
        # A gap: zeros up to whatever comes next. Move the fetch window on to the next range.
        following = [self.size]
        if i + 1 < len(self._starts):
            following.append(int(self._starts[i + 1]))
            self._fetcher.advance(i + 1)
        if h + 1 < len(self._held):
            following.append(self._held[h + 1][0])
        return bytes(min(n, min(following) - pos))

    def close(self) -> None:
        if not self.closed:
            self._fetcher.close()
            self._held = []
        super().close()
