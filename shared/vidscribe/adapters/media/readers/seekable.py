"""The one seekable reader: a read-only file object over a remote file of known size.

FFmpeg reads it like a file on disk (PyAV asks its size with ``seek(0, SEEK_END)``; an MP4's demuxer
jumps to an index at the end and back), and it is never held whole nor written to disk. Its bytes come
from one of three places, in this order:

* spans already **held** (the first answer's bytes, an MP4 index read for the plan; a small file whole);
* the reader's **source** of the rest (a :class:`ByteSource`): either :class:`OnDemandBlocks`, blocks
  read ahead where the reader is, one request at a time, a few kept (FFmpeg returns to the start of an
  MP4 after reading its index at the end: a cache hit rather than a second download), or a plan's ranges
  fetched ahead by the parallel reader, with zeros between them (:class:`~.sparse.PlannedRanges`);
* nothing: a file held whole has no source, and reads past what it holds as zeros.
"""

from __future__ import annotations

import bisect
import io
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, Protocol

from ....errors import VidscribeError
from ..transports.ranges import RangeClient, Tally

HEAD_BYTES = 64 * 1024  # how much of the start of a file is kept for sniffing / error messages


class ByteSource(Protocol):
    """Where a seekable file's bytes that are not held come from."""

    def read(self, pos: int, n: int, end: int) -> bytes:
        """Bytes from ``pos``: at least one, at most ``n``, none at or past ``end`` (the next held span, or
        the end of the file)."""
        ...

    def close(self) -> None: ...


class SeekableFile(io.RawIOBase):
    """A seekable, read-only file of ``size`` bytes: ``held`` spans ({offset: bytes}), the rest from ``source``.

    ``tally`` (the fetch's) says what reading it has cost so far (``bytes_fetched``, ``requests``);
    ``on_close`` releases what the file was read with (its connections). ``failure`` is the last error
    raised to a reader: FFmpeg may see a failed read as the end of the file, so the decoder checks it
    before blaming the media itself.
    """

    def __init__(
        self,
        size: int,
        held: dict[int, bytes],
        source: ByteSource | None = None,
        *,
        content_type: str | None = None,
        tally: Tally | None = None,
        on_close: Callable[[], None] | None = None,
    ) -> None:
        super().__init__()
        self.size = size
        self._held = sorted((start, data) for start, data in held.items() if data)
        self._held_starts = [start for start, _ in self._held]
        self._source = source
        self._tally = tally or Tally()
        self._on_close = on_close
        self._pos = 0
        self.head = held.get(0, b"")[:HEAD_BYTES]
        self.content_type = content_type
        self.failure: VidscribeError | None = None

    @property
    def bytes_fetched(self) -> int:
        return self._tally.bytes_fetched

    @property
    def requests(self) -> int:
        return self._tally.requests

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if self.closed:
            raise ValueError("seek on a closed file")
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self.size}.get(whence)
        if base is None:
            raise ValueError(f"invalid whence {whence}")
        if base + offset < 0:
            raise ValueError(f"negative seek position {base + offset}")
        self._pos = base + offset
        return self._pos

    def read(self, n: int | None = -1) -> bytes:
        if self.closed:
            raise ValueError("read from a closed file")
        if n is None or n < 0:
            return self.readall()
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

    def readall(self) -> bytes:
        chunks = []
        while chunk := self.read(max(1, min(self.size - self._pos, 1024 * 1024))):
            chunks.append(chunk)
        return b"".join(chunks)

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        data = self.read(len(view))
        view[: len(data)] = data
        return len(data)

    def _read_at(self, pos: int, n: int) -> bytes:
        """Bytes from ``pos``: up to the end of the held span that holds it, else from the source, never
        past the next held span."""
        h = bisect.bisect_right(self._held_starts, pos) - 1
        if h >= 0:
            start, data = self._held[h]
            if pos < start + len(data):
                return data[pos - start : pos - start + n]
        end = self._held[h + 1][0] if h + 1 < len(self._held) else self.size
        if self._source is None:
            return bytes(min(n, end - pos))
        return self._source.read(pos, n, end)

    def close(self) -> None:
        if not self.closed:
            try:
                if self._source is not None:
                    self._source.close()
                if self._on_close is not None:
                    self._on_close()
            finally:
                self._held = []
        super().close()


class OnDemandBlocks:
    """Blocks of ``block_bytes`` fetched where the reader is, one request at a time through ``client``,
    the last ``keep`` kept (memory: ``keep * block_bytes``); no byte is fetched twice while it is kept."""

    def __init__(self, client: RangeClient, block_bytes: int, keep: int = 2) -> None:
        if block_bytes < 1:
            raise ValueError("block_bytes must be positive")
        self._client = client
        self._block_bytes = block_bytes
        self._keep = max(1, keep)
        self._blocks: OrderedDict[int, bytes] = OrderedDict()

    def read(self, pos: int, n: int, end: int) -> bytes:
        for start, block in self._blocks.items():
            if start <= pos < start + len(block):
                self._blocks.move_to_end(start)
                return block[pos - start : pos - start + n]
        length = min(self._block_bytes, end - pos)
        for cached in self._blocks:  # stop where a kept block begins
            if pos < cached < pos + length:
                length = cached - pos
        block = self._client.fetch(pos, length)
        self._blocks[pos] = block
        while len(self._blocks) > self._keep:
            self._blocks.popitem(last=False)
        return block[:n]

    def close(self) -> None:
        self._blocks.clear()
        self._client.close()
