"""The objects an HLS playlist names, fetched: playlists read whole (a few MiB at most), segments and init
sections streamed chunk by chunk, never held whole, each within HLS_MAX_SEGMENT_BYTES counted as it
arrives (refused at once when its size is announced).

http(s) objects go through the fetch's :class:`~.http.HttpTransport` (the URL guard on every hop, its
dialer and deadline) on one kept-alive session per getter; ``s3://`` objects through ranged GetObject
with the function's role, and only for a playlist that was itself read from S3.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NamedTuple
from urllib.parse import urlsplit

import requests

from ....errors import BadPlaylist, FetchError, MediaTooLarge
from ....redaction import redact
from ..sizes import human_bytes
from ..urlguard import s3_location
from .http import HttpTransport, content_length, status_error

if TYPE_CHECKING:
    from ..fetch import Fetch

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
    """GETs of one fetch's playlists and segments (on one kept-alive session; S3 objects with ``s3_client``,
    the client the playlist was read with), counted in the fetch's tally."""

    def __init__(self, fetch: Fetch, s3_client: Any = None) -> None:
        self.fetch = fetch
        self.session: requests.Session = fetch.session()
        self._s3 = s3_client

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
        client = self.fetch.s3_ranges(self._s3, where)
        if byterange is None:
            client.stream(0, None, cap.bytes, sink, what, cap.source)
        else:
            client.stream(byterange[0], byterange[1] - byterange[0] + 1, cap.bytes, sink, what, cap.source)

    def _stream_http(self, url: str, byterange: tuple[int, int] | None, cap: Cap, sink: Sink, what: str) -> str:
        http = self.fetch.http(url, session=self.session)
        http.check()
        resp = http.get(byterange)
        try:
            if resp.status_code not in (200, 206):
                raise status_error(resp.status_code, resp.reason or "", http.url)
            _read_into(http, resp, byterange, cap, sink, what)
        finally:
            resp.close()
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
