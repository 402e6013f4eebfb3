"""Re-chunk an MP4 the way cameras and phones write it: about one chunk per track per second.

FFmpeg's muxer (so PyAV's) interleaves nearly per frame: ~15-25 audio chunks a second, each a few
hundred bytes between video frames. A camera writes one chunk of ~1 s per track, alternating. Same
samples, same timing, other layout: this module rewrites an FFmpeg-written MP4's ``mdat`` into ~1 s
chunks per track and its chunk tables (``stsc``, ``stco``) to match; ``stsz``, ``stts`` and everything
else stay as they were, so the decoded audio is identical.

    camera = rechunk(ffmpeg_mp4_bytes, chunk_seconds=1.0, faststart=False)
"""

from __future__ import annotations

import numpy as np

from tests.support.media_factory import _boxes

_CONTAINERS = {b"moov", b"trak", b"mdia", b"minf", b"stbl", b"edts", b"dinf"}


def _box(kind: bytes, payload: bytes) -> bytes:
    return (8 + len(payload)).to_bytes(4, "big") + kind + payload


def _table(data: bytes, off: int, header: int, dtype: str, width: int, count_at: int = 4) -> np.ndarray:
    count = int.from_bytes(data[off + header + count_at : off + header + count_at + 4], "big")
    return np.frombuffer(data, dtype, count * width, off + header + count_at + 4).reshape(-1, width)


class _Track:
    def __init__(self, moov: bytes, stbl: tuple[int, int, int], timescale: int) -> None:
        start, size, header = stbl
        tables = {k: (o, h) for o, s, k, h in _boxes(moov, start + header, start + size)}
        o, h = tables[b"stsz"]
        uniform = int.from_bytes(moov[o + h + 4 : o + h + 8], "big")
        count = int.from_bytes(moov[o + h + 8 : o + h + 12], "big")
        self.sizes = (
            np.full(count, uniform, np.int64)
            if uniform
            else np.frombuffer(moov, ">u4", count, o + h + 12).astype(np.int64)
        )
        stts = _table(moov, *tables[b"stts"], ">u4", 2).astype(np.int64)
        durations = np.repeat(stts[:, 1], stts[:, 0])[:count]
        self.times = np.append(0, np.cumsum(durations))[:count] / timescale
        wide = b"co64" in tables
        self.offsets = _table(moov, *tables[b"co64" if wide else b"stco"], ">u8" if wide else ">u4", 1)[:, 0]
        runs = _table(moov, *tables[b"stsc"], ">u4", 3).astype(np.int64)
        bounds = np.append(runs[:, 0], len(self.offsets) + 1)
        self.per_chunk = np.repeat(runs[:, 1], np.diff(bounds))

    def sample_bytes(self, data: bytes) -> list[bytes]:
        """Each sample's bytes, in order (chunks hold their samples back to back)."""
        out, s = [], 0
        for offset, n in zip(self.offsets.tolist(), self.per_chunk.tolist(), strict=True):
            pos = offset
            for size in self.sizes[s : s + n].tolist():
                out.append(data[pos : pos + size])
                pos += size
            s += n
        return out


def _tracks(moov: bytes) -> list[tuple[tuple[int, int, int], _Track]]:
    found = []
    for off, size, kind, header in _boxes(moov, 8, len(moov)):
        if kind != b"trak":
            continue
        mdia = next(b for b in _boxes(moov, off + header, off + size) if b[2] == b"mdia")
        mdhd = next(b for b in _boxes(moov, mdia[0] + mdia[3], mdia[0] + mdia[1]) if b[2] == b"mdhd")
        p = mdhd[0] + mdhd[3]
        timescale = int.from_bytes(moov[p + (20 if moov[p] == 1 else 12) : p + (24 if moov[p] == 1 else 16)], "big")
        minf = next(b for b in _boxes(moov, mdia[0] + mdia[3], mdia[0] + mdia[1]) if b[2] == b"minf")
        stbl = next(b for b in _boxes(moov, minf[0] + minf[3], minf[0] + minf[1]) if b[2] == b"stbl")
        found.append(((stbl[0], stbl[1], stbl[3]), _Track(moov, (stbl[0], stbl[1], stbl[3]), timescale)))
    return found


