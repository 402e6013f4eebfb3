"""HLS sources: a playlist's audio, from its segments, in memory.

* A master playlist -> its audio-only rendition (``EXT-X-MEDIA TYPE=AUDIO`` with a URI; ``DEFAULT=YES``
  first), else its audio-only variant, else its lowest-bandwidth variant.
* A media playlist -> its segments in order (MPEG-TS, packed audio, or fMP4 after the ``EXT-X-MAP``
  init section), fetched several at a time within a bounded window and read by the decoder as one
  stream. Every playlist and segment URL (and every redirect) passes the URL guard.
* A playlist stored in S3 (what MediaConvert and most AWS packagers write) -> its relative URIs are
  objects beside it, read with the function's role like the playlist; its http(s) URIs go through the
  guard. A playlist served over http(s) may not name ``s3://`` URIs: a stranger's playlist must not
  steer the role's S3 rights.
* Refused, permanently and before any segment is fetched: a live playlist (no ``EXT-X-ENDLIST``),
  encryption (``EXT-X-KEY`` other than ``NONE``), more than HLS_MAX_SEGMENTS segments, more than
  MAX_DURATION_SECONDS, a playlist that loops or includes itself. A segment that is not media (an HTML
  error page) is refused when it arrives.

Parsing is the ``m3u8`` package's (globocom, RFC 8216): tags, attributes, relative URIs and byte ranges
are its business, not ours.
"""

from __future__ import annotations

import io
import threading
from dataclasses import replace
from typing import Any
from urllib.parse import quote, urljoin, urlsplit

import m3u8
import requests

from ...config import Settings
from ...errors import BadPlaylist, EncryptedMedia, LiveStream, MediaTooLarge, MediaTooLong, NotMedia, VidscribeError
from ...models import AudioSink, DecodedAudio
from ...observability import logger
from ...redaction import redact
from . import s3
from .decode import decode_audio
from .formats import show_head, sniff
from .parallel_reader import WindowedFetcher
from .range_clients import LinkMeter
from .range_reader import HttpRangeReader
from .ranged_fetch import FetchReport
from .transport import HttpTransport, human_bytes, make_session, status_error
from .urlguard import S3Location, s3_location

MAX_PLAYLIST_BYTES = 8 * 1024 * 1024
_AUDIO_CODECS = ("mp4a", "ac-3", "ec-3", "opus", "flac", "fla", "mp3", ".mp3")
_MP4_BOXES = (b"ftyp", b"styp", b"moof", b"sidx", b"free", b"emsg", b"prft", b"mdat")


def looks_like_playlist(head: bytes) -> bool:
    return head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"#EXTM3U")


def refuse_non_playlist(url: str, reader: HttpRangeReader) -> None:
    """A URL that names a playlist (``.m3u8``) but brings neither a playlist nor media: say so."""
    path = urlsplit(url).path.lower()
    head = reader.first_block() or reader.peek(64)
    if path.endswith((".m3u8", ".m3u")) and sniff(head) is None:
        sent = (reader.content_type or "unrecognised content").split(";")[0]
        raise NotMedia(f"not an HLS playlist: {redact(url)!r} answered {sent} (first bytes: {show_head(head)})")


