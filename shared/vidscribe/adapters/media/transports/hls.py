"""The objects an HLS playlist names, fetched: playlists read whole (a few MiB at most), segments and init
sections streamed chunk by chunk, never held whole, each within HLS_MAX_SEGMENT_BYTES counted as it
arrives (refused at once when its size is announced).

http(s) objects go through :class:`~.transport.HttpTransport` (the URL guard on every hop, the fetch's
dialer and deadline) on one kept-alive session per getter; ``s3://`` objects through ranged GetObject
with the function's role, and only for a playlist that was itself read from S3.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any, NamedTuple
from urllib.parse import urlsplit

import requests

from ....config import Settings
from ....errors import BadPlaylist, FetchError, MediaTooLarge, VidscribeError
from ....redaction import redact
from ..readers.parallel import StreamingFetcher
from ..urlguard import s3_location
from . import s3
from .dialer import Dialer
from .http import HttpTransport, content_length, human_bytes, make_session, status_error
from .ranges import LinkMeter

_STEP = 64 * 1024
Sink = Callable[[bytes], None]


class Cap(NamedTuple):
    """The most one object may be, and what sets it (a setting's name, for the message)."""

    bytes: int
    source: str

    def exceeded(self, what: str, url: str, size: int | None = None) -> MediaTooLarge:
        shown = f"is {human_bytes(size)}, more than" if size is not None else "is larger than"
        return MediaTooLarge(f"{what} {redact(url)!r} {shown} the {human_bytes(self.bytes)} allowed ({self.source})")


class HlsGetter:
    """GETs of one fetch's playlists and segments, counted (``bytes_fetched``, ``requests``)."""

    def __init__(self, settings: Settings, dialer: Dialer, s3_client: Any = None) -> None:
        self.settings = settings
        self.dialer = dialer
        self.session: requests.Session = make_session(dialer)
        self._s3 = s3_client
        self._meter = LinkMeter()
        self.bytes_fetched = 0
        self.requests = 0

    def get(self, url: str, limit: int, what: str = "the HLS playlist") -> tuple[str, bytes]:
        """(the URL after redirects, the whole body): a playlist, MediaTooLarge past ``limit`` bytes."""
        chunks: list[bytes] = []
        final = self.stream(url, None, Cap(limit, "for a playlist"), chunks.append, what)
        return final, b"".join(chunks)

    def stream(self, url: str, byterange: tuple[int, int] | None, cap: Cap, sink: Sink, what: str) -> str:
        """The object at ``url`` (``byterange``: first and last byte) into ``sink`` as it arrives; returns
        the URL after redirects. MediaTooLarge once it exceeds ``cap`` (``what`` names the object)."""
        if byterange is not None and byterange[1] - byterange[0] + 1 > cap.bytes:
            raise cap.exceeded(what, url, byterange[1] - byterange[0] + 1)
        if urlsplit(url).scheme.lower() == "s3":
            self._stream_s3(url, byterange, cap, sink, what)
            return url
        return self._stream_http(url, byterange, cap, sink, what)

    def _stream_s3(self, url: str, byterange: tuple[int, int] | None, cap: Cap, sink: Sink, what: str) -> None:
        if self._s3 is None:
            raise BadPlaylist(
                f"the HLS playlist names an S3 object ({redact(url)!r}) but was not read from S3: only a "
                f"playlist stored in S3 may point into S3"
            )
        where = s3_location(url)
        assert where is not None  # an s3: URL names an object or raises UrlRejected
        client = s3.S3RangeClient(self._s3, where, None, self.dialer.deadline.check, self._meter)
        try:
            if byterange is None:
                client.stream(0, None, cap.bytes, sink, what, cap.source)
            else:
                client.stream(byterange[0], byterange[1] - byterange[0] + 1, cap.bytes, sink, what, cap.source)
        finally:
            self.bytes_fetched += client.bytes_fetched
            self.requests += client.requests

    def _stream_http(self, url: str, byterange: tuple[int, int] | None, cap: Cap, sink: Sink, what: str) -> str:
        s = self.settings
        http = HttpTransport(
            url,
            dialer=self.dialer,
            session=self.session,
            connect_timeout=s.http_connect_timeout,
            read_timeout=s.http_read_timeout,
            max_redirects=s.max_redirects,
        )
        try:
            http.check()
            resp = http.get(byterange)
            try:
                if resp.status_code not in (200, 206):
                    raise status_error(resp.status_code, resp.reason or "", http.url)
                _read_into(http, resp, byterange, cap, sink, what)
            finally:
                resp.close()
        finally:
            self.bytes_fetched += http.bytes_fetched
            self.requests += http.requests
        return http.url

    def close(self) -> None:
        self.session.close()


def _read_into(
    http: HttpTransport, resp: requests.Response, byterange: tuple[int, int] | None, cap: Cap, sink: Sink, what: str
) -> None:
    """The body of ``resp`` into ``sink``: only ``byterange`` of it when a server ignored the Range (200)."""
    skip = byterange[0] if byterange is not None and resp.status_code == 200 else 0
    want = None if byterange is None else byterange[1] - byterange[0] + 1
    length = content_length(resp)
    if want is None and length is not None and length > cap.bytes:
        raise cap.exceeded(what, http.url, length)
    read = got = 0
    while want is None or got < want:
        step = _STEP if want is None or skip > read else min(_STEP, want - got)
        chunk = http.read_some(resp, step)
        if not chunk:
            break
        if read + len(chunk) > skip:
            piece = chunk[max(0, skip - read) :]
            piece = piece if want is None else piece[: want - got]
            got += len(piece)
            if got > cap.bytes:
                raise cap.exceeded(what, http.url)
            sink(piece)
        read += len(chunk)
    if want is not None and got < want:
        raise FetchError(f"the connection to {redact(http.url)!r} closed early: got {got} of {want} bytes of {what}")


class HlsStream(io.RawIOBase):
    """The playlist's init section and segments as one sequential stream, streamed ahead (see
    :class:`~.parallel_reader.StreamingFetcher`); MediaTooLarge past ``max_bytes`` in all."""

    def __init__(self, fetcher: StreamingFetcher, max_bytes: int) -> None:
        super().__init__()
        self._fetcher = fetcher
        self._total = 0
        self._max = max_bytes
        self.failure: VidscribeError | None = None
        self.head = b""
        self.content_type: str | None = None

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def read(self, n: int | None = -1) -> bytes:
        """The next bytes; after a failure, the end of the stream. FFmpeg takes a failed read for the end
        while it skips a box and reads again, and PyAV would print every raise after the first: the
        decoder raises ``failure`` itself once FFmpeg stops (``decode_audio``)."""
        if self.failure is not None:
            return b""
        try:
            piece = self._fetcher.read(_STEP if n is None or n < 0 else n)
            self._total += len(piece)
            if self._total > self._max:
                raise MediaTooLarge(f"the HLS stream is larger than {human_bytes(self._max)} (MAX_MEDIA_BYTES)")
        except VidscribeError as exc:
            self.failure = exc
            return b""
        if len(self.head) < 64:
            self.head += piece[: 64 - len(self.head)]
        return piece

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        data = self.read(len(view))
        view[: len(data)] = data
        return len(data)

    def close(self) -> None:
        if not self.closed:
            self._fetcher.close()
        super().close()
