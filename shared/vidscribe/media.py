"""The media layer: stream a video over HTTP(S) and decode its audio to 16 kHz mono, in memory.

Three pieces, each usable alone:

* :class:`HttpRangeReader` -- a seekable, read-only file object over HTTP ``Range`` requests with a
  small cache of read-ahead blocks (1 MiB each by default), so FFmpeg can jump to an MP4's index at
  the end of the file and back without the file ever being held in memory or written to disk.
  Servers without Range support get a bounded sequential stream instead.
* :func:`decode_audio` -- PyAV demuxes only the best audio stream (every other stream is discarded
  in the demuxer), decodes it and resamples incrementally to 16 kHz mono float32. Memory grows with
  the audio's duration (64 KB per second), never with the video's size.
* :class:`HttpMediaSource` -- the ``MediaSource`` port's adapter: URL guard, reader, decoder.

Every failure leaves as one of the error types in :mod:`vidscribe.errors`, with a message a person
can act on. An empty decode is never a success: faster-whisper would silently return nothing.
"""

from __future__ import annotations

import io
import os
import time
from collections import OrderedDict
from pathlib import Path
from collections.abc import Callable
from typing import Any, BinaryIO

import av
import numpy as np
import requests
import urllib3
from av.stream import Discard

from .config import Settings
from .errors import (
    FetchError,
    FetchRefused,
    MediaTooLarge,
    MediaTooLong,
    NoAudioTrack,
    NotMedia,
    TruncatedMedia,
    UnseekableMedia,
    UrlRejected,
    VidscribeError,
)
from .models import SAMPLE_RATE, DecodedAudio
from .urlguard import GuardedHTTPAdapter, check_redirect, check_url, redact

DEFAULT_READ_AHEAD = 1024 * 1024
HEAD_BYTES = 64 * 1024  # how much of the start of a file is kept for sniffing / error messages
_REDIRECT_STATUSES = {301, 302, 303, 307, 308}
_NETWORK_ERRORS = (requests.RequestException, urllib3.exceptions.HTTPError, OSError)


def make_session(allow_private: bool) -> requests.Session:
    """A requests session for fetching media.

    ``trust_env`` is off: no proxy from the environment (a proxy would resolve names itself, past
    the address guard) and no ``.netrc`` credentials sent to arbitrary hosts. Unless private
    addresses are allowed, every connection checks the address it actually connected to.
    """
    session = requests.Session()
    session.trust_env = False
    if not allow_private:
        session.mount("http://", GuardedHTTPAdapter())
        session.mount("https://", GuardedHTTPAdapter())
    session.headers.update({"Accept-Encoding": "identity", "User-Agent": "vidscribe"})
    return session


def _parse_content_range(value: str | None) -> tuple[int | None, int | None, int | None]:
    """``bytes 0-99/1234`` -> (0, 99, 1234); ``bytes */1234`` -> (None, None, 1234); unknown parts None."""
    if not value:
        return None, None, None
    try:
        unit, _, rest = value.strip().partition(" ")
        if unit.lower() != "bytes":
            return None, None, None
        span, _, total_s = rest.partition("/")
        total = None if total_s.strip() in ("", "*") else int(total_s)
        if span.strip() == "*":
            return None, None, total
        first, _, last = span.partition("-")
        return int(first), int(last), total
    except ValueError:
        return None, None, None


def _content_length(resp: requests.Response) -> int | None:
    value = resp.headers.get("Content-Length", "").strip()
    return int(value) if value.isdigit() else None


def _status_error(status: int, reason: str, url: str) -> VidscribeError:
    what = f"the media server answered HTTP {status}{' ' + reason if reason else ''} for {redact(url)!r}"
    if status == 429 or status >= 500:
        return FetchError(what)
    return FetchRefused(what)


def _human_bytes(n: int | float) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} bytes"


