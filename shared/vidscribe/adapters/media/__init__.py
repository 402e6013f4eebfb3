"""The media adapters: where bytes are fetched (``transport``), the seekable reader over them
(``range_reader``), container sniffing (``formats``), audio decoding (``decode``) and the
``MediaSource`` port's adapter (``source``). ``urlguard`` decides which URLs may be fetched."""

from .decode import decode_audio
from .range_reader import HttpRangeReader
from .source import HttpMediaSource, open_local_audio
from .transport import make_session

__all__ = ["HttpMediaSource", "HttpRangeReader", "decode_audio", "make_session", "open_local_audio"]
