"""The ``MediaSource`` adapter: which kind of source a URL is, and the fetch that suits it.

* ``s3://bucket/key`` and S3's https URLs -> boto3 ranged GetObject (:mod:`s3`);
* an HLS playlist (its first bytes say ``#EXTM3U``), over http(s) or in S3 -> its audio rendition's
  segments (:mod:`hls`);
* a server that honours ranges -> planned fetching (:mod:`ranged_fetch`): an MP4's audio chunks only
  when that pays, otherwise the whole file with several requests in flight;
* a server that ignores ranges, or a file that fits in the first response -> :class:`HttpRangeReader`
  as before (read front to back; ``UnseekableMedia`` for an MP4 whose index is at the end).

Every HTTP request, of every kind, goes through :class:`HttpTransport`: the URL guard on every hop,
the timeouts and one deadline for the whole fetch (FETCH_TOTAL_TIMEOUT_SECONDS).
"""

from __future__ import annotations

import io
import os
from dataclasses import replace
from pathlib import Path

from ...config import Settings
from ...errors import FetchRefused, MediaTooLarge
from ...models import AudioSink, DecodedAudio
from ...observability import logger
from . import hls
from .containers.playlist import MAX_PLAYLIST_BYTES, looks_like_playlist, s3_base
from .deadline import Deadline
from .decode import decode_audio
from .ranged_fetch import FetchReport, RemoteFile, fetch_ranged
from .readers.seekable import HttpRangeReader
from .transports import s3
from .transports.dialer import Dialer
from .transports.http import human_bytes
from .transports.ranges import HttpRangeClient, LinkMeter
from .urlguard import Resolver, S3Location, s3_location

# The first request (at most READ_AHEAD_BYTES): its answer tells the size, the container and the
# link's latency and bandwidth; for an MP4 with its index at the front it usually brings the index too.
PROBE_BYTES = 256 * 1024


def open_local_audio(
    path: str | os.PathLike[str], max_duration_seconds: float, sink: AudioSink | None = None
) -> DecodedAudio:
    """Decode a local file (for ``vidscribe transcribe FILE``). Raises FileNotFoundError if absent."""
    p = Path(path)
    with p.open("rb") as f:
        audio = decode_audio(f, max_duration_seconds=max_duration_seconds, sink=sink)
    return replace(audio, source_bytes=p.stat().st_size)


