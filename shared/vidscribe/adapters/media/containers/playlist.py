"""HLS playlists: what they hold and which of it to fetch (RFC 8216, parsed by the ``m3u8`` package).

* A master playlist -> its audio-only rendition (``EXT-X-MEDIA TYPE=AUDIO`` with a URI; ``DEFAULT=YES``
  first), else its audio-only variant, else its lowest-bandwidth variant (:func:`pick_rendition`).
* A media playlist -> its segments in order, its ``EXT-X-MAP`` init section first, with their byte
  ranges (:func:`media_targets`), after every check that needs no segment: a live playlist (no
  ``EXT-X-ENDLIST``), encryption (``EXT-X-KEY`` other than ``NONE``), more than HLS_MAX_SEGMENTS
  segments, more than MAX_DURATION_SECONDS, a playlist that lists itself, a malformed tag (whatever the
  parser raises on it, and byte ranges or durations that are not numbers: ``BadPlaylist``).
* A segment whose first bytes are not media (an HTML error page, another playlist) is refused
  (:func:`check_segment`).

Tags, attributes and relative URIs are the ``m3u8`` package's business (globocom), not ours; a playlist
stored in S3 resolves its relative URIs to objects beside it (:func:`s3_base`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import quote, urljoin, urlsplit

import m3u8

from ....config import Settings
from ....errors import BadPlaylist, EncryptedMedia, LiveStream, MediaTooLarge, MediaTooLong, NotMedia
from ....redaction import redact
from ..urlguard import S3Location
from .formats import show_head, sniff

MAX_PLAYLIST_BYTES = 8 * 1024 * 1024
_AUDIO_CODECS = ("mp4a", "ac-3", "ec-3", "opus", "flac", "fla", "mp3", ".mp3")
_MP4_BOXES = (b"ftyp", b"styp", b"moof", b"sidx", b"free", b"emsg", b"prft", b"mdat")
# EXT-X-BYTERANGE: <n>[@<o>], decimal integers (RFC 8216 4.3.2.2): ASCII digits only
_BYTERANGE = re.compile(r"([0-9]{1,19})(?:@([0-9]{1,19}))?", re.ASCII)
# Parsing errors the m3u8 package raises for malformed tags (it has no exception type of its own)
_PARSE_ERRORS = (ValueError, TypeError, AttributeError, IndexError, KeyError, ArithmeticError)

Target = tuple[str, tuple[int, int] | None, str]  # URL, (first, last byte) or the whole object, what it is


def looks_like_playlist(head: bytes) -> bool:
    return head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"#EXTM3U")


def s3_base(where: S3Location) -> str:
    """The ``s3://`` URL of a playlist stored in S3, the base its relative URIs resolve against."""
    return f"s3://{where.bucket}/{quote(where.key, safe='/')}"


def _resolve(base: str, uri: str, absolute: str) -> str:
    """``uri`` of a playlist at ``base``; ``absolute`` is m3u8's answer, right for every base but S3's
    (``urljoin`` does not resolve against a scheme it does not know, so ``s3:`` gets the same rules
    through an https stand-in with the bucket as its host)."""
    if urlsplit(base).scheme.lower() != "s3" or urlsplit(uri).scheme:
        return absolute
    joined = urlsplit(urljoin("https://" + base.removeprefix("s3://"), uri))
    return f"s3://{joined.netloc}{joined.path}"


@contextmanager
def _malformed(url: str) -> Iterator[None]:
    """Whatever the m3u8 package raises on a malformed tag or URI becomes BadPlaylist, with the reason."""
    try:
        yield
    except _PARSE_ERRORS as exc:
        raise BadPlaylist(f"the HLS playlist {redact(url)!r} is malformed: {exc}") from None


def parse_playlist(text: str, url: str, settings: Settings) -> m3u8.M3U8:
    segments = text.count("#EXTINF")
    if segments > settings.hls_max_segments:
        raise MediaTooLarge(
            f"the HLS playlist {redact(url)!r} lists {segments} segments, more than the "
            f"{settings.hls_max_segments} allowed (HLS_MAX_SEGMENTS)"
        )
    with _malformed(url):
        return m3u8.loads(text, uri=url)


def pick_rendition(master: m3u8.M3U8, base: str) -> tuple[str, str]:
    """(URI, what it is) of the playlist whose segments carry the least besides the audio."""
    with _malformed(base):
        return _pick_rendition(master, base)


