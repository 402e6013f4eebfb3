"""The ``MediaSource`` adapter: which kind of source a URL is, and the fetch that suits it.

Every fetch is one :class:`~.fetch.Fetch` (its settings, its one deadline, its dialer, its tally). Its
first request (at most 256 KiB) tells the size, the container and the link's latency, then:

* ``s3://bucket/key`` and S3's https URLs -> boto3 ranged GetObject (:mod:`.transports.s3`);
* an HLS playlist (its first bytes say ``#EXTM3U``), over http(s) or in S3 -> its audio rendition's
  segments (:mod:`.hls`);
* a file the first answer brought whole -> decoded from memory;
* a server that ignores ranges (or does not say the size) -> the answer read front to back
  (:class:`~.readers.stream.HttpStream`; ``UnseekableMedia`` for an MP4 whose index is at the end);
* a server that honours ranges -> the plan (:mod:`.plan`: an MP4's audio chunks only when that pays,
  otherwise the whole file), its ranges fetched several at a time (:mod:`.readers.parallel`) and read
  as one seekable file (:class:`~.readers.seekable.SeekableFile`) by the decoder.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from contextlib import closing
from dataclasses import replace
from pathlib import Path

from ...config import Settings
from ...errors import FetchRefused
from ...models import AudioSink, DecodedAudio
from ...observability import logger
from . import hls
from .containers.playlist import MAX_PLAYLIST_BYTES, looks_like_playlist, s3_base
from .decode import decode_audio
from .fetch import Fetch, FetchReport
from .plan import Plan, plan_fetch
from .readers.parallel import WindowedFetcher, retry_once
from .readers.seekable import OnDemandBlocks, SeekableFile
from .readers.sparse import PlannedRanges
from .readers.stream import HttpStream
from .sizes import MiB, human_bytes
from .transports import s3
from .transports.http import HttpRangeClient, HttpTransport, fetch_range, first_answer
from .transports.ranges import FirstAnswer, RangeClient
from .urlguard import Resolver, S3Location, s3_location

# The first request (at most READ_AHEAD_BYTES): its answer tells the size, the container and the
# link's latency and bandwidth; for an MP4 with its index at the front it usually brings the index too.
PROBE_BYTES = 256 * 1024
KEEP_BEHIND = 2 * MiB  # FFmpeg probes a few seconds of packets, then seeks back to the first


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

    Thread-safe: every call is a fetch of its own (its readers, connections and threads). ``fetch`` also
    returns a :class:`FetchReport` (the plan and what it cost); ``fetch_audio`` is the port's call.
    ``resolver`` (how host names become addresses) and ``url_guard`` (the check of each http(s) hop) are
    the system's and the URL guard's unless a test gives its own.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        total_timeout_seconds: float | None = None,
        resolver: Resolver | None = None,
        url_guard: Callable[[str], None] | None = None,
    ) -> None:
        self.settings = settings
        self.total_timeout_seconds = total_timeout_seconds
        self.resolver = resolver
        self.url_guard = url_guard

    def new_fetch(self, url: str) -> Fetch:
        """One fetch of ``url``: its one deadline, its guard, its resolved names, its tally."""
        return Fetch(
            self.settings,
            url,
            total_timeout_seconds=self.total_timeout_seconds,
            resolver=self.resolver,
            url_guard=self.url_guard,
        )

    def open(self, url: str) -> SeekableFile | HttpStream:
        """A file object over an http(s) URL, read one ``READ_AHEAD_BYTES`` block at a time where it is read
        (seekable where the server honours ranges, else front to back). Close it when done."""
        fetch = self.new_fetch(url)
        http, answer = self._first_http(fetch, url, self.settings.read_ahead_bytes)
        try:
            if answer.body is not None:
                return self._stream(http, answer, on_close=http.close)
            assert answer.size is not None
            if answer.whole:
                held = SeekableFile(answer.size, {0: answer.head}, content_type=answer.content_type, tally=fetch.tally)
                http.close()
                return held
            blocks = OnDemandBlocks(HttpRangeClient(http, answer.size), self.settings.read_ahead_bytes)
            return SeekableFile(
                answer.size, {0: answer.head}, blocks, content_type=answer.content_type, tally=fetch.tally
            )
        except BaseException:
            http.close()
            raise

    def fetch_audio(self, url: str, sink: AudioSink | None = None) -> DecodedAudio:
        return self.fetch(url, sink)[0]

    def fetch(self, url: str, sink: AudioSink | None = None) -> tuple[DecodedAudio, FetchReport]:
        fetch = self.new_fetch(url)
        where = s3_location(url)
        if where is not None:
            return self._from_s3(fetch, where, sink)
        return self._from_http(fetch, url, sink)

    # --- http(s) -----------------------------------------------------------------------------------------
    def _first_http(self, fetch: Fetch, url: str, first_bytes: int) -> tuple[HttpTransport, FirstAnswer]:
        """The URL checked, then the first request: its transport (kept for what follows) and its answer."""
        s = self.settings
        http = fetch.http(url)
        try:
            http.check()
            answer = first_answer(
                http, first_bytes, whole_up_to=s.read_ahead_bytes, max_bytes=s.max_media_bytes, meter=fetch.meter
            )
        except BaseException:
            http.close()
            raise
        return http, answer

    def _stream(
        self, http: HttpTransport, answer: FirstAnswer, on_close: Callable[[], None] | None = None
    ) -> HttpStream:
        assert answer.body is not None
        return HttpStream(
            http,
            answer.body,
            size=answer.size,
            max_bytes=self.settings.max_media_bytes,
            content_type=answer.content_type,
            on_close=on_close,
        )

    def _from_http(self, fetch: Fetch, url: str, sink: AudioSink | None) -> tuple[DecodedAudio, FetchReport]:
        s = self.settings
        http, answer = self._first_http(fetch, url, min(PROBE_BYTES, s.read_ahead_bytes))
        with closing(http):
            if answer.body is not None:
                return self._from_stream(fetch, url, self._stream(http, answer), sink)
            assert answer.size is not None
            size = answer.size
            if looks_like_playlist(answer.head):
                text = hls.playlist_text(size, answer.head, lambda start, n: fetch_range(http, start, n, size))
                return hls.fetch_playlist(text, http.url, fetch, sink)
            hls.refuse_non_playlist(url, answer.content_type, answer.head)
            if answer.whole:
                return self._in_memory(fetch, answer, sink)
            final_url = http.url
            return self._planned(fetch, answer, lambda: fetch.http_ranges(final_url, size), sink)

    def _from_stream(
        self, fetch: Fetch, url: str, stream: HttpStream, sink: AudioSink | None
    ) -> tuple[DecodedAudio, FetchReport]:
        """A server that sent the whole file: a playlist, or media read front to back."""
        with stream:
            if looks_like_playlist(stream.peek(64)):
                text = stream.peek(MAX_PLAYLIST_BYTES + 1)
                hls.check_playlist_size(len(text))
                return hls.fetch_playlist(text, stream.url, fetch, sink)
            hls.refuse_non_playlist(url, stream.content_type, stream.peek(64))
            audio = decode_audio(stream, max_duration_seconds=self.settings.max_duration_seconds, sink=sink)
        report = fetch.report("sequential", stream.size)
        return replace(audio, source_bytes=report.bytes_fetched), report

    # --- S3 ------------------------------------------------------------------------------------------------
    def _from_s3(self, fetch: Fetch, where: S3Location, sink: AudioSink | None) -> tuple[DecodedAudio, FetchReport]:
        s = self.settings
        client = s3.s3_client(s, where.region)
        first = fetch.s3_ranges(client, where)
        try:
            answer = first.first_answer(min(PROBE_BYTES, s.read_ahead_bytes), s.max_media_bytes)
        except FetchRefused as exc:
            if where.url.startswith("https://") and exc.code == "AccessDenied":
                # An https S3 URL of a bucket the role may not read can still be public: try it as given.
                logger.info("S3 refused the role; reading the https URL anonymously", extra={"error": str(exc)})
                return self._from_http(fetch, where.url, sink)
            raise
        assert answer.size is not None
        size = answer.size
        if looks_like_playlist(answer.head):
            text = hls.playlist_text(size, answer.head, first.fetch)
            return hls.fetch_playlist(text, s3_base(where), fetch, sink, s3_client=client)
        logger.info("reading from S3", extra={"bucket": where.bucket, "size": human_bytes(size)})
        if answer.whole:
            return self._in_memory(fetch, answer, sink)
        return self._planned(fetch, answer, lambda: fetch.s3_ranges(client, where, size), sink)

    # --- what the first answer leads to ----------------------------------------------------------------
    def _in_memory(self, fetch: Fetch, answer: FirstAnswer, sink: AudioSink | None) -> tuple[DecodedAudio, FetchReport]:
        """A file the first answer brought whole."""
        assert answer.size is not None
        with SeekableFile(answer.size, {0: answer.head}, content_type=answer.content_type) as file:
            audio = decode_audio(file, max_duration_seconds=self.settings.max_duration_seconds, sink=sink)
        report = fetch.report("in memory", answer.size)
        return replace(audio, source_bytes=report.bytes_fetched), report

    def _planned(
        self, fetch: Fetch, answer: FirstAnswer, new_client: Callable[[], RangeClient], sink: AudioSink | None
    ) -> tuple[DecodedAudio, FetchReport]:
        """A file whose source honours ranges: the plan, its ranges fetched several at a time, decoded."""
        s = self.settings
        assert answer.size is not None
        size = answer.size
        if float(getattr(sink, "start_seconds", 0.0) or 0.0) > 0 or getattr(sink, "end_seconds", None) is not None:
            return self._time_range(fetch, answer, new_client(), sink)
        index_client = new_client()  # no request until the index needs one (it may be in the first answer)
        with closing(index_client):

            def read_at(offset: int, n: int) -> bytes:
                return retry_once(lambda: index_client.fetch(offset, min(n, size - offset)), fetch.deadline)

            choice = plan_fetch(size, answer.head, s, fetch.meter, read_at)
        plan = choice.plan
        window = max(8 * MiB, s.fetch_connections * s.read_ahead_bytes)
        fetcher = WindowedFetcher(
            plan.lengths,
            lambda: _RangeWorker(new_client(), plan),
            connections=s.fetch_connections,
            window=window,
            keep_behind=KEEP_BEHIND,
            deadline=fetch.deadline,
        )
        ranges = PlannedRanges(plan, fetcher)
        with SeekableFile(size, choice.held, ranges, content_type=answer.content_type) as file:
            audio = decode_audio(file, max_duration_seconds=s.max_duration_seconds, sink=sink)
        report = fetch.report(
            plan.kind,
            size,
            audio_bytes=choice.audio_bytes,
            index_bytes=choice.index_bytes,
            reason=choice.reason,
            retries=fetcher.retries,
            peak_held_bytes=fetcher.peak_held,
            window_bytes=window + KEEP_BEHIND,
        )
        return replace(audio, source_bytes=report.bytes_fetched), report

    def _time_range(
        self, fetch: Fetch, answer: FirstAnswer, client: RangeClient, sink: AudioSink | None
    ) -> tuple[DecodedAudio, FetchReport]:
        """One part of a long video (a sink that starts later or stops early: ``PartWindow``): the decoder seeks, and
        only the blocks it reads from there are fetched, one at a time. The plan's reader fetches
        ahead from the start of the file and, after a seek, fetched the same ranges over and over
        (30x the file for four parts of a camera-style MP4, bench_parts.py)."""
        assert answer.size is not None
        blocks = OnDemandBlocks(client, self.settings.read_ahead_bytes)
        with SeekableFile(answer.size, {0: answer.head}, blocks, content_type=answer.content_type) as file:
            audio = decode_audio(file, max_duration_seconds=self.settings.max_duration_seconds, sink=sink)
        report = fetch.report("time range", answer.size)
        return replace(audio, source_bytes=report.bytes_fetched), report


class _RangeWorker:
    """One connection of the parallel reader: item ``i`` is the plan's range ``i``."""

    def __init__(self, client: RangeClient, plan: Plan) -> None:
        self.client = client
        self._starts, self._lengths = plan.starts, plan.lengths

    def fetch(self, i: int) -> bytes:
        return self.client.fetch(int(self._starts[i]), int(self._lengths[i]))

    def close(self) -> None:
        self.client.close()
