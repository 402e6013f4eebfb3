"""The index of an MP4/MOV/M4A file: its top-level boxes and, from the ``moov``, where each track's
chunks lie in the file (``stsc`` + ``stco``/``co64`` + ``stsz``/``stz2``).

Written by hand, with numpy, because no well-kept Python library reads sample tables as arrays:
``pymp4`` builds one Python object per table entry and pins construct 2.8, ``mutagen`` reads tags
only, ``hachoir`` is a generic, slow field tree. A 4-hour file has millions of table entries; numpy
reads each table in one step and sums chunk sizes without a Python loop.

The checks here also protect FFmpeg, which sees the same ``moov`` afterwards: a table whose entry count
does not fit in its box would make it allocate gigabytes before noticing, and a chunk that lies past the
end of the file means the file is cut. Both are refused here, before any media byte is fetched.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import numpy as np

from ....errors import MediaTooLarge, TruncatedMedia
from ..sizes import human_bytes

MAX_MOOV_BYTES = 64 * 1024 * 1024  # a 4-hour 60 fps file's index is ~10 MB; more is not a video
MAX_TOP_LEVEL_BOXES = 1024
_CONTAINERS = {b"moov", b"trak", b"mdia", b"minf", b"stbl", b"dinf", b"edts"}
# Tables FFmpeg allocates from their entry count: (offset of the count in the payload, bytes per entry).
_COUNTED_TABLES = {
    b"stts": (4, 8), b"ctts": (4, 8), b"stss": (4, 4), b"stps": (4, 4), b"stsc": (4, 12),
    b"stco": (4, 4), b"co64": (4, 8), b"sbgp": (8, 8), b"elst": (4, 12),
}


class IndexUnusable(Exception):
    """The file is valid but its index cannot drive a partial fetch (fragmented, compressed header,
    media in another file, ...): read the whole file instead. The message says why."""


@dataclass(frozen=True)
class Box:
    offset: int
    size: int
    kind: bytes
    header: int

    @property
    def end(self) -> int:
        return self.offset + self.size


@dataclass
class Track:
    track_id: int
    handler: str  # "soun", "vide", "text", ...
    codec: str
    timescale: int
    duration: int
    chunk_offsets: np.ndarray  # uint64, one per chunk that holds samples
    chunk_sizes: np.ndarray  # uint64

    @property
    def seconds(self) -> float:
        return self.duration / self.timescale if self.timescale else 0.0

    @property
    def data_bytes(self) -> int:
        return int(self.chunk_sizes.sum())


@dataclass
class Mp4Index:
    size: int
    boxes: list[Box]
    moov: Box
    tracks: list[Track] = field(default_factory=list)

    @property
    def audio_tracks(self) -> list[Track]:
        return [t for t in self.tracks if t.handler == "soun"]

    @property
    def index_bytes(self) -> int:
        """Bytes of every top-level box but the media data: what a partial fetch must read besides it."""
        return sum(b.size if b.kind != b"mdat" else b.header for b in self.boxes)

    def audio_extents(self) -> tuple[np.ndarray, np.ndarray]:
        """(offsets, sizes) of every audio chunk, sorted by offset."""
        tracks = self.audio_tracks
        if not tracks:
            return np.zeros(0, np.uint64), np.zeros(0, np.uint64)
        offsets = np.concatenate([t.chunk_offsets for t in tracks])
        sizes = np.concatenate([t.chunk_sizes for t in tracks])
        order = np.argsort(offsets, kind="stable")
        return offsets[order], sizes[order]


def _u32(data: bytes | memoryview, at: int) -> int:
    return int.from_bytes(data[at : at + 4], "big")


def _u64(data: bytes | memoryview, at: int) -> int:
    return int.from_bytes(data[at : at + 8], "big")


def parse_box_header(data: bytes | memoryview, offset: int, limit: int) -> Box | None:
    """The box whose header starts at ``data[0]`` (found at file ``offset``); ``limit`` = where its
    parent ends. None when the header is cut off or impossible."""
    if len(data) < 8:
        return None
    size, kind, header = _u32(data, 0), bytes(data[4:8]), 8
    if size == 1:
        if len(data) < 16:
            return None
        size, header = _u64(data, 8), 16
    elif size == 0:
        size = limit - offset
    if size < header or offset + size > limit:
        return None
    return Box(offset, size, kind, header)


def children(data: memoryview, start: int, end: int, base: int = 0) -> Iterator[Box]:
    """Boxes inside ``data[start:end]`` (offsets relative to ``data``; ``base`` is only for messages)."""
    pos = start
    while pos + 8 <= end:
        box = parse_box_header(data[pos:end], pos, end)
        if box is None:
            raise _Corrupt(f"a box inside the index at offset {base + pos} is cut off or larger than its parent")
        yield box
        pos = box.end


class _Corrupt(Exception):
    pass


# --- the top level -------------------------------------------------------------------------------------
def read_index(read_at: Callable[[int, int], bytes], size: int, head: bytes) -> tuple[Mp4Index, dict[int, bytes]]:
    """Walk the top-level boxes (``read_at(offset, n)`` fetches bytes; ``head`` is the file's start)
    and parse the ``moov``. Returns the index and every span of real bytes read ({offset: bytes})."""
    known: dict[int, bytes] = {0: head}

    def at(offset: int, n: int) -> bytes:
        for start, data in known.items():
            if start <= offset and offset + n <= start + len(data):
                return data[offset - start : offset - start + n]
        data = read_at(offset, n)
        known[offset] = data
        return data

    boxes: list[Box] = []
    pos = 0
    moov: Box | None = None
    while pos < size:
        if len(boxes) >= MAX_TOP_LEVEL_BOXES:
            raise IndexUnusable(f"more than {MAX_TOP_LEVEL_BOXES} top-level boxes")
        tail = size - pos
        # Near the end the rest of the file is usually the index itself: take it in one request.
        want = tail if tail <= 4 * 1024 * 1024 else 64 * 1024
        header = at(pos, min(16, tail)) if _held(known, pos, 16) else at(pos, want)[:16]
        box = parse_box_header(header, pos, size)
        if box is None:
            if boxes and tail < 8:
                break  # trailing padding
            raise TruncatedMedia(
                f"the MP4 is truncated or corrupt: its top-level box at offset {pos} is cut off or runs past "
                f"the end of the file ({human_bytes(size)})"
            )
        boxes.append(box)
        if box.kind == b"moov":
            if moov is not None:
                raise IndexUnusable("two moov boxes")
            moov = box
        pos = box.end
    if moov is None:
        raise IndexUnusable("no moov box (a fragmented or damaged file)")
    if moov.size > MAX_MOOV_BYTES:
        raise MediaTooLarge(
            f"the MP4's index (moov) is {human_bytes(moov.size)}, more than the {human_bytes(MAX_MOOV_BYTES)} "
            f"any video needs: refusing to load it"
        )
    if not any(b.kind == b"mdat" for b in boxes):
        raise IndexUnusable("no mdat box: the media data is elsewhere")
    moov_bytes = at(moov.offset, moov.size)
    for box in boxes:
        if box.kind not in (b"mdat", b"moov", b"free", b"skip", b"wide") and box.size <= 1024 * 1024:
            at(box.offset, box.size)  # small top-level boxes (ftyp, uuid, meta) are read whole
    try:
        index = Mp4Index(size, boxes, moov, parse_moov(memoryview(moov_bytes), moov, size))
    except _Corrupt as exc:
        raise TruncatedMedia(f"the MP4's index is corrupt: {exc}") from None
    return index, known


def _held(known: dict[int, bytes], offset: int, n: int) -> bool:
    return any(start <= offset and offset + n <= start + len(data) for start, data in known.items())


# --- the moov --------------------------------------------------------------------------------------------
def parse_moov(data: memoryview, moov: Box, file_size: int) -> list[Track]:
    tracks: list[Track] = []
    for box in children(data, moov.header, moov.size, moov.offset):
        if box.kind == b"mvex":
            raise IndexUnusable("fragmented MP4 (moof boxes): the moov has no sample tables")
        if box.kind == b"cmov":
            raise IndexUnusable("compressed moov (cmov)")
        if box.kind == b"trak":
            tracks.append(_parse_trak(data, box, file_size))
    return tracks


def _find(data: memoryview, parent: Box, path: tuple[bytes, ...]) -> Box | None:
    box: Box | None = parent
    for kind in path:
        assert box is not None
        box = next((c for c in children(data, box.offset + box.header, box.end) if c.kind == kind), None)
        if box is None:
            return None
    return box


def _payload(data: memoryview, box: Box) -> memoryview:
    return data[box.offset + box.header : box.end]


def _parse_trak(data: memoryview, trak: Box, file_size: int) -> Track:
    tkhd, mdhd, hdlr = (_find(data, trak, p) for p in ((b"tkhd",), (b"mdia", b"mdhd"), (b"mdia", b"hdlr")))
    stbl = _find(data, trak, (b"mdia", b"minf", b"stbl"))
    if tkhd is None or mdhd is None or hdlr is None or stbl is None:
        raise _Corrupt("a track lacks its tkhd, mdhd, hdlr or stbl box")
    p = _payload(data, tkhd)
    track_id = _u32(p, 20 if p[0] == 1 else 12) if len(p) >= 24 else 0
    p = _payload(data, mdhd)
    version = p[0] if len(p) else None
    if version == 1 and len(p) >= 32:
        timescale, duration = _u32(p, 20), _u64(p, 24)
    elif version is not None and version != 1 and len(p) >= 20:
        timescale, duration = _u32(p, 12), _u32(p, 16)
    else:
        raise _Corrupt(f"the mdhd box of track {track_id} is cut off ({len(p)} bytes)")
    p = _payload(data, hdlr)
    handler = bytes(p[8:12]).decode("latin-1") if len(p) >= 12 else "?"
    dref = _find(data, trak, (b"mdia", b"minf", b"dinf", b"dref"))
    if dref is not None:
        _check_self_contained(data, dref)
    tables = {c.kind: c for c in children(data, stbl.offset + stbl.header, stbl.end)}
    for kind, box in tables.items():
        _check_count(kind, _payload(data, box), track_id)
    stsd = tables.get(b"stsd")
    codec = bytes(_payload(data, stsd)[12:16]).decode("latin-1") if stsd is not None else "?"
    offsets = _chunk_offsets(data, tables, track_id)
    sizes = _chunk_sizes(data, tables, len(offsets), track_id)
    keep = sizes > 0
    offsets, sizes = offsets[keep], sizes[keep]
    if handler == "soun" and len(offsets):
        past = np.nonzero((offsets >= file_size) | (sizes > file_size - np.minimum(offsets, file_size)))[0]
        if len(past):
            i = int(past[0])
            raise TruncatedMedia(
                f"the MP4 is truncated or its index is corrupt: chunk {i + 1} of audio track {track_id} lies at "
                f"bytes {int(offsets[i])}-{int(offsets[i]) + int(sizes[i])}, past the end of the file "
                f"({file_size} bytes)"
            )
    return Track(track_id, handler, codec, timescale, duration, offsets, sizes)


def _check_self_contained(data: memoryview, dref: Box) -> None:
    for entry in children(data, dref.offset + dref.header + 8, dref.end):
        flags = _u32(data, entry.offset + entry.header) & 0xFFFFFF
        if not flags & 1:
            raise IndexUnusable("a track's media data lives in another file (data reference)")


def _check_count(kind: bytes, payload: memoryview, track_id: int) -> None:
    """A table's header is whole and its entries fit in its box (what FFmpeg would allocate from the count)."""
    if kind in (b"stsz", b"stz2") and len(payload) < 12:
        raise _Corrupt(f"the {kind.decode()} table of track {track_id} is cut off ({len(payload)} bytes)")
    counted = _COUNTED_TABLES.get(kind)
    if kind == b"stsz" and _u32(payload, 4) == 0:
        counted = (8, 4)
    if kind == b"elst" and len(payload) >= 1 and payload[0] == 1:
        counted = (4, 20)
    if counted is None:
        return
    at, width = counted
    if len(payload) < at + 4:
        raise _Corrupt(f"the {kind.decode()} table of track {track_id} is cut off")
    count = _u32(payload, at)
    room = (len(payload) - at - 4) // width
    if count > room:
        raise _Corrupt(
            f"the {kind.decode()} table of track {track_id} claims {count} entries but its box holds {room}"
        )


def _chunk_offsets(data: memoryview, tables: dict[bytes, Box], track_id: int) -> np.ndarray:
    if b"co64" in tables:
        p = _payload(data, tables[b"co64"])
        return np.frombuffer(p, ">u8", _u32(p, 4), 8).astype(np.uint64)
    if b"stco" in tables:
        p = _payload(data, tables[b"stco"])
        return np.frombuffer(p, ">u4", _u32(p, 4), 8).astype(np.uint64)
    raise _Corrupt(f"track {track_id} has no chunk offsets (stco/co64)")


def _sample_sizes(data: memoryview, tables: dict[bytes, Box], track_id: int) -> tuple[int, np.ndarray | int]:
    """(sample count, sizes array -- or the one size every sample has)."""
    if b"stsz" in tables:
        p = _payload(data, tables[b"stsz"])
        uniform, count = _u32(p, 4), _u32(p, 8)
        if uniform:
            return count, uniform
        return count, np.frombuffer(p, ">u4", count, 12).astype(np.uint64)
    if b"stz2" in tables:
        p = _payload(data, tables[b"stz2"])
        width, count = p[7], _u32(p, 8)
        if width not in (4, 8, 16) or (count * width + 7) // 8 > len(p) - 12:
            raise _Corrupt(f"the stz2 table of track {track_id} is cut off or has a bad field size")
        if width == 16:
            return count, np.frombuffer(p, ">u2", count, 12).astype(np.uint64)
        raw: np.ndarray = np.frombuffer(p, np.uint8, (count * width + 7) // 8, 12)
        if width == 4:
            raw = np.stack([raw >> 4, raw & 0x0F], axis=1).reshape(-1)[:count]
        wide: np.ndarray = raw.astype(np.uint64)
        return count, wide
    raise _Corrupt(f"track {track_id} has no sample sizes (stsz/stz2)")


def _chunk_sizes(data: memoryview, tables: dict[bytes, Box], n_chunks: int, track_id: int) -> np.ndarray:
    """Bytes of each chunk: its samples (stsc: how many per chunk) summed (stsz). Like FFmpeg, samples
    stop where stsz ends: chunks beyond hold nothing."""
    if b"stsc" not in tables:
        raise _Corrupt(f"track {track_id} has no sample-to-chunk table (stsc)")
    p = _payload(data, tables[b"stsc"])
    runs = np.frombuffer(p, ">u4", _u32(p, 4) * 3, 8).reshape(-1, 3).astype(np.int64)
    count, sizes = _sample_sizes(data, tables, track_id)
    if n_chunks == 0 or len(runs) == 0 or count == 0:
        return np.zeros(n_chunks, np.uint64)
    first = runs[:, 0]
    if first[0] != 1 or np.any(np.diff(first) <= 0):
        raise IndexUnusable(f"the stsc table of track {track_id} is out of order")
    bounds = np.minimum(np.append(first, n_chunks + 1), n_chunks + 1)
    per_chunk = np.repeat(runs[:, 1], np.maximum(np.diff(bounds), 0))[:n_chunks]
    if len(per_chunk) < n_chunks:
        per_chunk = np.append(per_chunk, np.zeros(n_chunks - len(per_chunk), np.int64))
    ends = np.minimum(np.cumsum(per_chunk), count)
    starts = np.append(0, ends[:-1])
    result: np.ndarray
    if isinstance(sizes, int):
        result = ((ends - starts) * sizes).astype(np.uint64)
    else:
        total = np.append(np.uint64(0), np.cumsum(sizes, dtype=np.uint64))
        result = (total[ends] - total[starts]).astype(np.uint64)
    return result
