"""HLS sets for tests and benchmarks: playlists and segments as ``{name: bytes}``, ready to serve.

* :func:`ts_segments`: an MPEG-TS stream cut into segments, each starting at a PAT packet (as a
  segmenter cuts them); played back to back they are the original stream.
* :func:`fmp4_segments`: a fragmented MP4 as an ``EXT-X-MAP`` init section and ``moof``+``mdat`` segments.
* :func:`media_playlist` / :func:`master_playlist`: the text of the playlists.
* :func:`hls_set`: a master playlist with a separate audio rendition (audio-only TS segments) and a
  video variant (TS segments of a noise video with its audio), the layout most platforms serve.
"""

from __future__ import annotations

import io
import os

import av
import numpy as np

from tests.support.media_factory import _audio_samples, _boxes, _mux, make_video, write_noise_video

TS_PACKET = 188


def ts_segments(data: bytes, count: int) -> list[bytes]:
    """``data`` (MPEG-TS) in ``count`` pieces of about equal size, each cut before a PAT packet."""
    pats = [
        i for i in range(0, len(data) - 3, TS_PACKET)
        if data[i] == 0x47 and ((data[i + 1] & 0x1F) << 8 | data[i + 2]) == 0 and data[i + 1] & 0x40
    ]
    cuts = sorted({_nearest(pats, t) for t in np.linspace(0, len(data), count + 1)[1:-1]})
    edges = [0, *[c for c in cuts if c > 0], len(data)]
    return [data[a:b] for a, b in zip(edges, edges[1:], strict=False) if b > a]


def _nearest(points: list[int], target: float) -> int:
    return min(points, key=lambda p: abs(p - target))


def fmp4_segments(seconds: float, audio: np.ndarray, fragment_seconds: float = 2.0) -> tuple[bytes, list[bytes]]:
    """(init section, segments) of an audio-only fragmented MP4."""
    buf = io.BytesIO()
    options = {
        "movflags": "frag_keyframe+empty_moov+default_base_moof",
        "frag_duration": str(int(fragment_seconds * 1e6)),
    }
    with av.open(buf, mode="w", format="mp4", options=options) as out:
        _mux(out, seconds, audio=_audio_samples(audio, seconds), audio_codec="aac", audio_bitrate=32_000,
             video_codec=None, size=(16, 16), fps=1, video_bitrate=None)
    data = buf.getvalue()
    top = list(_boxes(data, 0, len(data)))
    first_moof = next(o for o, _s, k, _h in top if k == b"moof")
    segments, current = [], b""
    for off, size, kind, _h in top:
        if off < first_moof:
            continue
        if kind == b"moof" and current:
            segments.append(current)
            current = b""
        current += data[off : off + size]
    if current:
        segments.append(current)
    return data[:first_moof], segments


def media_playlist(
    names: list[str],
    durations: list[float],
    *,
    init: str | None = None,
    endlist: bool = True,
    key: str | None = None,
) -> str:
    lines = ["#EXTM3U", "#EXT-X-VERSION:7", f"#EXT-X-TARGETDURATION:{int(max(durations, default=1)) + 1}",
             "#EXT-X-PLAYLIST-TYPE:VOD" if endlist else "#EXT-X-MEDIA-SEQUENCE:0"]
    if key:
        lines.append(f'#EXT-X-KEY:METHOD={key},URI="key.bin"')
    if init:
        lines.append(f'#EXT-X-MAP:URI="{init}"')
    for name, seconds in zip(names, durations, strict=True):
        lines += [f"#EXTINF:{seconds:.3f},", name]
    if endlist:
        lines.append("#EXT-X-ENDLIST")
    return "\n".join(lines) + "\n"