class _Getter:
    """GETs of playlists and segments, counted: http(s) through the guard on one session (one kept-alive
    connection); ``s3://`` with GetObject on the shared boto3 client, only for a playlist read from S3."""

    def __init__(self, settings: Settings, deadline: Any, s3_client: Any = None) -> None:
        self.settings = settings
        self.deadline = deadline
        self.session: requests.Session = make_session(settings.allow_private_urls)
        self._s3 = s3_client
        self._meter = LinkMeter()
        self.bytes_fetched = 0
        self.requests = 0

    def get(self, url: str, byterange: tuple[int, int] | None = None, limit: int | None = None) -> tuple[str, bytes]:
        """(the URL after redirects, the body), at most ``limit`` (else MAX_MEDIA_BYTES) bytes."""
        cap = limit if limit is not None else self.settings.max_media_bytes
        if urlsplit(url).scheme.lower() == "s3":
            return url, self._get_s3(url, byterange, cap)
        return self._get_http(url, byterange, cap)

    def _get_s3(self, url: str, byterange: tuple[int, int] | None, cap: int) -> bytes:
        if self._s3 is None:
            raise BadPlaylist(
                f"the HLS playlist names an S3 object ({redact(url)!r}) but was not read from S3: only a "
                f"playlist stored in S3 may point into S3"
            )
        where = s3_location(url)
        assert where is not None  # an s3: URL names an object or raises UrlRejected
        client = s3.S3RangeClient(self._s3, where, None, self.deadline.check, self._meter)
        try:
            if byterange is None:
                return client.fetch_object(cap)
            length = byterange[1] - byterange[0] + 1
            if length > cap:
                raise MediaTooLarge(f"{redact(url)!r} is larger than {human_bytes(cap)}")
            return client.fetch(byterange[0], length)
        finally:
            self.bytes_fetched += client.bytes_fetched
            self.requests += client.requests

    def _get_http(self, url: str, byterange: tuple[int, int] | None, cap: int) -> tuple[str, bytes]:
        s = self.settings
        http = HttpTransport(
            url,
            session=self.session,
            allow_private=s.allow_private_urls,
            connect_timeout=s.http_connect_timeout,
            read_timeout=s.http_read_timeout,
            total_timeout=max(0.001, self.deadline.remaining()),
            max_redirects=s.max_redirects,
        )
        http.check()
        resp = http.get(byterange)
        try:
            if resp.status_code not in (200, 206):
                raise status_error(resp.status_code, resp.reason or "", http.url)
            body = http.read_body(resp, cap + 1)
        finally:
            resp.close()
            self.bytes_fetched += http.bytes_fetched
            self.requests += http.requests
        if len(body) > cap:
            raise MediaTooLarge(f"{redact(url)!r} is larger than {human_bytes(cap)}")
        if byterange is not None and resp.status_code == 200:
            body = body[byterange[0] : byterange[1] + 1]
        return http.url, body

    def close(self) -> None:
        self.session.close()


def s3_base(where: S3Location) -> str:
    """The ``s3://`` URL of a playlist stored in S3, the base its relative URIs resolve against."""
    return f"s3://{where.bucket}/{quote(where.key, safe='/')}"


def _resolve(base: str, uri: str, absolute: str) -> str:
    """``uri`` of a playlist at ``base``; ``absolute`` is m3u8's answer, right for every base but S3's
    (``urljoin`` does not resolve against a scheme it does not know, so ``s3:`` gets the same rules
    through an https stand-in with the bucket as its host)."""
    if urlsplit(base).scheme.lower() != "s3" or urlsplit(uri).scheme:
        return absolute
    joined = urlsplit(urljoin("https://" + base.removeprefix("s3://"), uri))
    return f"s3://{joined.netloc}{joined.path}"


def _parse(text: str, url: str, settings: Settings) -> m3u8.M3U8:
    segments = text.count("#EXTINF")
    if segments > settings.hls_max_segments:
        raise MediaTooLarge(
            f"the HLS playlist {redact(url)!r} lists {segments} segments, more than the "
            f"{settings.hls_max_segments} allowed (HLS_MAX_SEGMENTS)"
        )
    try:
        return m3u8.loads(text, uri=url)
    except Exception as exc:  # the parser raises plain exceptions on malformed tags
        raise BadPlaylist(f"the HLS playlist {redact(url)!r} cannot be parsed: {exc}") from None


def _pick_rendition(master: m3u8.M3U8, base: str) -> tuple[str, str]:
    """(URI, what it is) of the playlist whose segments carry the least besides the audio."""
    for key in master.session_keys or []:
        if key is not None and (key.method or "NONE").upper() != "NONE":
            raise EncryptedMedia(f"the HLS stream is encrypted (EXT-X-SESSION-KEY METHOD={key.method}): DRM")
    audio = [m for m in master.media if (m.type or "").upper() == "AUDIO" and m.uri]
    if audio:
        audio.sort(key=lambda m: ((m.default or "").upper() != "YES", (m.autoselect or "").upper() != "YES"))
        return _resolve(base, audio[0].uri, audio[0].absolute_uri), f"audio rendition {audio[0].name or audio[0].uri!r}"
    variants = [p for p in master.playlists if p.uri]
    if not variants:
        raise BadPlaylist("the HLS master playlist lists no variant and no audio rendition")

    def rank(p: Any) -> tuple[bool, int]:
        codecs = [c.strip().lower() for c in (p.stream_info.codecs or "").split(",") if c.strip()]
        audio_only = bool(codecs) and all(c.startswith(_AUDIO_CODECS) for c in codecs)
        return (not audio_only, p.stream_info.bandwidth or 1 << 62)

    best = min(variants, key=rank)
    return _resolve(base, best.uri, best.absolute_uri), f"variant of {best.stream_info.bandwidth or '?'} bit/s"


