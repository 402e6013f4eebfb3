"""The ``MediaSource`` adapter for files on this machine (``vidscribe transcribe FILE``).

The file is read and decoded as a stream, like a fetched one; MAX_DURATION_SECONDS applies as the
audio is decoded. The URL guard and the fetch limits are about the network and do not apply.
"""

from __future__ import annotations

from ...config import Settings
from ...models import AudioSink, DecodedAudio
from .source import open_local_audio


class LocalFileSource:
    def __init__(self, settings: Settings) -> None:
        self.max_duration_seconds = settings.max_duration_seconds

    def fetch_audio(self, url: str, sink: AudioSink | None = None) -> DecodedAudio:
        """``url``: a path. Raises FileNotFoundError (and the decoder's media errors)."""
        return open_local_audio(url, self.max_duration_seconds, sink)
