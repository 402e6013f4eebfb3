"""HLS sources: a playlist's audio, from its segments, streamed in memory.

The playlist says what to fetch (:mod:`.containers.playlist`: the rendition, its segments, every check
that needs no segment); the segments and the init section are fetched ``FETCH_CONNECTIONS`` at a time
(:class:`~.readers.parallel.StreamingFetcher` over :class:`~.transports.hls.HlsGetter`), each streamed
chunk by chunk within a bounded window, never held whole (HLS_MAX_SEGMENT_BYTES caps each), and read by
the decoder as one stream. Every playlist and segment URL (and every redirect) passes the URL guard. A
playlist stored in S3 (what MediaConvert and most AWS packagers write) reads its relative URIs as
objects beside it, with the function's role; a playlist served over http(s) may not name ``s3://``
URIs: a stranger's playlist must not steer the role's S3 rights. A segment that is not media (an HTML
error page) is refused when its first bytes arrive.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any
from urllib.parse import urlsplit

import m3u8

from ...config import Settings
from ...errors import BadPlaylist, MediaTooLarge, NotMedia
from ...models import AudioSink, DecodedAudio
from ...observability import logger
from ...redaction import redact
from .containers.formats import show_head, sniff
from .containers.playlist import (
    MAX_PLAYLIST_BYTES,
    Target,
    check_segment,
    looks_like_playlist,
    media_targets,
    parse_playlist,
    pick_rendition,
)
from .decode import decode_audio
from .fetch import Fetch, FetchReport
from .readers.parallel import StreamingFetcher
from .readers.stream import Stream
from .sizes import MiB, human_bytes
from .transports.hls import Cap, HlsGetter

_SNIFF_BYTES = 400


def refuse_non_playlist(url: str, content_type: str | None, head: bytes) -> None:
    """A URL that names a playlist (``.m3u8``) but brings neither a playlist nor media: say so."""
    path = urlsplit(url).path.lower()
    if path.endswith((".m3u8", ".m3u")) and sniff(head) is None:
        sent = (content_type or "unrecognised content").split(";")[0]
        raise NotMedia(f"not an HLS playlist: {redact(url)!r} answered {sent} (first bytes: {show_head(head)})")


def playlist_text(size: int, head: bytes, read_at: Callable[[int, int], bytes]) -> bytes:
    """The whole playlist of ``size`` bytes whose first bytes are ``head`` (``read_at`` fetches the rest)."""
    check_playlist_size(size)
    return head + (read_at(len(head), size - len(head)) if size > len(head) else b"")


def check_playlist_size(size: int) -> None:
    if size > MAX_PLAYLIST_BYTES:
        raise MediaTooLarge(f"the HLS playlist is larger than {human_bytes(MAX_PLAYLIST_BYTES)}")


class _FirstBytesChecked:
    """A sink that holds an object's first bytes until they show it is media, then passes everything on."""

    def __init__(self, what: str, url: str, emit: Callable[[bytes], None]) -> None:
        self._what, self._url, self._emit = what, url, emit
        self._head: bytes | None = b""

    def __call__(self, chunk: bytes) -> None:
        if self._head is None:
            self._emit(chunk)
            return
        self._head += chunk
        if len(self._head) >= _SNIFF_BYTES:
            self.finish()

    def finish(self) -> None:
        if self._head is not None:
            head, self._head = self._head, None
            check_segment(self._what, self._url, head[:_SNIFF_BYTES])
            self._emit(head)


def fetch_playlist(
    text: bytes, url: str, fetch: Fetch, sink: AudioSink | None = None, *, s3_client: Any = None
) -> tuple[DecodedAudio, FetchReport]:
    """The audio of the playlist ``text`` read from ``url`` by ``fetch``; ``s3_client`` for a playlist read
    from S3, whose relative URIs are S3 objects too."""
    getter = HlsGetter(fetch, s3_client)
    try:
        url, playlist, chosen, visited = _media_playlist(text, url, fetch.settings, getter)
        targets = media_targets(playlist, url, fetch.settings, visited)
        logger.info("HLS", extra={"rendition": chosen, "segments": len(playlist.segments)})
        if sink is not None:
            sink, targets = _time_range(playlist, targets, sink)
        audio = _decode_segments(targets, fetch, s3_client, sink)
    finally:
        getter.close()
    report = fetch.report("hls", None, reason=f"{chosen}, {len(playlist.segments)} segments")
    return replace(audio, source_bytes=report.bytes_fetched), report