class HttpRangeReader(io.RawIOBase):
    """A read-only file object over an HTTP(S) URL.

    The URL and every redirect hop are checked by the URL guard (``url_guard``, by default
    :func:`check_url` with ``allow_private``); unless private addresses are allowed, the session
    also checks the address each connection actually reached. The first request
    (``Range: bytes=0-<read_ahead-1>``) learns the size. If the server honours ranges the reader is seekable and
    fetches ``read_ahead_bytes`` blocks at the position being read, keeping the last
    ``cache_blocks`` blocks (FFmpeg returns to the start of an MP4 after reading its index at the
    end: that is a cache hit instead of a second download). Memory: ``cache_blocks * read_ahead``.

    If the server ignores ``Range`` (answers 200), the body of that first response is read
    sequentially and :meth:`seekable` is False -- unless the whole file fits in one read-ahead
    block, which is then held and seekable.

    ``bytes_fetched`` counts body bytes received; ``requests`` counts HTTP requests made.
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
    ) -> None:
        super().__init__()
        if read_ahead_bytes < 1:
            raise ValueError("read_ahead_bytes must be positive")
        self.url = url  # the URL actually read (after redirects)
        self.original_url = url
        self.allow_private = allow_private
        self.max_bytes = max_bytes
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.total_timeout = total_timeout
        self.read_ahead_bytes = read_ahead_bytes
        self.max_redirects = max_redirects
        self.cache_blocks = max(1, cache_blocks)
        # Checks the URL and every redirect target: check_url(url, allow_private) by default.
        self._guard = url_guard
        self._own_session = session is None
        self._session = session if session is not None else make_session(allow_private)
        self._deadline = None if total_timeout is None else time.monotonic() + total_timeout

        self.bytes_fetched = 0
        self.requests = 0
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
            if url_guard is None:
                check_url(url, allow_private)
            else:
                url_guard(url)
            self._open()
        except BaseException:
            self.close()
            raise

    # --- HTTP ------------------------------------------------------------------------------------
    def _remaining(self) -> float | None:
        if self._deadline is None:
            return None
        remaining = self._deadline - time.monotonic()
        if remaining <= 0:
            raise FetchError(
                f"fetching {redact(self.original_url)!r} took longer than {self.total_timeout:g} s "
                f"({_human_bytes(self.bytes_fetched)} received): the server is too slow"
            )
        return remaining

    def _get(self, byte_range: tuple[int, int] | None) -> requests.Response:
        """GET (with a Range header unless None), following redirects by hand, each hop guarded."""
        headers = {} if byte_range is None else {"Range": f"bytes={byte_range[0]}-{byte_range[1]}"}
        seen = {self.url}
        hops = 0
        while True:
            remaining = self._remaining()
            read_timeout = self.read_timeout if remaining is None else min(self.read_timeout, remaining)
            connect_timeout = self.connect_timeout if remaining is None else min(self.connect_timeout, remaining)
            self.requests += 1
            try:
                resp = self._session.get(
                    self.url,
                    headers=headers,
                    stream=True,
                    allow_redirects=False,
                    timeout=(connect_timeout, read_timeout),
                )
            except UrlRejected:
                raise
            except requests.exceptions.SSLError as exc:
                raise FetchRefused(f"TLS error talking to {redact(self.url)!r}: {exc}") from None
            except requests.Timeout:
                raise FetchError(
                    f"timed out connecting to or waiting for {redact(self.url)!r} "
                    f"(connect {connect_timeout:g} s, read {read_timeout:g} s)"
                ) from None
            except _NETWORK_ERRORS as exc:
                raise FetchError(f"cannot fetch {redact(self.url)!r}: {exc}") from None
            if resp.status_code in _REDIRECT_STATUSES:
                location = resp.headers.get("Location", "")
                resp.close()
                hops += 1
                if hops > self.max_redirects:
                    raise FetchRefused(
                        f"too many redirects (more than {self.max_redirects}) starting at "
                        f"{redact(self.original_url)!r}"
                    )
                target = check_redirect(self.url, location, self.allow_private, self._guard)
                if target in seen:
                    raise FetchRefused(f"redirect loop: {redact(self.url)!r} leads back to {redact(target)!r}")
                seen.add(target)
                self.url = target
                continue
            return resp

    def _read_body(self, resp: requests.Response, want: int | None) -> bytes:
        """Up to ``want`` bytes of a response body (all of it when None), within the deadline."""
        chunks: list[bytes] = []
        got = 0
        while want is None or got < want:
            self._remaining()
            step = 256 * 1024 if want is None else min(want - got, 256 * 1024)
            chunk = self._raw_read(resp, step)
            if not chunk:
                break
            chunks.append(chunk)
            got += len(chunk)
        return b"".join(chunks)

    def _raw_read(self, resp: requests.Response, n: int) -> bytes:
        """What the socket has (at most ``n`` bytes); blocks at most the read timeout."""
        try:
            chunk = resp.raw.read1(n)
        except urllib3.exceptions.ReadTimeoutError:
            raise FetchError(
                f"timed out reading {redact(self.url)!r} (no data for {self.read_timeout:g} s)"
            ) from None
        except _NETWORK_ERRORS as exc:
            raise FetchError(f"connection to {redact(self.url)!r} failed mid-transfer: {exc}") from None
        self.bytes_fetched += len(chunk)
        return chunk

    def _note_head(self, chunk: bytes) -> None:
        """Keep the file's first bytes (sequential mode: chunks arrive in order from offset 0)."""
        if len(self.head) < HEAD_BYTES and chunk:
            self.head += chunk[: HEAD_BYTES - len(self.head)]

    def _check_size(self, size: int | None) -> None:
        if size is not None and size > self.max_bytes:
            raise MediaTooLarge(
                f"the media at {redact(self.original_url)!r} is {_human_bytes(size)}, more than the "
                f"{_human_bytes(self.max_bytes)} allowed (MAX_MEDIA_BYTES)"
            )

    def _open(self) -> None:
        resp = self._get((0, self.read_ahead_bytes - 1))
        self.content_type = resp.headers.get("Content-Type")
        status = resp.status_code
        if status == 206:
            first, last, total = _parse_content_range(resp.headers.get("Content-Range"))
            resp_ok = first == 0 and last is not None and last >= 0
            if not resp_ok:
                resp.close()
                raise FetchError(f"the media server sent an unusable Content-Range for {redact(self.url)!r}")
            self._check_size(total)
            if total is None:
                # Size unknown ("bytes 0-N/*"): seeking from the end is impossible; stream it whole.
                resp.close()
                self._stream = self._get(None)
                if self._stream.status_code != 200:
                    status, reason = self._stream.status_code, self._stream.reason or ""
                    raise _status_error(status, reason, self.url)
                self.size = _content_length(self._stream)
                self._check_size(self.size)
                self._seekable = False
                return
            self.size = total
            want = min(last + 1, self.read_ahead_bytes, total)  # never more than asked for
            try:
                block = self._read_body(resp, want)
            finally:
                resp.close()
            self._expect(block, 0, want)
            self.head = block[:HEAD_BYTES]
            self._store(0, block)
            self._seekable = True
            return
        if status == 200:
            # The server ignored the Range header (whatever its Accept-Ranges says).
            length = _content_length(resp)
            self._check_size(length)
            self.size = length
            if length is not None and length <= self.read_ahead_bytes:
                # The whole file fits in one block: hold it and seek within it.
                try:
                    block = self._read_body(resp, length)
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
            _, _, total = _parse_content_range(resp.headers.get("Content-Range"))
            resp.close()
            if total:
                raise FetchRefused(f"the media server refused a range request for {redact(self.url)!r} (HTTP 416)")
            self.size = 0
            self._seekable = True
            return
        reason = resp.reason or ""
        resp.close()
        raise _status_error(status, reason, self.url)

    def _expect(self, block: bytes, start: int, want: int) -> None:
        if len(block) < want:
            raise FetchError(
                f"the connection to {redact(self.url)!r} closed early: got {len(block)} of {want} bytes at "
                f"offset {start}"
            )

    def _store(self, start: int, block: bytes) -> None:
        self._blocks[start] = block
        self._blocks.move_to_end(start)
        while len(self._blocks) > self.cache_blocks:
            self._blocks.popitem(last=False)

    def _fetch_block(self, start: int) -> bytes:
        assert self.size is not None
        length = min(self.read_ahead_bytes, self.size - start)
        # Stop where a cached block begins: no byte is downloaded twice while it is cached.
        for cached in self._blocks:
            if start < cached < start + length:
                length = cached - start
        resp = self._get((start, start + length - 1))
        try:
            if resp.status_code == 206:
                first, _last, total = _parse_content_range(resp.headers.get("Content-Range"))
                if first != start:
                    raise FetchError(f"the media server sent the wrong range for {redact(self.url)!r}")
                if total is not None and total != self.size:
                    raise FetchError(f"the media at {redact(self.url)!r} changed size while being read")
            elif resp.status_code == 200:
                raise FetchError(f"the media server stopped honouring Range requests for {redact(self.url)!r}")
            else:
                raise _status_error(resp.status_code, resp.reason or "", self.url)
            block = self._read_body(resp, length)
        finally:
            resp.close()
        self._expect(block, start, length)
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
        self._remaining()
        data = self._raw_read(self._stream, n)
        self._note_head(data)
        if self.bytes_fetched > self.max_bytes:
            self._stream.close()
            self._stream = None
            raise MediaTooLarge(
                f"the media at {redact(self.original_url)!r} is larger than the "
                f"{_human_bytes(self.max_bytes)} allowed (MAX_MEDIA_BYTES)"
            )
        if not data:
            self._stream.close()
            self._stream = None
            if self.size is not None and self._pos < self.size:
                raise FetchError(
                    f"the connection to {redact(self.url)!r} closed early: got {self._pos} of {self.size} bytes"
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
            self._remaining()
            chunk = self._raw_read(self._stream, n - len(self._stream_pending))
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
        if self._own_session:
            self._session.close()
        super().close()


# --- decoding --------------------------------------------------------------------------------------
_SIGNATURES = (
    (lambda h: h[4:8] in (b"ftyp", b"moov", b"mdat", b"free", b"skip", b"wide", b"pnot"), "MP4/QuickTime"),
    (lambda h: h[:4] == b"\x1a\x45\xdf\xa3", "Matroska/WebM"),
    (lambda h: h[:4] == b"OggS", "Ogg"),
    (lambda h: h[:4] == b"fLaC", "FLAC"),
    (lambda h: h[:4] == b"RIFF", "RIFF (WAV/AVI)"),
    (lambda h: h[:3] == b"ID3" or (len(h) > 1 and h[0] == 0xFF and h[1] & 0xE0 == 0xE0), "MPEG audio"),
    (lambda h: h[:4] == b"\x30\x26\xb2\x75", "ASF/WMV"),
    (lambda h: h[:3] == b"FLV", "FLV"),
    (lambda h: len(h) > 188 and h[0] == 0x47 and h[188] == 0x47, "MPEG-TS"),
)


def _sniff(head: bytes) -> str | None:
    for test, name in _SIGNATURES:
        if test(head):
            return name
    return None


def _show_head(head: bytes) -> str:
    sample = head[:40]
    text = sample.decode("ascii", errors="replace")
    printable = sum(ch.isprintable() or ch in "\r\n\t" for ch in text)
    if sample and printable >= 0.9 * len(text):
        return repr(" ".join(text.split()))
    return sample[:16].hex(" ")


def mp4_index_at_end(head: bytes) -> bool | None:
    """Whether the start of an MP4 shows its ``mdat`` before any ``moov`` (None: cannot tell)."""
    pos = 0
    while pos + 8 <= len(head):
        size = int.from_bytes(head[pos : pos + 4], "big")
        kind = head[pos + 4 : pos + 8]
        if kind == b"moov":
            return False
        if kind == b"mdat":
            return True
        if size == 1 and pos + 16 <= len(head):
            size = int.from_bytes(head[pos + 8 : pos + 16], "big")
        if size < 8:
            return None
        pos += size
    return None


def _source_head(fileobj: Any) -> tuple[bytes, str | None, bool]:
    """(first bytes, content type, from a server without Range support?) for error messages."""
    head = getattr(fileobj, "head", None)
    content_type = getattr(fileobj, "content_type", None)
    if head is None:
        try:
            pos = fileobj.tell()
            fileobj.seek(0)
            head = fileobj.read(64)
            fileobj.seek(pos)
        except (OSError, ValueError, AttributeError):
            head = b""
    unseekable_http = isinstance(fileobj, HttpRangeReader) and not fileobj.seekable()
    return bytes(head or b""), content_type, unseekable_http


_UNSEEKABLE_MP4 = (
    "the media server does not support HTTP Range requests and this MP4 keeps its index (moov) at "
    "the end of the file, so it cannot be streamed; serve it from a server with Range support or "
    "re-mux it with the index at the front (ffmpeg -movflags +faststart)"
)


def _open_failure(fileobj: Any, exc: Exception) -> VidscribeError:
    head, content_type, unseekable_http = _source_head(fileobj)
    if not head:
        return NotMedia("not a media file: it is empty (0 bytes)")
    kind = _sniff(head)
    if kind is None:
        sent = f"the server sent {content_type.split(';')[0]}" if content_type else "unrecognised content"
        return NotMedia(f"not a media file: {sent} (first bytes: {_show_head(head)})")
    if unseekable_http and kind == "MP4/QuickTime":
        return UnseekableMedia(_UNSEEKABLE_MP4)
    return TruncatedMedia(f"the file looks like {kind} but FFmpeg cannot open it (truncated or corrupt?): {exc}")


def _duration_of(container: Any, stream: Any) -> float | None:
    if stream.duration is not None and stream.time_base is not None and stream.duration > 0:
        return float(stream.duration * stream.time_base)
    if container.duration is not None and container.duration > 0:
        return container.duration / 1_000_000
    return None


class _SampleBuffer:
    """A growing float32 array: one allocation when the duration is known, amortised growth otherwise."""

    def __init__(self, expected: int) -> None:
        self._data = np.empty(max(expected, SAMPLE_RATE), dtype=np.float32)
        self.n = 0

    def append(self, samples: np.ndarray) -> None:
        end = self.n + len(samples)
        if end > len(self._data):
            grown = np.empty(max(end, int(len(self._data) * 1.5)), dtype=np.float32)
            grown[: self.n] = self._data[: self.n]
            self._data = grown
        self._data[self.n : end] = samples
        self.n = end

    def result(self) -> np.ndarray:
        if self.n == len(self._data):
            return self._data
        if self.n >= 0.9 * len(self._data):
            return self._data[: self.n]
        return self._data[: self.n].copy()


_MAX_DECODE_ERRORS = 20


def decode_audio(fileobj: BinaryIO | Any, *, max_duration_seconds: float) -> DecodedAudio:
    """Decode the best audio stream of a readable file object to 16 kHz mono float32.

    Raises NotMedia, NoAudioTrack, TruncatedMedia, UnseekableMedia, MediaTooLong (and whatever the
    file object raises, e.g. FetchError). ``source_bytes`` is left at 0: the caller knows it.
    """
    try:
        audio = _decode_file(fileobj, max_duration_seconds)
    except VidscribeError as exc:
        failure = getattr(fileobj, "failure", None)
        if failure is not None and failure is not exc:
            raise failure from None  # the download failed; the "bad media" is a consequence
        raise
    failure = getattr(fileobj, "failure", None)
    if failure is not None:
        raise failure  # FFmpeg took a failed read for the end of the file: the audio is incomplete
    return audio


def _decode_file(fileobj: Any, max_duration_seconds: float) -> DecodedAudio:
    seekable = getattr(fileobj, "seekable", lambda: True)()
    if not seekable and hasattr(fileobj, "peek"):
        # A stream we cannot seek: an MP4 whose index comes after its media data cannot be read
        # without downloading all of it first. Find out from its first bytes, not after 4 GB.
        head = fileobj.peek(HEAD_BYTES)
        if _sniff(head) == "MP4/QuickTime" and mp4_index_at_end(head):
            raise UnseekableMedia(_UNSEEKABLE_MP4)
    try:
        container = av.open(fileobj, mode="r", metadata_errors="replace")
    except VidscribeError:
        raise
    except (av.FFmpegError, ValueError, EOFError) as exc:
        raise _open_failure(fileobj, exc) from None
    try:
        if len(container.streams) == 0:  # opened, yet no stream at all: a stub or a cut-off header
            raise _open_failure(fileobj, ValueError("no streams found"))
        return _decode(container, max_duration_seconds)
    finally:
        container.close()


def _decode(container: Any, max_duration_seconds: float) -> DecodedAudio:
    stream = container.streams.best("audio")
    if stream is None:
        kinds = ", ".join(f"{s.type} {getattr(s.codec_context, 'name', None) or '?'}" for s in container.streams)
        raise NoAudioTrack(f"the media has no audio track (streams: {kinds or 'none'})")
    if stream.codec_context is None:
        raise NotMedia(f"no decoder for the audio codec of stream #{stream.index}")
    for other in container.streams:
        if other.index != stream.index:
            other.discard = Discard.all  # the demuxer skips (MP4: seeks past) what we never decode

    declared = _duration_of(container, stream)
    if declared is not None and declared > max_duration_seconds:
        raise MediaTooLong(
            f"the media lasts {declared:.0f} s, more than the {max_duration_seconds:g} s allowed "
            f"(MAX_DURATION_SECONDS)"
        )
    limit = int((max_duration_seconds + 1.0) * SAMPLE_RATE)
    expected = int(((declared or 60.0) + 1.0) * SAMPLE_RATE)
    buffer = _SampleBuffer(min(expected, limit))
    resampler = av.AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE)
    decode_errors = 0
    last_error: Exception | None = None

    def take(frames: list) -> None:
        for out in frames:
            buffer.append(out.to_ndarray().reshape(-1))
        if buffer.n > limit:
            raise MediaTooLong(
                f"the audio lasts more than the {max_duration_seconds:g} s allowed (MAX_DURATION_SECONDS)"
            )

    try:
        for packet in container.demux(stream):
            try:
                frames = packet.decode()
            except av.FFmpegError as exc:
                decode_errors += 1
                last_error = exc
                if decode_errors > _MAX_DECODE_ERRORS:
                    raise TruncatedMedia(
                        f"the audio cannot be decoded ({decode_errors} bad packets after "
                        f"{buffer.n / SAMPLE_RATE:.1f} s): {exc}"
                    ) from None
                continue
            for frame in frames:
                take(resampler.resample(frame))
        take(resampler.resample(None))
    except VidscribeError:
        raise
    except (av.FFmpegError, ValueError, EOFError) as exc:
        raise TruncatedMedia(
            f"the media is truncated or corrupt: reading failed after {buffer.n / SAMPLE_RATE:.1f} s of audio: {exc}"
        ) from None

    if buffer.n == 0:
        detail = f": {last_error}" if last_error else ""
        raise TruncatedMedia(f"the audio track decoded to no samples (truncated or corrupt media){detail}")
    _check_complete(container, stream, buffer.n / SAMPLE_RATE)
    return DecodedAudio(samples=buffer.result())


