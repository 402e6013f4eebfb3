"""A seekable, read-only file object over HTTP ``Range`` requests, with a small read-ahead cache.

FFmpeg can jump to an MP4's index at the end of the file and back without the file ever being held
in memory or written to disk. Servers without Range support get a bounded sequential stream instead.
"""

from __future__ import annotations

import io
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import requests

from ....errors import FetchError, FetchRefused, MediaTooLarge, VidscribeError
from ....redaction import redact
from ..deadline import Deadline
from ..transports.dialer import Dialer
from ..transports.http import HttpTransport, content_length, human_bytes, parse_content_range, status_error

DEFAULT_READ_AHEAD = 1024 * 1024
HEAD_BYTES = 64 * 1024  # how much of the start of a file is kept for sniffing / error messages


class HttpRangeReader(io.RawIOBase):
    """A read-only file object over an HTTP(S) URL.

    The requests go through :class:`HttpTransport` (the URL guard on every hop, timeouts, the
    deadline). The first request
    (``Range: bytes=0-<read_ahead-1>``) learns the size. If the server honours ranges the reader is seekable and
    fetches ``read_ahead_bytes`` blocks at the position being read, keeping the last
    ``cache_blocks`` blocks (FFmpeg returns to the start of an MP4 after reading its index at the
    end: that is a cache hit instead of a second download). Memory: ``cache_blocks * read_ahead``.

    If the server ignores ``Range`` (answers 200), the body of that first response is read
    sequentially and :meth:`seekable` is False -- unless the whole file fits in one read-ahead
    block, which is then held and seekable.

    ``bytes_fetched`` counts body bytes received; ``requests`` counts HTTP requests made.
    Memory is bounded by the cache: ``cache_blocks * read_ahead_bytes``.
    """

    def __init__(
        self,
        url: str,
        *,
        session: requests.Session | None = None,
        allow_private: bool = False,
        max_bytes: int = 4 * 1024**3,
        connect_timeout: float = 10.0,
        read_timeout: float = 30.0,
        total_timeout: float | None = None,
        read_ahead_bytes: int = DEFAULT_READ_AHEAD,
        max_redirects: int = 5,
        cache_blocks: int = 2,
        url_guard: Callable[[str], None] | None = None,
        first_request_bytes: int | None = None,
        dialer: Dialer | None = None,
    ) -> None:
        """``first_request_bytes`` (default ``read_ahead_bytes``): the size of the first Range request.
        ``dialer``: the fetch's (its deadline and resolved names); else one of its own from
        ``allow_private`` and ``total_timeout``."""
        super().__init__()
        if read_ahead_bytes < 1:
            raise ValueError("read_ahead_bytes must be positive")
        if dialer is None:
            dialer = Dialer(Deadline(total_timeout, url), allow_private=allow_private)
        self._http = HttpTransport(
            url,
            dialer=dialer,
            session=session,
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            max_redirects=max_redirects,
            url_guard=url_guard,
        )
        self.max_bytes = max_bytes
        self.read_ahead_bytes = read_ahead_bytes
        self.cache_blocks = max(1, cache_blocks)
        self.first_request_bytes = max(1, first_request_bytes or read_ahead_bytes)
        # (seconds to the first byte, body bytes, seconds for the body) of the first request
        self.first_timing: tuple[float, int, float] | None = None
        # The last error raised to a reader of this file: FFmpeg may see a failed read as the end
        # of the file, so the decoder checks this before blaming the media itself.
        self.failure: VidscribeError | None = None
        self.size: int | None = None
        self.content_type: str | None = None
        self.head = b""  # the first bytes of the file, for sniffing and error messages
        self._pos = 0
        self._blocks: OrderedDict[int, bytes] = OrderedDict()
        self._seekable = False
        self._stream: requests.Response | None = None  # sequential mode
        self._stream_pending = b""  # sequential mode: bytes peeked but not yet consumed
        try:
            self._http.check()
            self._open()
        except BaseException:
            self.close()
            raise

    @property
    def url(self) -> str:
        """The URL actually read (after redirects)."""
        return self._http.url

    @property
    def bytes_fetched(self) -> int:
        return self._http.bytes_fetched

    @property
    def requests(self) -> int:
        return self._http.requests

    def _note_head(self, chunk: bytes) -> None:
        """Keep the file's first bytes (sequential mode: chunks arrive in order from offset 0)."""
        if len(self.head) < HEAD_BYTES and chunk:
            self.head += chunk[: HEAD_BYTES - len(self.head)]

    def _check_size(self, size: int | None) -> None:
        if size is not None and size > self.max_bytes:
            raise MediaTooLarge(
                f"the media at {redact(self._http.original_url)!r} is {human_bytes(size)}, more than the "
                f"{human_bytes(self.max_bytes)} allowed (MAX_MEDIA_BYTES)"
            )

    def _open(self) -> None:
        started = time.monotonic()
        resp = self._http.get((0, self.first_request_bytes - 1))
        headers_at = time.monotonic()
        self.content_type = resp.headers.get("Content-Type")
        status = resp.status_code
        if status == 206:
            first, last, total = parse_content_range(resp.headers.get("Content-Range"))
            resp_ok = first == 0 and last is not None and last >= 0
            if not resp_ok:
                resp.close()
                raise FetchError(f"the media server sent an unusable Content-Range for {redact(self._http.url)!r}")
            self._check_size(total)
            if total is None:
                # Size unknown ("bytes 0-N/*"): seeking from the end is impossible; stream it whole.
                resp.close()
                self._stream = self._http.get(None)
                if self._stream.status_code != 200:
                    status, reason = self._stream.status_code, self._stream.reason or ""
                    raise status_error(status, reason, self._http.url)
                self.size = content_length(self._stream)
                self._check_size(self.size)
                self._seekable = False
                return
            self.size = total
            assert last is not None  # resp_ok
            want = min(last + 1, self.first_request_bytes, total)  # never more than asked for
            try:
                block = self._http.read_body(resp, want)
            finally:
                resp.close()
            self._expect(block, 0, want)
            ttfb = self._http.last_ttfb if self._http.last_ttfb is not None else headers_at - started
            self.first_timing = (ttfb, len(block), time.monotonic() - headers_at)
            self.head = block[:HEAD_BYTES]
            self._store(0, block)
            self._seekable = True
            return
        if status == 200:
            # The server ignored the Range header (whatever its Accept-Ranges says).
            length = content_length(resp)
            self._check_size(length)
            self.size = length
            if length is not None and length <= self.read_ahead_bytes:
                # The whole file fits in one block: hold it and seek within it.
                try:
                    block = self._http.read_body(resp, length)
                finally:
                    resp.close()
                self._expect(block, 0, length)
                self.head = block[:HEAD_BYTES]
                self._store(0, block)
                self._seekable = True
                return
            self._stream = resp  # read it front to back; bounded by max_bytes and the deadline
            self._seekable = False
            return
        if status == 416:
            # Nothing to give at offset 0: an empty file.
            _, _, total = parse_content_range(resp.headers.get("Content-Range"))
            resp.close()
            if total:
                raise FetchRefused(
                    f"the media server refused a range request for {redact(self._http.url)!r} (HTTP 416)"
                )
            self.size = 0
            self._seekable = True
            return
        reason = resp.reason or ""
        resp.close()
        raise status_error(status, reason, self._http.url)

    def _expect(self, block: bytes, start: int, want: int) -> None:
        _expect(self._http, block, start, want)

    def _store(self, start: int, block: bytes) -> None:
        self._blocks[start] = block
        self._blocks.move_to_end(start)
        while len(self._blocks) > self.cache_blocks:
            self._blocks.popitem(last=False)

    @property
    def holds_everything(self) -> bool:
        """Whether the whole file is in memory already (it fitted in the first response)."""
        if not self._seekable or self.size is None:
            return False
        return self.size == 0 or self.size <= len(self._blocks.get(0, b""))

    def first_block(self) -> bytes:
        """The bytes the first request brought (ranged mode), for whoever reads on from here."""
        return self._blocks.get(0, b"")

    def _fetch_block(self, start: int) -> bytes:
        assert self.size is not None
        length = min(self.read_ahead_bytes, self.size - start)
        # Stop where a cached block begins: no byte is downloaded twice while it is cached.
        for cached in self._blocks:
            if start < cached < start + length:
                length = cached - start
        block = fetch_range(self._http, start, length, self.size)
        self._store(start, block)
        return block

    # --- the file object -------------------------------------------------------------------------
    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return self._seekable

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if self.closed:
            raise ValueError("seek on a closed reader")
        if not self._seekable:
            raise io.UnsupportedOperation("the media server does not support Range requests")
        if whence == io.SEEK_SET:
            pos = offset
        elif whence == io.SEEK_CUR:
            pos = self._pos + offset
        elif whence == io.SEEK_END:
            if self.size is None:
                raise io.UnsupportedOperation("the media's size is unknown")
            pos = self.size + offset
        else:
            raise ValueError(f"invalid whence {whence}")
        if pos < 0:
            raise ValueError(f"negative seek position {pos}")
        self._pos = pos
        return pos

    def read(self, n: int = -1) -> bytes:
        if self.closed:
            raise ValueError("read from a closed reader")
        if n is None or n < 0:
            return self.readall()
        if n == 0:
            return b""
        try:
            data = self._read_sequential(n) if not self._seekable else self._read_ranged(n)
        except VidscribeError as exc:
            self.failure = exc
            raise
        self._pos += len(data)
        return data

    def readall(self) -> bytes:
        chunks = []
        while chunk := self.read(self.read_ahead_bytes):
            chunks.append(chunk)
        return b"".join(chunks)

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        data = self.read(len(view))
        view[: len(data)] = data
        return len(data)

    def _read_ranged(self, n: int) -> bytes:
        if self.size is None or self._pos >= self.size:
            return b""
        pos = self._pos
        for start, block in self._blocks.items():
            if start <= pos < start + len(block):
                self._blocks.move_to_end(start)
                break
        else:
            start, block = pos, self._fetch_block(pos)
        offset = pos - start
        return block[offset : offset + n]

    def _read_sequential(self, n: int) -> bytes:
        if self._stream_pending:
            data, self._stream_pending = self._stream_pending[:n], self._stream_pending[n:]
            return data
        if self._stream is None:
            return b""
        data = self._http.read_some(self._stream, n)
        self._note_head(data)
        if self.bytes_fetched > self.max_bytes:
            self._stream.close()
            self._stream = None
            raise MediaTooLarge(
                f"the media at {redact(self._http.original_url)!r} is larger than the "
                f"{human_bytes(self.max_bytes)} allowed (MAX_MEDIA_BYTES)"
            )
        if not data:
            self._stream.close()
            self._stream = None
            if self.size is not None and self._pos < self.size:
                raise FetchError(
                    f"the connection to {redact(self._http.url)!r} closed early: got {self._pos} of {self.size} bytes"
                )
        return data

    def peek(self, n: int) -> bytes:
        """Up to ``n`` bytes from the current position without consuming them (sequential mode
        reads them from the stream and keeps them; ranged mode reads through the cache)."""
        if self._seekable:
            pos = self._pos
            data = b""
            while len(data) < n:
                chunk = self.read(n - len(data))
                if not chunk:
                    break
                data += chunk
            self._pos = pos
            return data
        while len(self._stream_pending) < n and self._stream is not None:
            chunk = self._http.read_some(self._stream, n - len(self._stream_pending))
            self._note_head(chunk)
            if not chunk:
                self._stream.close()
                self._stream = None
                break
            self._stream_pending += chunk
        return self._stream_pending[:n]

    def close(self) -> None:
        if self.closed:
            return
        if self._stream is not None:
            self._stream.close()
            self._stream = None
        self._blocks.clear()
        self._stream_pending = b""
        self._http.close()
        super().close()


def _expect(http: HttpTransport, block: bytes, start: int, want: int) -> None:
    if len(block) < want:
        raise FetchError(
            f"the connection to {redact(http.url)!r} closed early: got {len(block)} of {want} bytes at offset {start}"
        )


def fetch_range(http: HttpTransport, start: int, length: int, size: int) -> bytes:
    """Exactly ``length`` bytes at ``start`` of a file of ``size`` bytes, with one Range request."""
    resp = http.get((start, start + length - 1))
    try:
        if resp.status_code == 206:
            first, _last, total = parse_content_range(resp.headers.get("Content-Range"))
            if first != start:
                raise FetchError(f"the media server sent the wrong range for {redact(http.url)!r}")
            if total is not None and total != size:
                raise FetchError(f"the media at {redact(http.url)!r} changed size while being read")
        elif resp.status_code == 200:
            raise FetchError(f"the media server stopped honouring Range requests for {redact(http.url)!r}")
        else:
            raise status_error(resp.status_code, resp.reason or "", http.url)
        block = http.read_body(resp, length)
    finally:
        resp.close()
    _expect(http, block, start, length)
    return block