class _PlaylistSink:
    """The sink of an HLS fetch: the playlist states the duration (a TS stream does not), and a part
    of a long video starts ``start_seconds`` after the first segment it reads."""

    def __init__(self, inner: AudioSink, total_seconds: float, start_seconds: float) -> None:
        self.inner = inner
        self.total_seconds = total_seconds
        self.start_seconds = start_seconds

    def begin(self, declared_seconds: float | None) -> None:
        self.inner.begin(self.total_seconds or declared_seconds)

    def feed(self, samples: Any) -> None:
        self.inner.feed(samples)


def _time_range(playlist: m3u8.M3U8, targets: list[Target], sink: AudioSink) -> tuple[AudioSink, list[Target]]:
    """Only the segments a part's time range needs (a sink with ``start_seconds`` and ``end_seconds``:
    :class:`vidscribe.workflow.part_window.PartWindow`); the init section, if any, always."""
    durations = [float(seg.duration or 0.0) for seg in playlist.segments]
    start = float(getattr(sink, "start_seconds", 0.0) or 0.0)
    end = getattr(sink, "end_seconds", None)
    head, segments = (targets[:1], targets[1:]) if len(targets) == len(durations) + 1 else ([], targets)
    chosen: list[Target] = []
    at, first = 0.0, None
    for target, seconds in zip(segments, durations, strict=True):
        if at + seconds > start and (end is None or at < end):
            first = at if first is None else first
            chosen.append(target)
        at += seconds
    return _PlaylistSink(sink, sum(durations), start - (first or 0.0)), head + (chosen or segments)


def _media_playlist(
    text: bytes, url: str, settings: Settings, getter: HlsGetter
) -> tuple[str, m3u8.M3U8, str, set[str]]:
    """(its URL, the media playlist, what it is, every playlist URL read): ``text`` itself, or the
    rendition its master picks."""
    playlist = parse_playlist(text.decode("utf-8", errors="replace"), url, settings)
    if not playlist.is_variant:
        return url, playlist, "media playlist", {url}
    uri, chosen = pick_rendition(playlist, url)
    if uri == url:
        raise BadPlaylist(f"the HLS playlist {redact(uri)!r} includes itself")
    final, body = getter.get(uri, MAX_PLAYLIST_BYTES)
    if final == url:
        raise BadPlaylist(f"the HLS playlist {redact(final)!r} loops back to itself")
    if not looks_like_playlist(body):
        raise NotMedia(f"not an HLS playlist: {redact(uri)!r} sent {show_head(body[:64])}")
    media = parse_playlist(body.decode("utf-8", errors="replace"), final, settings)
    if media.is_variant:
        raise BadPlaylist(f"the HLS variant {redact(final)!r} is itself a master playlist")
    return final, media, chosen, {url, uri, final}


def _decode_segments(targets: list[Target], fetch: Fetch, s3_client: Any, sink: AudioSink | None) -> DecodedAudio:
    """Stream the targets through the decoder, ``FETCH_CONNECTIONS`` at a time, in bounded memory."""
    settings = fetch.settings
    cap = Cap(settings.hls_max_segment_bytes, "HLS_MAX_SEGMENT_BYTES")
    if settings.max_media_bytes < cap.bytes:
        cap = Cap(settings.max_media_bytes, "MAX_MEDIA_BYTES")

    class _Segment:
        def __init__(self) -> None:
            self.http = HlsGetter(fetch, s3_client)

        def stream(self, i: int, emit: Callable[[bytes], None]) -> None:
            uri, byterange, what = targets[i]
            checked = _FirstBytesChecked(what, uri, emit)
            self.http.stream(uri, byterange, cap, checked, what)
            checked.finish()

        def close(self) -> None:
            self.http.close()

    window = max(8 * MiB, settings.fetch_connections * settings.read_ahead_bytes)
    fetcher = StreamingFetcher(
        len(targets), _Segment, connections=settings.fetch_connections, window=window, deadline=fetch.deadline
    )
    read = 0

    def pull(n: int) -> bytes:
        nonlocal read
        piece = fetcher.read(n)
        read += len(piece)
        if read > settings.max_media_bytes:
            limit = human_bytes(settings.max_media_bytes)
            raise MediaTooLarge(f"the HLS stream is larger than {limit} (MAX_MEDIA_BYTES)")
        return piece

    with Stream(pull, on_close=fetcher.close) as stream:
        return decode_audio(stream, max_duration_seconds=settings.max_duration_seconds, sink=sink)
