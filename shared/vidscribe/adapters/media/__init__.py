"""The media adapters: where bytes come from, which of them to fetch, how they are read, what is inside.

    source.py        StreamingMediaSource, the MediaSource the workflow sees: per URL a transport, a plan, a reader
    fetch.py         Fetch: one fetch's settings, deadline, dialer and tally; builds every transport. FetchReport
    plan.py          which bytes: the whole file, or an MP4's audio chunks (plan_fetch reads the index)
    hls.py           an HLS playlist's audio: rendition, segments streamed through the decoder
    deadline.py      Deadline: one per fetch, passed down to every step; the socket watchdog
    decode.py        PyAV to 16 kHz mono blocks
    urlguard.py      which URLs may be fetched
    sizes.py         byte sizes as people read them
    transports/      http.py (every GET, the guard on each hop, the first request), dialer.py (each connection
                     within the deadline), s3.py (ranged GetObject), hls.py (a playlist's objects),
                     ranges.py (range clients, the link meter, the tally, the first answer)
    readers/         seekable.py (SeekableFile, the one seekable reader; blocks read ahead on demand),
                     sparse.py (a plan's ranges, zeros elsewhere), parallel.py (requests in flight),
                     stream.py (front to back: a body without Range, an HLS stream)
    containers/      mp4_index.py (where each track's chunks lie), playlist.py (HLS), formats.py (sniffing)
"""

from .decode import decode_audio
from .fetch import FetchReport
from .source import StreamingMediaSource, open_local_audio

__all__ = ["FetchReport", "StreamingMediaSource", "decode_audio", "open_local_audio"]