def _check_media_playlist(pl: m3u8.M3U8, url: str, settings: Settings) -> None:
    if not pl.segments:
        raise BadPlaylist(f"the HLS playlist {redact(url)!r} lists no segments")
    if not pl.is_endlist:
        raise LiveStream(
            f"the HLS playlist {redact(url)!r} is live (no EXT-X-ENDLIST): a live stream has no end to transcribe"
        )
    for key in pl.keys:
        if key is not None and (key.method or "NONE").upper() != "NONE":
            raise EncryptedMedia(f"the HLS stream {redact(url)!r} is encrypted (EXT-X-KEY METHOD={key.method})")
    seconds = sum(float(seg.duration or 0) for seg in pl.segments)
    if seconds > settings.max_duration_seconds:
        raise MediaTooLong(
            f"the HLS stream lasts {seconds:.0f} s, more than the {settings.max_duration_seconds:g} s allowed "
            f"(MAX_DURATION_SECONDS)"
        )
    maps = {(s.init_section.absolute_uri, s.init_section.byterange) for s in pl.segments if s.init_section}
    if len(maps) > 1:
        raise BadPlaylist(f"the HLS playlist {redact(url)!r} switches initialization sections (EXT-X-MAP) mid-stream")


def _byteranges(items: list[tuple[str, str | None]]) -> list[tuple[str, tuple[int, int] | None]]:
    """EXT-X-BYTERANGE ``length[@offset]`` (offset omitted: right after the previous range of the URI)."""
    out: list[tuple[str, tuple[int, int] | None]] = []
    ends: dict[str, int] = {}
    for uri, spec in items:
        if not spec:
            out.append((uri, None))
            continue
        length_s, _, offset_s = spec.partition("@")
        start = int(offset_s) if offset_s else ends.get(uri, 0)
        ends[uri] = start + int(length_s)
        out.append((uri, (start, start + int(length_s) - 1)))
    return out


def _check_segment(i: int, url: str, body: bytes) -> None:
    head = body[:400]
    if looks_like_playlist(head):
        raise BadPlaylist(f"segment {i} of the HLS playlist is itself a playlist ({redact(url)!r})")
    ok = (
        (len(head) > 0 and head[0] == 0x47)
        or head[4:8] in _MP4_BOXES
        or sniff(head) in ("MPEG audio", "MP4/QuickTime", "MPEG-TS")
        or head[:2] in (b"\xff\xf1", b"\xff\xf9")
    )
    if not ok:
        raise NotMedia(f"segment {i} of the HLS playlist is not media: {redact(url)!r} sent {show_head(head)}")


class HlsStream(io.RawIOBase):
    """The playlist's init section and segments as one sequential stream, fetched ahead."""

    def __init__(self, fetcher: WindowedFetcher, max_bytes: int) -> None:
        super().__init__()
        self._fetcher = fetcher
        self._item = 0
        self._offset = 0
        self._total = 0
        self._max = max_bytes
        self.failure: VidscribeError | None = None
        self.head = b""
        self.content_type: str | None = None

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def read(self, n: int = -1) -> bytes:
        try:
            while self._item < self._fetcher.n:
                data = self._fetcher.get(self._item)
                if self._offset < len(data):
                    size = len(data) - self._offset if n is None or n < 0 else n
                    piece = data[self._offset : self._offset + size]
                    self._offset += len(piece)
                    self._total += len(piece)
                    if self._total > self._max:
                        raise MediaTooLarge(f"the HLS stream is larger than {human_bytes(self._max)} (MAX_MEDIA_BYTES)")
                    if len(self.head) < 64:
                        self.head += piece[: 64 - len(self.head)]
                    return piece
                self._item, self._offset = self._item + 1, 0
                self._fetcher.advance(min(self._item, self._fetcher.n - 1))
            return b""
        except VidscribeError as exc:
            self.failure = exc
            raise

    def peek(self, n: int) -> bytes:
        return self._fetcher.get(0)[:n] if self._fetcher.n else b""

    def close(self) -> None:
        if not self.closed:
            self._fetcher.close()
        super().close()


