"""The ``MediaSource`` adapter: guard the URL, stream it with Range requests, decode the audio."""

from __future__ import annotations

import os
from pathlib import Path

from ...config import Settings
from ...models import DecodedAudio
from .decode import decode_audio
from .range_reader import HttpRangeReader


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