def _rewrite(moov: bytes, start: int, end: int, new_tables: dict[int, tuple[bytes, bytes]]) -> bytes:
    """The boxes between start and end, with each listed stbl's stsc/stco replaced."""
    out = b""
    for off, size, kind, header in _boxes(moov, start, end):
        if kind == b"stbl" and off in new_tables:
            stsc, stco = new_tables[off]
            inner = b"".join(
                stsc if k == b"stsc" else stco if k in (b"stco", b"co64") else moov[o : o + s]
                for o, s, k, _ in _boxes(moov, off + header, off + size)
            )
            out += _box(kind, inner)
        elif kind in _CONTAINERS:
            out += _box(kind, _rewrite(moov, off + header, off + size, new_tables))
        else:
            out += moov[off : off + size]
    return out


def rechunk(data: bytes, *, chunk_seconds: float = 1.0, faststart: bool = False) -> bytes:
    top = list(_boxes(data, 0, len(data)))
    ftyp = b"".join(data[o : o + s] for o, s, k, _ in top if k == b"ftyp")
    m_off, m_size = next((o, s) for o, s, k, _ in top if k == b"moov")
    moov = data[m_off : m_off + m_size]
    tracks = _tracks(moov)
    samples = [t.sample_bytes(data) for _, t in tracks]
    # Chunk k of every track holds its samples timed in [k, k+1) * chunk_seconds.
    slots = [np.floor(t.times / chunk_seconds).astype(np.int64) for _, t in tracks]
    n_slots = int(max(s.max() for s in slots if len(s))) + 1
    layout: list[tuple[int, int, bytes, int]] = []  # (track, slot, bytes, samples)
    for k in range(n_slots):
        for ti, slot in enumerate(slots):
            idx = np.flatnonzero(slot == k)
            if len(idx):
                layout.append((ti, k, b"".join(samples[ti][i] for i in idx.tolist()), len(idx)))

    def build(mdat_payload_at: int) -> tuple[bytes, bytes]:
        offsets: list[list[int]] = [[] for _ in tracks]
        counts: list[list[int]] = [[] for _ in tracks]
        pos = mdat_payload_at
        for ti, _k, blob, n in layout:
            offsets[ti].append(pos)
            counts[ti].append(n)
            pos += len(blob)
        tables = {}
        for ti, (stbl, _t) in enumerate(tracks):
            runs: list[tuple[int, int, int]] = []
            for chunk, n in enumerate(counts[ti], start=1):
                if not runs or runs[-1][1] != n:
                    runs.append((chunk, n, 1))
            stsc = _box(b"stsc", bytes(4) + len(runs).to_bytes(4, "big") + np.array(runs, ">u4").tobytes())
            stco = _box(
                b"co64", bytes(4) + len(offsets[ti]).to_bytes(4, "big") + np.array(offsets[ti], ">u8").tobytes()
            )
            tables[stbl[0]] = (stsc, stco)
        new_moov = _box(b"moov", _rewrite(moov, 8, len(moov), tables))
        return new_moov, b"".join(blob for _, _, blob, _ in layout)

    if faststart:
        probe, media = build(0)
        new_moov, media = build(len(ftyp) + len(probe) + 16)
        return ftyp + new_moov + _mdat_header(len(media)) + media
    _, media = build(0)
    new_moov, media = build(len(ftyp) + 16)
    return ftyp + _mdat_header(len(media)) + media + new_moov


def _mdat_header(payload: int) -> bytes:
    """A 64-bit size header (16 bytes), whatever the size: the layout's offsets are computed once."""
    return (1).to_bytes(4, "big") + b"mdat" + (16 + payload).to_bytes(8, "big")
