"""Which media URLs the video page may put in front of a browser, and which it must withhold.

The page embeds a video's own URL in a ``<video>`` element, so whatever the URL holds reaches the
page's source and the browser's history. A URL with credentials (``user:password@``) or a query
string is withheld: neither shown nor embedded. A query is taken for a signature whatever its
parameters are called (an S3 or CloudFront signature, an Akamai ``hdnts``, an nginx ``md5``, a CDN's
own token), as ``redaction.scrub`` masks every query value by structure rather than by name. Only
http(s) URLs are embedded: a browser cannot fetch ``s3://``, and no other scheme belongs in a page.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from ..redaction import redact

CREDENTIALS = "this video's URL carries credentials and is not shown"


@dataclass(frozen=True)
class PlayerMedia:
    """What the page does with a video's URL: ``src`` to embed (None: nothing is embedded),
    ``shown`` to print as text (None: nothing is shown), and ``reason`` why nothing plays."""

    src: str | None
    shown: str | None
    reason: str | None = None


def player_media(url: str | None) -> PlayerMedia:
    """The page's use of ``url`` (see the module's docstring)."""
    if not url or not url.strip():
        return PlayerMedia(None, None, "this video has no URL")
    try:
        parts = urlsplit(url.strip())
        parts.port  # noqa: B018  (raises ValueError for a port that is not a number)
    except ValueError:
        return PlayerMedia(None, None, "this video's URL cannot be read")
    if "@" in parts.netloc or parts.query or "?" in url:
        return PlayerMedia(None, None, CREDENTIALS)
    scheme = parts.scheme.lower()
    if scheme == "s3":
        return PlayerMedia(None, redact(url), "this video is in S3 (s3://), which a browser cannot play")
    if scheme not in ("http", "https") or not parts.hostname:
        return PlayerMedia(None, None, "this video's URL is not an http(s) URL a browser can play")
    # The fragment is the page's own business (#t= is read by the page, not by the media URL).
    src = urlunsplit((scheme, parts.netloc, parts.path or "/", "", ""))
    return PlayerMedia(src, src)
