"""The media adapters: where bytes come from, how they are read, what is inside, and the audio decoded.

``source`` is the ``MediaSource`` the workflow sees: it picks a transport (``transports/``: every HTTP
GET with the URL guard on each hop, ``s3``, ``hls``), a plan (``plan``: which bytes) and a reader
(``readers/``: seekable, sparse, parallel, stream) for each fetch (``fetch``: its settings, its one
``deadline``, what it cost), looks inside with ``containers/`` (the MP4 index, HLS playlists, formats)
and decodes with ``decode``. ``urlguard`` decides which URLs may be fetched.
"""

from .decode import decode_audio
from .fetch import FetchReport
from .source import StreamingMediaSource, open_local_audio

__all__ = ["FetchReport", "StreamingMediaSource", "decode_audio", "open_local_audio"]
