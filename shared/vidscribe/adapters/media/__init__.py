"""The media adapters: where bytes are fetched (``transport``: every HTTP GET, whose connections the
``dialer`` resolves, checks and opens within the fetch's one ``deadline``; ``s3``: ranged GetObject),
the readers over them (``range_reader``: the seekable Range reader and fallback; ``ranged_fetch`` with
``mp4_index``, ``fetch_plan``, ``parallel_reader`` and ``planned_file``: planned fetching, several
requests in flight; ``hls`` and ``hls_segments``: playlists and their segments, streamed), container
sniffing (``formats``), audio decoding (``decode``) and the ``MediaSource`` port's adapter
(``source``). ``urlguard`` decides which URLs may be fetched."""

from .decode import decode_audio
from .ranged_fetch import FetchReport
from .readers.seekable import HttpRangeReader
from .source import HttpMediaSource, StreamingMediaSource, open_local_audio
from .transports.http import make_session

__all__ = [
    "FetchReport",
    "HttpMediaSource",
    "HttpRangeReader",
    "StreamingMediaSource",
    "decode_audio",
    "make_session",
    "open_local_audio",
]
