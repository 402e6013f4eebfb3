"""MP4s whose index lies: sample tables past the end of the file, offsets that overflow 32 bits, a
sample-size table that claims more entries than its box holds, an index of 100 MiB (virtual)."""

from __future__ import annotations

from tests.support.media_factory import _boxes

_PATH = (b"moov", b"trak", b"mdia", b"minf", b"stbl")


def _audio_table(data: bytes, kind: bytes) -> int:
    """Offset of the payload of the audio track's ``kind`` table (stco, stsz, ...)."""
    moov = next((o, s, h) for o, s, k, h in _boxes(data, 0, len(data)) if k == b"moov")
    for off, size, k, header in _boxes(data, moov[0] + moov[2], moov[0] + moov[1]):
        if k != b"trak":
            continue
        found: dict[bytes, tuple[int, int, int]] = {}
        _walk(data, off + header, off + size, found)
        hdlr = found[b"hdlr"]
        if data[hdlr[0] + hdlr[2] + 8 : hdlr[0] + hdlr[2] + 12] == b"soun":
            o, _s, h = found[kind]
            return o + h
    raise ValueError("no audio track")


def _walk(data: bytes, start: int, end: int, found: dict[bytes, tuple[int, int, int]]) -> None:
    for o, s, kind, h in _boxes(data, start, end):
        found.setdefault(kind, (o, s, h))
        if kind in _PATH:
            _walk(data, o + h, o + s, found)


def _patched(data: bytes, at: int, value: int, width: int = 4) -> bytes:
    return data[:at] + value.to_bytes(width, "big") + data[at + width :]


def audio_past_the_end(data: bytes) -> bytes:
    """The audio track's last chunk starts 1000 bytes past the end of the file."""
    at = _audio_table(data, b"stco")
    count = int.from_bytes(data[at + 4 : at + 8], "big")
    return _patched(data, at + 8 + 4 * (count - 1), len(data) + 1000)


def offset_overflow(data: bytes) -> bytes:
    """A chunk at 0xFFFFFF00: in 32-bit arithmetic its end wraps round to a small, plausible offset."""
    at = _audio_table(data, b"stco")
    return _patched(data, at + 8, 0xFFFFFF00)


def huge_sample_table(data: bytes) -> bytes:
    """stsz claims 2^30 samples (4 GiB of table) in a box of a few kilobytes."""
    at = _audio_table(data, b"stsz")
    return _patched(data, at + 8, 1 << 30)


class GiantIndex:
    """A file whose moov (after ftyp) claims 100 MiB; everything past the headers reads as zeros."""

    content_type = "video/mp4"

    def __init__(self, index_bytes: int = 100 * 1024 * 1024) -> None:
        self._head = (b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isommp41"
                      + (index_bytes + 8).to_bytes(4, "big") + b"moov")
        self.size = len(self._head) + index_bytes + 16
        self._tail = (16).to_bytes(4, "big") + b"mdat" + bytes(8)

    def read_at(self, offset: int, n: int) -> bytes:
        out = bytearray(max(0, min(n, self.size - offset)))
        for start, blob in ((0, self._head), (self.size - 16, self._tail)):
            lo, hi = max(offset, start), min(offset + len(out), start + len(blob))
            if lo < hi:
                out[lo - offset : hi - offset] = blob[lo - start : hi - start]
        return bytes(out)