def _pick_rendition(master: m3u8.M3U8, base: str) -> tuple[str, str]:
    for key in master.session_keys or []:
        if key is not None and (key.method or "NONE").upper() != "NONE":
            raise EncryptedMedia(f"the HLS stream is encrypted (EXT-X-SESSION-KEY METHOD={key.method}): DRM")
    audio = [m for m in master.media if (m.type or "").upper() == "AUDIO" and m.uri]
    if audio:
        audio.sort(key=lambda m: ((m.default or "").upper() != "YES", (m.autoselect or "").upper() != "YES"))
        return _resolve(base, audio[0].uri, audio[0].absolute_uri), f"audio rendition {audio[0].name or audio[0].uri!r}"
    variants = [p for p in master.playlists if p.uri]
    if not variants:
        raise BadPlaylist("the HLS master playlist lists no variant and no audio rendition")

    def rank(p: Any) -> tuple[bool, int]:
        codecs = [c.strip().lower() for c in (p.stream_info.codecs or "").split(",") if c.strip()]
        audio_only = bool(codecs) and all(c.startswith(_AUDIO_CODECS) for c in codecs)
        return (not audio_only, p.stream_info.bandwidth or 1 << 62)

    best = min(variants, key=rank)
    return _resolve(base, best.uri, best.absolute_uri), f"variant of {best.stream_info.bandwidth or '?'} bit/s"


def media_targets(pl: m3u8.M3U8, url: str, settings: Settings, playlists: set[str] | None = None) -> list[Target]:
    """What to fetch for a media playlist, in order (its init section first), after every check that
    needs no segment: live, encrypted, too long, switching init sections, listing a playlist of this
    fetch (``playlists``, besides ``url``), byte ranges."""
    with _malformed(url):
        _check_media_playlist(pl, url, settings)
        items: list[tuple[str, str | None, str]] = []
        init = next((s.init_section for s in pl.segments if s.init_section), None)
        if init is not None:
            items.append((_resolve(url, init.uri, init.absolute_uri), init.byterange, "the init section (EXT-X-MAP)"))
        for k, seg in enumerate(pl.segments):
            items.append((_resolve(url, seg.uri, seg.absolute_uri), seg.byterange, f"segment {k}"))
    for uri, _, _ in items:
        if uri == url or uri in (playlists or ()):
            raise BadPlaylist(f"the HLS playlist {redact(url)!r} lists itself as a segment")
    return _byteranges(items, url)


def _check_media_playlist(pl: m3u8.M3U8, url: str, settings: Settings) -> None:
    if not pl.segments:
        raise BadPlaylist(f"the HLS playlist {redact(url)!r} lists no segments")
    if not pl.is_endlist:
        raise LiveStream(
            f"the HLS playlist {redact(url)!r} is live (no EXT-X-ENDLIST): a live stream has no end to transcribe"
        )
    for key in pl.keys:
        if key is not None and (key.method or "NONE").upper() != "NONE":
            raise EncryptedMedia(f"the HLS stream {redact(url)!r} is encrypted (EXT-X-KEY METHOD={key.method})")
    durations = [float(seg.duration or 0) for seg in pl.segments]
    bad = next((d for d in durations if not math.isfinite(d) or d < 0), None)
    if bad is not None:
        raise BadPlaylist(f"the HLS playlist {redact(url)!r} has a segment of {bad} s (EXTINF)")
    seconds = sum(durations)
    if seconds > settings.max_duration_seconds:
        raise MediaTooLong(
            f"the HLS stream lasts {seconds:.0f} s, more than the {settings.max_duration_seconds:g} s allowed "
            f"(MAX_DURATION_SECONDS)"
        )
    maps = {(s.init_section.absolute_uri, s.init_section.byterange) for s in pl.segments if s.init_section}
    if len(maps) > 1:
        raise BadPlaylist(f"the HLS playlist {redact(url)!r} switches initialization sections (EXT-X-MAP) mid-stream")


def _byteranges(items: list[tuple[str, str | None, str]], url: str) -> list[Target]:
    """EXT-X-BYTERANGE ``length[@offset]`` (offset omitted: right after the previous range of the URI)."""
    out: list[Target] = []
    ends: dict[str, int] = {}
    for uri, spec, what in items:
        if not spec:
            out.append((uri, None, what))
            continue
        match = _BYTERANGE.fullmatch(str(spec).strip())
        if match is None or int(match[1]) == 0:
            raise BadPlaylist(
                f"the HLS playlist {redact(url)!r} gives {what} the byte range {str(spec)[:40]!r}, which is not "
                f"<length>[@<offset>] (EXT-X-BYTERANGE)"
            )
        length = int(match[1])
        start = int(match[2]) if match[2] is not None else ends.get(uri, 0)
        ends[uri] = start + length
        out.append((uri, (start, start + length - 1), what))
    return out


def check_segment(what: str, url: str, head: bytes) -> None:
    """Refuse a segment whose first bytes are not media (an HTML error page, another playlist)."""
    if looks_like_playlist(head):
        raise BadPlaylist(f"{what} of the HLS playlist is itself a playlist ({redact(url)!r})")
    ok = (
        (len(head) > 0 and head[0] == 0x47)
        or head[4:8] in _MP4_BOXES
        or sniff(head) in ("MPEG audio", "MP4/QuickTime", "MPEG-TS")
        or head[:2] in (b"\xff\xf1", b"\xff\xf9")
    )
    if not ok:
        raise NotMedia(f"{what} of the HLS playlist is not media: {redact(url)!r} sent {show_head(head)}")


