"""MP4s whose index lies: sample tables past the end of the file, offsets that overflow 32 bits, a
sample-size table that claims more entries than its box holds, an index of 100 MiB (virtual); boxes cut
short (an empty ``mdhd``, a ``stsz`` or ``stz2`` without its count), and :func:`mutate_index`, one random
structural edit of an index for a seeded fuzzing loop.

The box editor works on files whose index is at the end (``make_video(..., faststart=False)``): the
``moov`` can then change size without moving the media data its chunk offsets point into.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field

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


# --- the box editor ------------------------------------------------------------------------------------
_CONTAINERS = {b"moov", b"trak", b"mdia", b"minf", b"stbl", b"dinf", b"edts"}


@dataclass
class Box:
    kind: bytes
    payload: bytes = b""  # a leaf's bytes after its header
    children: list[Box] = field(default_factory=list)

    @property
    def container(self) -> bool:
        return self.kind in _CONTAINERS

    def find(self, *path: bytes) -> Box:
        box = self
        for kind in path:
            box = next(c for c in box.children if c.kind == kind)
        return box

    def walk(self):
        yield self
        for child in self.children:
            yield from child.walk()

    def to_bytes(self) -> bytes:
        body = b"".join(c.to_bytes() for c in self.children) if self.container else self.payload
        return (8 + len(body)).to_bytes(4, "big") + self.kind + body


def _tree(data: bytes, start: int, end: int) -> list[Box]:
    out = []
    for off, size, kind, header in _boxes(data, start, end):
        if kind in _CONTAINERS:
            out.append(Box(kind, children=_tree(data, off + header, off + size)))
        else:
            out.append(Box(kind, bytes(data[off + header : off + size])))
    return out


def edit_index(data: bytes, edit: Callable[[Box], None]) -> bytes:
    """``data`` with its ``moov`` (the last top-level box) rewritten by ``edit``."""
    top = list(_boxes(data, 0, len(data)))
    off, size, kind, header = top[-1]
    if kind != b"moov":
        raise ValueError("the index must be at the end (make_video(..., faststart=False))")
    [moov] = _tree(data, off, off + size)
    edit(moov)
    return data[:off] + moov.to_bytes()


def audio_track(moov: Box) -> Box:
    return next(t for t in moov.children if t.kind == b"trak" and t.find(b"mdia", b"hdlr").payload[8:12] == b"soun")


def empty_mdhd(data: bytes) -> bytes:
    """The audio track's media header (timescale, duration) is an empty box."""

    def edit(moov: Box) -> None:
        audio_track(moov).find(b"mdia", b"mdhd").payload = b""

    return edit_index(data, edit)


def short_stsz(data: bytes) -> bytes:
    """The audio track's sample-size table stops before its sample count."""

    def edit(moov: Box) -> None:
        stsz = audio_track(moov).find(b"mdia", b"minf", b"stbl", b"stsz")
        stsz.payload = stsz.payload[:10]

    return edit_index(data, edit)


def short_stz2(data: bytes) -> bytes:
    """The audio track's sample sizes in a compact table (``stz2``) that stops after its field size."""

    def edit(moov: Box) -> None:
        stsz = audio_track(moov).find(b"mdia", b"minf", b"stbl", b"stsz")
        stsz.kind, stsz.payload = b"stz2", bytes(7) + b"\x10"  # version, flags, reserved, 16-bit sizes: no count

    return edit_index(data, edit)


_EXTREMES = (0, 1, 2, 7, 8, 0xFF, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF)


def mutate_index(data: bytes, rng: random.Random) -> bytes:
    """One random structural edit of the index: a box cut short or emptied, a field set to an extreme,
    a box renamed to a sibling's kind, dropped or doubled. What a damaged or hostile file can hold."""

    def edit(moov: Box) -> None:
        boxes = list(moov.walk())[1:]
        box = rng.choice(boxes)
        move = rng.randrange(5)
        if move == 0 and not box.container:
            box.payload = box.payload[: rng.randrange(len(box.payload) + 1)]
        elif move == 1 and not box.container and len(box.payload) >= 4:
            at = rng.randrange(0, len(box.payload) - 3)
            value = rng.choice(_EXTREMES) if rng.random() < 0.7 else rng.randrange(1 << 32)
            box.payload = box.payload[:at] + value.to_bytes(4, "big") + box.payload[at + 4 :]
        elif move == 2:
            box.kind = rng.choice([b"stsz", b"stz2", b"stco", b"co64", b"stsc", b"mdhd", b"tkhd", b"hdlr", b"dref"])
        else:
            parent = next(b for b in moov.walk() if box in b.children)
            i = parent.children.index(box)
            if move == 3:
                del parent.children[i]
            else:
                parent.children.insert(i, Box(box.kind, box.payload, list(box.children)))

    return edit_index(data, edit)
