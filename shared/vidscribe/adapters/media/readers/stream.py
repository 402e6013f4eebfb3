"""Sequential readers: bytes read once, front to back, never seekable.

* :class:`Stream` reads what ``pull(n)`` gives until it gives nothing: an HLS playlist's init section and
  segments as one stream (``hls.py``).
* :class:`HttpStream` reads an HTTP answer that carries the whole file (a server without Range support,
  or one that does not say the size), within MAX_MEDIA_BYTES; it can ``peek`` at the first bytes, so that
  the decoder refuses an MP4 whose index is at its end before downloading it (``UnseekableMedia``).

A failed read is never raised into FFmpeg: the stream keeps the error as ``failure`` and ends there.
FFmpeg takes a failed read for the end of the file while it skips a box and reads again, and PyAV would
print every raise after the first; the decoder raises ``failure`` itself once FFmpeg stops
(``decode_audio``). Memory: what the caller asks for, plus what was peeked.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import requests

from ....errors import FetchError, MediaTooLarge, VidscribeError
from ....redaction import redact
from ..sizes import human_bytes
from ..transports.http import HttpTransport
from .seekable import HEAD_BYTES


class Stream(io.RawIOBase):
    """The bytes ``pull(n)`` gives, in order, to its end (``b""``); ``head``: the first ``head_bytes`` of them,
    for sniffing and error messages. ``on_close`` releases what the stream was read with."""

    def __init__(
        self,
        pull: Callable[[int], bytes],
        *,
        content_type: str | None = None,
        head_bytes: int = 64,
        on_close: Callable[[], None] | None = None,
    ) -> None:
        super().__init__()
        self._pull_bytes = pull
        self._head_bytes = head_bytes
        self._on_close = on_close
        self.pulled = 0  # bytes taken from the source so far
        self.head = b""
        self.content_type = content_type
        self.failure: VidscribeError | None = None

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def read(self, n: int | None = -1) -> bytes:
        """The next bytes (at most ``n``); after a failure, the end of the stream."""
        if self.closed:
            raise ValueError("read from a closed stream")
        if n is None or n < 0:
            return self.readall()
        if self.failure is not None or n == 0:
            return b""
        try:
            return self._next(n)
        except VidscribeError as exc:
            self.failure = exc
            return b""

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        data = self.read(len(view))
        view[: len(data)] = data
        return len(data)

    def _next(self, n: int) -> bytes:
        return self._pull(n)

    def _pull(self, n: int) -> bytes:
        piece = self._pull_bytes(n)
        if len(self.head) < self._head_bytes and piece:
            self.head += piece[: self._head_bytes - len(self.head)]
        self.pulled += len(piece)
        return piece

    def close(self) -> None:
        if not self.closed and self._on_close is not None:
            self._on_close()
        super().close()


class HttpStream(Stream):
    """The body of ``resp`` (an answer with the whole file, ``size`` bytes if it said so) read front to back
    through ``http``; MediaTooLarge past ``max_bytes``, FetchError if it ends before ``size``."""

    def __init__(
        self,
        http: HttpTransport,
        resp: requests.Response,
        *,
        size: int | None,
        max_bytes: int,
        content_type: str | None,
        on_close: Callable[[], None] | None = None,
    ) -> None:
        super().__init__(self._read_body, content_type=content_type, head_bytes=HEAD_BYTES, on_close=on_close)
        self.size = size
        self._http = http
        self._resp: requests.Response | None = resp
        self._max_bytes = max_bytes
        self._pending = b""  # peeked, not yet read

    @property
    def url(self) -> str:
        """The URL read (after redirects)."""
        return self._http.url

    @property
    def bytes_fetched(self) -> int:
        return self._http.tally.bytes_fetched

    @property
    def requests(self) -> int:
        return self._http.tally.requests

    def _next(self, n: int) -> bytes:
        if self._pending:
            data, self._pending = self._pending[:n], self._pending[n:]
            return data
        return self._pull(n)

    def peek(self, n: int) -> bytes:
        """Up to ``n`` bytes from the current position without consuming them (kept until read). Raises
        what stops the download: the caller is Python, not FFmpeg."""
        while len(self._pending) < n:
            chunk = self._pull(n - len(self._pending))
            if not chunk:
                break
            self._pending += chunk
        return self._pending[:n]

    def _read_body(self, n: int) -> bytes:
        if self._resp is None:
            return b""
        data = self._http.read_some(self._resp, n)
        if self.pulled + len(data) > self._max_bytes:
            self._end()
            raise MediaTooLarge(
                f"the media at {redact(self._http.original_url)!r} is larger than the "
                f"{human_bytes(self._max_bytes)} allowed (MAX_MEDIA_BYTES)"
            )
        if not data:
            self._end()
            if self.size is not None and self.pulled < self.size:
                raise FetchError(
                    f"the connection to {redact(self._http.url)!r} closed early: got {self.pulled} of {self.size} bytes"
                )
        return data

    def _end(self) -> None:
        if self._resp is not None:
            self._resp.close()
            self._resp = None

    def close(self) -> None:
        if not self.closed:
            self._pending = b""
            self._end()
        super().close()
