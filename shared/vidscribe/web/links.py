"""Links and names the pages build from outside data: video ids (which may hold ``/``, ``?``, ``#``,
``&``, ``+``, spaces and any Unicode) always travel percent-encoded in a query string, and a file
offered for download gets a name that is safe on any file system."""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Mapping
from urllib.parse import quote, urlencode

#: What a downloaded file's name keeps of a video id: letters and digits of any script, and . _ -
_UNSAFE_IN_NAME = re.compile(r"[^\w.\-]+")
_MAX_NAME_CHARS = 120


def query_string(params: Mapping[str, object]) -> str:
    """``params`` (None values left out) as a query string, every reserved character escaped."""
    present = {key: _text(value) for key, value in params.items() if value is not None and value != ""}
    return urlencode(present, quote_via=quote, safe="")


def with_query(path: str, params: Mapping[str, object]) -> str:
    query = query_string(params)
    return f"{path}?{query}" if query else path


def seconds_param(seconds: float) -> str:
    """A time as a link carries it: ``4.6``, ``12``, never ``4.600000001``."""
    return f"{seconds:.3f}".rstrip("0").rstrip(".") if math.isfinite(seconds) else "0"


def _text(value: object) -> str:
    return seconds_param(value) if isinstance(value, float) else str(value)


def clock(seconds: float | None) -> str:
    """``m:ss`` or ``h:mm:ss`` (what a player shows); ``–`` for no time."""
    if seconds is None or not math.isfinite(seconds):
        return "–"
    whole = max(0, int(seconds))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def download_name(video_id: str, fmt: str) -> str:
    """A file name for a video's transcript: the id with every run of characters a file system or
    a shell would read specially (``/``, ``\\``, ``:``, quotes, spaces, control characters) made one
    ``_``, no leading dot, at most 120 characters, then ``.fmt``. Unicode letters stay (the header
    carries them as RFC 6266's ``filename*``)."""
    name = _UNSAFE_IN_NAME.sub("_", unicodedata.normalize("NFC", video_id)).strip("._")
    return f"{name[:_MAX_NAME_CHARS] or 'transcript'}.{fmt}"