def _check_complete(container: Any, stream: Any, decoded: float) -> None:
    """FFmpeg ends a truncated file quietly, as if it were complete. Where the container states the
    audio track's exact duration (MP4/MOV per-track headers, FLAC's stream info; Matroska's segment
    duration when audio is its only stream), decoding much less than that means the file is cut."""
    fmt = container.format.name or ""
    declared: float | None = None
    if fmt.startswith("mov,") or fmt == "flac":
        if stream.duration and stream.time_base:
            declared = float(stream.duration * stream.time_base)
    elif fmt.startswith("matroska") and len(container.streams) == 1 and container.duration:
        declared = container.duration / 1_000_000
    if declared is None:
        return
    shortfall = declared - decoded
    if shortfall > max(0.25, 0.02 * declared):
        raise TruncatedMedia(
            f"the media is truncated: its audio track should last {declared:.1f} s but only {decoded:.1f} s "
            f"could be read"
        )


def open_local_audio(path: str | os.PathLike, max_duration_seconds: float) -> DecodedAudio:
    """Decode a local file (for ``vidscribe transcribe FILE``). Raises FileNotFoundError if absent."""
    p = Path(path)
    with p.open("rb") as f:
        audio = decode_audio(f, max_duration_seconds=max_duration_seconds)
    return DecodedAudio(samples=audio.samples, source_bytes=p.stat().st_size)