def fetch_hls(
    reader: HttpRangeReader, settings: Settings, deadline: Any, sink: AudioSink | None = None
) -> tuple[DecodedAudio, FetchReport]:
    """The audio of the playlist ``reader`` has started to read (over http(s))."""
    text = reader.read(MAX_PLAYLIST_BYTES + 1)
    while len(text) <= MAX_PLAYLIST_BYTES and (more := reader.read(MAX_PLAYLIST_BYTES + 1 - len(text))):
        text += more
    if len(text) > MAX_PLAYLIST_BYTES:
        raise MediaTooLarge(f"the HLS playlist is larger than {human_bytes(MAX_PLAYLIST_BYTES)}")
    return fetch_playlist(
        text, reader.url, settings, deadline, sink, first_bytes=reader.bytes_fetched, first_requests=reader.requests
    )


def fetch_playlist(
    text: bytes,
    url: str,
    settings: Settings,
    deadline: Any,
    sink: AudioSink | None = None,
    *,
    first_bytes: int = 0,
    first_requests: int = 0,
    s3_client: Any = None,
) -> tuple[DecodedAudio, FetchReport]:
    """The audio of the playlist ``text`` read from ``url`` (``first_bytes`` and ``first_requests`` it
    cost); ``s3_client`` for a playlist read from S3, whose relative URIs are S3 objects too."""
    visited = {url}
    http = _Getter(settings, deadline, s3_client)
    workers: list[_Getter] = []
    lock = threading.Lock()
    report = FetchReport("hls")
    try:
        playlist = _parse(text.decode("utf-8", errors="replace"), url, settings)
        chosen = "media playlist"
        if playlist.is_variant:
            uri, chosen = _pick_rendition(playlist, url)
            if uri in visited:
                raise BadPlaylist(f"the HLS playlist {redact(uri)!r} includes itself")
            final, body = http.get(uri, limit=MAX_PLAYLIST_BYTES)
            if final in visited:
                raise BadPlaylist(f"the HLS playlist {redact(final)!r} loops back to itself")
            visited.update({uri, final})
            if not looks_like_playlist(body):
                raise NotMedia(f"not an HLS playlist: {redact(uri)!r} sent {show_head(body[:64])}")
            url, playlist = final, _parse(body.decode("utf-8", errors="replace"), final, settings)
            if playlist.is_variant:
                raise BadPlaylist(f"the HLS variant {redact(url)!r} is itself a master playlist")
        _check_media_playlist(playlist, url, settings)
        items: list[tuple[str, str | None]] = []
        init = next((s.init_section for s in playlist.segments if s.init_section), None)
        if init is not None:
            items.append((_resolve(url, init.uri, init.absolute_uri), init.byterange))
        items += [(_resolve(url, seg.uri, seg.absolute_uri), seg.byterange) for seg in playlist.segments]
        for uri, _ in items:
            if uri in visited:
                raise BadPlaylist(f"the HLS playlist {redact(url)!r} lists itself as a segment")
        targets = _byteranges(items)
        logger.info("HLS", extra={"rendition": chosen, "segments": len(playlist.segments)})

        class _Segment:
            def __init__(self) -> None:
                self.http = _Getter(settings, deadline, s3_client)
                with lock:
                    workers.append(self.http)

            def fetch(self, i: int) -> bytes:
                uri, byterange = targets[i]
                _final, body = self.http.get(uri, byterange)
                _check_segment(i, uri, body)
                return body

            def close(self) -> None:
                self.http.close()

        fetcher = WindowedFetcher(
            [1] * len(targets),
            _Segment,
            connections=settings.fetch_connections,
            window=2 * settings.fetch_connections,
            check_deadline=deadline.check,
        )
        with HlsStream(fetcher, settings.max_media_bytes) as stream:
            audio = decode_audio(stream, max_duration_seconds=settings.max_duration_seconds, sink=sink)
        report.reason = f"{chosen}, {len(playlist.segments)} segments"
    finally:
        http.close()
        report.bytes_fetched = first_bytes + http.bytes_fetched + sum(w.bytes_fetched for w in workers)
        report.requests = first_requests + http.requests + sum(w.requests for w in workers)
    return replace(audio, source_bytes=report.bytes_fetched), report
