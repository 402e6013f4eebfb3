"""Recognising a container from its first bytes, for error messages and the unseekable-MP4 check."""

from __future__ import annotations

_SIGNATURES = (
    (lambda h: h[4:8] in (b"ftyp", b"moov", b"mdat", b"free", b"skip", b"wide", b"pnot"), "MP4/QuickTime"),
    (lambda h: h[:4] == b"\x1a\x45\xdf\xa3", "Matroska/WebM"),
    (lambda h: h[:4] == b"OggS", "Ogg"),
    (lambda h: h[:4] == b"fLaC", "FLAC"),
    (lambda h: h[:4] == b"RIFF", "RIFF (WAV/AVI)"),
    (lambda h: h[:3] == b"ID3" or (len(h) > 1 and h[0] == 0xFF and h[1] & 0xE0 == 0xE0), "MPEG audio"),
    (lambda h: h[:4] == b"\x30\x26\xb2\x75", "ASF/WMV"),
    (lambda h: h[:3] == b"FLV", "FLV"),
    (lambda h: len(h) > 188 and h[0] == 0x47 and h[188] == 0x47, "MPEG-TS"),
)


def sniff(head: bytes) -> str | None:
    for test, name in _SIGNATURES:
        if test(head):
            return name
    return None


def show_head(head: bytes) -> str:
    sample = head[:40]
    text = sample.decode("ascii", errors="replace")
    printable = sum(ch.isprintable() or ch in "\r\n\t" for ch in text)
    if sample and printable >= 0.9 * len(text):
        return repr(" ".join(text.split()))
    return sample[:16].hex(" ")


def mp4_index_at_end(head: bytes) -> bool | None:
    """Whether the start of an MP4 shows its ``mdat`` before any ``moov`` (None: cannot tell)."""
    pos = 0
    while pos + 8 <= len(head):
        size = int.from_bytes(head[pos : pos + 4], "big")
        kind = head[pos + 4 : pos + 8]
        if kind == b"moov":
            return False
        if kind == b"mdat":
            return True
        if size == 1 and pos + 16 <= len(head):
            size = int.from_bytes(head[pos + 8 : pos + 16], "big")
        if size < 8:
            return None
        pos += size
    return None