class HttpMediaSource:
    """The ``MediaSource`` adapter: guard the URL, stream it with Range requests, decode the audio.

    Thread-safe: every call uses its own reader and HTTP session. FETCH_TOTAL_TIMEOUT_SECONDS (or
    ``total_timeout_seconds``) bounds the whole download: a server trickling bytes defeats a read
    timeout alone.
    """

    def __init__(self, settings: Settings, *, total_timeout_seconds: float | None = None) -> None:
        self.settings = settings
        self.total_timeout_seconds = total_timeout_seconds or settings.fetch_total_timeout_seconds

    def open(self, url: str) -> HttpRangeReader:
        """A reader over ``url`` with the configured limits (the reader checks the URL first)."""
        s = self.settings
        return HttpRangeReader(
            url,
            allow_private=s.allow_private_urls,
            max_bytes=s.max_media_bytes,
            connect_timeout=s.http_connect_timeout,
            read_timeout=s.http_read_timeout,
            total_timeout=self.total_timeout_seconds,
            read_ahead_bytes=s.read_ahead_bytes,
            max_redirects=s.max_redirects,
        )

    def fetch_audio(self, url: str) -> DecodedAudio:
        with self.open(url) as reader:
            audio = decode_audio(reader, max_duration_seconds=self.settings.max_duration_seconds)
            return DecodedAudio(samples=audio.samples, source_bytes=reader.bytes_fetched)