class StreamingMediaSource:
    """The ``MediaSource`` adapter for http(s), S3 and HLS sources, streamed in memory.

    Thread-safe: every call uses its own readers, connections and threads. ``fetch`` also returns a
    :class:`FetchReport` (the plan and what it cost); ``fetch_audio`` is the port's call.
    """

    def __init__(
        self, settings: Settings, *, total_timeout_seconds: float | None = None, resolver: Resolver | None = None
    ) -> None:
        """``resolver``: how host names become addresses (the system's by default; a test's seam)."""
        self.settings = settings
        self.total_timeout_seconds = total_timeout_seconds or settings.fetch_total_timeout_seconds
        self.resolver = resolver

    def dialer(self, url: str) -> Dialer:
        """What one fetch of ``url`` connects with: its one deadline, its guard, its resolved names."""
        deadline = Deadline(self.total_timeout_seconds, url)
        return Dialer(deadline, allow_private=self.settings.allow_private_urls, resolver=self.resolver)

    def open(
        self, url: str, *, first_request_bytes: int | None = None, dialer: Dialer | None = None
    ) -> HttpRangeReader:
        """A reader over ``url`` with the configured limits (the reader checks the URL first)."""
        s = self.settings
        return HttpRangeReader(
            url,
            max_bytes=s.max_media_bytes,
            connect_timeout=s.http_connect_timeout,
            read_timeout=s.http_read_timeout,
            read_ahead_bytes=s.read_ahead_bytes,
            max_redirects=s.max_redirects,
            first_request_bytes=first_request_bytes,
            dialer=dialer or self.dialer(url),
        )

    def fetch_audio(self, url: str, sink: AudioSink | None = None) -> DecodedAudio:
        return self.fetch(url, sink)[0]

    def fetch(self, url: str, sink: AudioSink | None = None) -> tuple[DecodedAudio, FetchReport]:
        where = s3_location(url)
        if where is not None:
            return self._fetch_s3(where, sink)
        return self._fetch_http(url, sink)

    # --- http(s) -----------------------------------------------------------------------------------------
    def _fetch_http(self, url: str, sink: AudioSink | None) -> tuple[DecodedAudio, FetchReport]:
        s = self.settings
        dialer = self.dialer(url)
        deadline = dialer.deadline
        with self.open(url, first_request_bytes=min(PROBE_BYTES, s.read_ahead_bytes), dialer=dialer) as reader:
            if looks_like_playlist(reader.first_block() or reader.peek(64)):
                return hls.fetch_hls(reader, s, dialer, sink)
            hls.refuse_non_playlist(url, reader)
            if reader.holds_everything or not reader.seekable():
                audio = decode_audio(reader, max_duration_seconds=s.max_duration_seconds, sink=sink)
                kind = "in memory" if reader.seekable() else "sequential"
                report = FetchReport(kind, reader.size, reader.bytes_fetched, reader.requests)
                return replace(audio, source_bytes=reader.bytes_fetched), report
            assert reader.size is not None
            meter = LinkMeter()
            if reader.first_timing is not None:
                meter.record(*reader.first_timing)
            size, final_url = reader.size, reader.url

            def make_client() -> HttpRangeClient:
                return HttpRangeClient(
                    final_url,
                    size,
                    dialer=dialer,
                    connect_timeout=s.http_connect_timeout,
                    read_timeout=s.http_read_timeout,
                    max_redirects=s.max_redirects,
                    meter=meter,
                )

            remote = RemoteFile(
                size=size,
                head=reader.first_block(),
                content_type=reader.content_type,
                make_client=make_client,
                meter=meter,
                check_deadline=deadline.check,
                first_bytes_fetched=reader.bytes_fetched,
                first_requests=reader.requests,
            )
            return fetch_ranged(remote, s, sink)

    # --- S3 ------------------------------------------------------------------------------------------------
    def _fetch_s3(self, where: S3Location, sink: AudioSink | None) -> tuple[DecodedAudio, FetchReport]:
        s = self.settings
        dialer = self.dialer(f"s3://{where.bucket}/{where.key}")  # HTTP only for a playlist's http(s) URIs
        deadline = dialer.deadline
        client = s3.s3_client(s, where.region)
        meter = LinkMeter()
        try:
            size, head, content_type, first = s3.probe(
                client, where, min(PROBE_BYTES, s.read_ahead_bytes), s.max_media_bytes, deadline.check, meter
            )
        except FetchRefused as exc:
            if where.url.startswith("https://") and "AccessDenied" in str(exc):
                # An https S3 URL of a bucket the role may not read can still be public: try it as given.
                logger.info("S3 refused the role; reading the https URL anonymously", extra={"error": str(exc)})
                return self._fetch_http(where.url, sink)
            raise
        if looks_like_playlist(head):
            if size > MAX_PLAYLIST_BYTES:
                raise MediaTooLarge(f"the HLS playlist is larger than {human_bytes(MAX_PLAYLIST_BYTES)}")
            text = head + (first.fetch(len(head), size - len(head)) if size > len(head) else b"")
            return hls.fetch_playlist(
                text,
                s3_base(where),
                s,
                dialer,
                sink,
                first_bytes=first.bytes_fetched,
                first_requests=first.requests,
                s3_client=client,
            )
        logger.info("reading from S3", extra={"bucket": where.bucket, "size": human_bytes(size)})
        remote = RemoteFile(
            size=size,
            head=head,
            content_type=content_type,
            make_client=lambda: s3.S3RangeClient(client, where, size, deadline.check, meter),
            meter=meter,
            check_deadline=deadline.check,
            first_bytes_fetched=first.bytes_fetched,
            first_requests=first.requests,
        )
        if size <= len(head):
            audio = decode_audio(MemoryFile(head, content_type), max_duration_seconds=s.max_duration_seconds, sink=sink)
            return replace(audio, source_bytes=first.bytes_fetched), FetchReport(
                "in memory", size, first.bytes_fetched, first.requests
            )
        return fetch_ranged(remote, s, sink)


class MemoryFile(io.BytesIO):
    """A file held in memory that knows its content type (for the decoder's error messages)."""

    def __init__(self, data: bytes, content_type: str | None) -> None:
        super().__init__(data)
        self.content_type = content_type
        self.head = data[: 64 * 1024]


# The name the adapter had when it spoke http(s) only.
HttpMediaSource = StreamingMediaSource