def master_playlist(audio_uri: str | None, variants: list[tuple[str, int, str]]) -> str:
    """``variants``: (uri, bandwidth, codecs)."""
    lines = ["#EXTM3U", "#EXT-X-VERSION:7"]
    if audio_uri:
        lines.append(f'#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aud",NAME="English",DEFAULT=YES,AUTOSELECT=YES,URI="{audio_uri}"')
    for uri, bandwidth, codecs in variants:
        group = ',AUDIO="aud"' if audio_uri else ""
        lines += [f'#EXT-X-STREAM-INF:BANDWIDTH={bandwidth},CODECS="{codecs}"{group}', uri]
    return "\n".join(lines) + "\n"


def hls_set(
    audio: np.ndarray, seconds: float, *, segment_seconds: float = 6.0, video_bytes: int = 2_000_000,
    workdir: str | os.PathLike | None = None,
) -> dict[str, bytes]:
    """master.m3u8 -> audio.m3u8 (audio-only TS segments) and video.m3u8 (video and audio TS segments)."""
    count = max(1, int(round(seconds / segment_seconds)))
    audio_ts = make_video(seconds, audio_from=audio, container="ts", with_video=False)
    video_buf = io.BytesIO()
    write_noise_video(video_buf, total_bytes=video_bytes, seconds=seconds, audio_from=audio, container="ts")
    files: dict[str, bytes] = {}
    for prefix, stream in (("a", audio_ts), ("v", video_buf.getvalue())):
        segments = ts_segments(stream, count)
        names = [f"{prefix}{i:05d}.ts" for i in range(len(segments))]
        files.update(zip(names, segments, strict=True))
        share = [seconds * len(s) / len(stream) for s in segments]
        files["audio.m3u8" if prefix == "a" else "video.m3u8"] = media_playlist(names, share).encode()
    files["master.m3u8"] = master_playlist(
        "audio.m3u8", [("video.m3u8", int(8 * video_bytes / seconds), "mp4v.20.9,mp4a.40.2")]
    ).encode()
    return files


class GiantInit:
    """An fMP4 init section of any size that exists only as a size: the real ``ftyp``, then a ``free`` box
    of ``filler`` zero bytes (made on demand, as the server sends them), then the real ``moov``. A player
    skips the ``free`` box, so the stream is valid however big it is."""

    content_type = "video/mp4"

    def __init__(self, init: bytes, filler: int) -> None:
        boxes = list(_boxes(init, 0, len(init)))
        ftyp = b"".join(init[o : o + s] for o, s, k, _h in boxes if k == b"ftyp")
        self._head = ftyp + (8 + filler).to_bytes(4, "big") + b"free"
        self._tail = b"".join(init[o : o + s] for o, s, k, _h in boxes if k != b"ftyp")
        self.size = len(self._head) + filler + len(self._tail)

    def read_at(self, offset: int, n: int) -> bytes:
        out = bytearray(max(0, min(n, self.size - offset)))
        for start, blob in ((0, self._head), (self.size - len(self._tail), self._tail)):
            lo, hi = max(offset, start), min(offset + len(out), start + len(blob))
            if lo < hi:
                out[lo - offset : hi - offset] = blob[lo - start : hi - start]
        return bytes(out)


class PaddedSegment:
    """An MPEG-TS segment of any size that exists only as a size: a real segment, then null packets
    (PID 0x1FFF, which every demuxer skips) made on demand up to ``size`` bytes."""

    content_type = "video/mp2t"
    _NULL = b"\x47\x1f\xff\x10" + b"\xff" * (TS_PACKET - 4)

    def __init__(self, segment: bytes, size: int) -> None:
        self._segment = segment
        self.size = len(segment) + (max(0, size - len(segment)) // TS_PACKET) * TS_PACKET

    def read_at(self, offset: int, n: int) -> bytes:
        n = max(0, min(n, self.size - offset))
        head = self._segment[offset : offset + n]
        if len(head) == n:
            return head
        start = max(offset, len(self._segment)) - len(self._segment)
        skip = start % TS_PACKET
        count = -(-(n - len(head) + skip) // TS_PACKET)
        return head + (self._NULL * count)[skip : skip + n - len(head)]
