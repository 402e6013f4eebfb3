"""Synthesize media for tests and benchmarks with PyAV, in memory or (for big files) on disk.

* :func:`tone` / :func:`load_sample_audio`: 16 kHz mono float32 audio to put into a file.
* :func:`make_video`: a short file as ``bytes`` (MP4 with the index at the front or at the end,
  WebM, MKV, MP3, ...), with or without an audio or a video track.
* :func:`write_noise_video`: a file of a chosen size (up to gigabytes) written straight to disk:
  a handful of noise frames are encoded once (intra-only MPEG-4 part 2) and their packets muxed over
  and over, so generating ~500 MB takes seconds and holds only a few frames in memory.

Tests and benchmarks may use temporary files; the product never does.
"""

from __future__ import annotations

import io
import json
import os
from fractions import Fraction
from typing import BinaryIO, cast

import av
import numpy as np

from vidscribe.adapters.media.containers.formats import mp4_index_at_end

RATE = 16_000

# container -> (PyAV format name, default video codec, default audio codec)
CONTAINERS: dict[str, tuple[str, str | None, str]] = {
    "mp4": ("mp4", "mpeg4", "aac"),
    "mov": ("mov", "mpeg4", "aac"),
    "mkv": ("matroska", "mpeg4", "libmp3lame"),
    "ts": ("mpegts", "mpeg4", "aac"),
    "webm": ("webm", "libvpx", "libopus"),
    "m4a": ("ipod", None, "aac"),
    "mp3": ("mp3", None, "libmp3lame"),
    "ogg": ("ogg", None, "libopus"),
    "flac": ("flac", None, "flac"),
    "wav": ("wav", None, "pcm_s16le"),
}


def tone(seconds: float, freq: float = 440.0, *, rate: int = RATE, amplitude: float = 0.3) -> np.ndarray:
    """A sine tone as mono float32 samples."""
    t = np.arange(int(round(seconds * rate)), dtype=np.float64) / rate
    return (amplitude * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def load_sample_audio(sample_id: str | None = None) -> np.ndarray:
    """The 16 kHz mono samples of a bundled sample (the first one by default): real speech."""
    from vidscribe.adapters.media import open_local_audio
    from vidscribe.local.samples import load_manifest, samples_dir

    entries = load_manifest()
    entry = next(e for e in entries if sample_id in (None, e["id"]))
    return open_local_audio(samples_dir() / entry["file"], max_duration_seconds=3600).samples


def _audio_samples(audio_from: np.ndarray | float, seconds: float) -> np.ndarray:
    if isinstance(audio_from, np.ndarray):
        samples = np.asarray(audio_from, dtype=np.float32).reshape(-1)
        want = int(round(seconds * RATE))
        if len(samples) < want:  # loop the clip to fill the requested duration
            samples = np.tile(samples, want // max(len(samples), 1) + 1)
        return samples[:want]
    return tone(seconds, float(audio_from))


def _frame_image(index: int, width: int, height: int) -> np.ndarray:
    """A cheap, deterministic, slowly changing picture (a moving bar on a coloured field)."""
    img = np.empty((height, width, 3), dtype=np.uint8)
    img[:] = ((index * 7) % 256, 96, (255 - index * 5) % 256)
    x = (index * 3) % width
    img[:, x : x + max(2, width // 8)] = 255
    return img


def _mux(
    out: av.container.OutputContainer,
    seconds: float,
    *,
    audio: np.ndarray | None,
    audio_codec: str,
    audio_bitrate: int,
    video_codec: str | None,
    size: tuple[int, int],
    fps: int,
    video_bitrate: int | None,
    noise_packets: list[bytes] | None = None,
) -> None:
    vstream: av.VideoStream | None = None
    astream: av.AudioStream | None = None
    if video_codec:
        vstream = cast(av.VideoStream, out.add_stream(video_codec, rate=fps))
        vstream.width, vstream.height = size
        vstream.pix_fmt = "yuv420p"
        if video_bitrate:
            vstream.bit_rate = video_bitrate
        vstream.codec_context.options = {"threads": "1"}
        if video_codec in ("libvpx", "libvpx-vp9"):
            vstream.codec_context.options = {"threads": "1", "deadline": "realtime", "cpu-used": "8"}
        if noise_packets is not None:
            vstream.codec_context.gop_size = 1
    if audio is not None:
        astream = cast(av.AudioStream, out.add_stream(audio_codec, rate=RATE, layout="mono"))
        astream.bit_rate = audio_bitrate

    n_video = int(round(seconds * fps)) if vstream is not None else 0
    n_audio = len(audio) if audio is not None else 0
    chunk = 1024
    vi = ai = 0
    while vi < n_video or ai < n_audio:
        video_time = vi / fps if vi < n_video else float("inf")
        audio_time = ai / RATE if ai < n_audio else float("inf")
        if video_time <= audio_time:
            assert vstream is not None  # n_video > 0
            if noise_packets is not None:
                pkt = av.Packet(noise_packets[vi % len(noise_packets)])
                pkt.stream = vstream
                pkt.time_base = Fraction(1, fps)
                pkt.pts = pkt.dts = vi
                pkt.is_keyframe = True
                out.mux(pkt)
            else:
                vframe = av.VideoFrame.from_ndarray(_frame_image(vi, *size), format="rgb24")
                vframe.pts = vi
                vframe.time_base = Fraction(1, fps)
                out.mux(vstream.encode(vframe))
            vi += 1
        else:
            assert audio is not None and astream is not None  # n_audio > 0
            piece = audio[ai : ai + chunk]
            aframe = av.AudioFrame.from_ndarray(piece.reshape(1, -1), format="flt", layout="mono")
            aframe.sample_rate = RATE
            aframe.pts = ai
            aframe.time_base = Fraction(1, RATE)
            out.mux(astream.encode(aframe))
            ai += len(piece)
    if vstream is not None and noise_packets is None:
        out.mux(vstream.encode(None))
    if astream is not None:
        out.mux(astream.encode(None))


def _open_output(target: str | os.PathLike | BinaryIO, container: str, faststart: bool) -> av.container.OutputContainer:
    fmt = CONTAINERS[container][0]
    options = {"fflags": "+bitexact"}
    if faststart and fmt in ("mp4", "mov", "ipod"):
        options["movflags"] = "faststart"
    if isinstance(target, (str, os.PathLike)):
        return av.open(os.fspath(target), mode="w", format=fmt, options=options)
    return av.open(target, mode="w", format=fmt, options=options)


def make_video(
    seconds: float,
    *,
    audio_from: np.ndarray | float = 440.0,
    container: str = "mp4",
    faststart: bool = True,
    with_audio: bool = True,
    with_video: bool = True,
    size: tuple[int, int] = (64, 48),
    fps: int = 5,
    video_bitrate: int | None = None,
    video_codec: str | None = None,
    audio_codec: str | None = None,
    audio_bitrate: int = 32_000,
) -> bytes:
    """A media file as bytes.

    ``audio_from``: 16 kHz float32 samples (looped or cut to ``seconds``) or a tone frequency.
    ``faststart``: for MP4/MOV/M4A, put the index (moov) at the front; otherwise it is at the end.
    Audio-only containers (mp3, m4a, ogg, flac) ignore ``with_video``.
    """
    fmt, default_video, default_audio = CONTAINERS[container]
    vcodec = (video_codec or default_video) if with_video and default_video else None
    audio = _audio_samples(audio_from, seconds) if with_audio else None
    if vcodec is None and audio is None:
        raise ValueError("a file needs at least one stream")
    buf = io.BytesIO()
    # FFmpeg's own faststart re-opens the output by name, which a file object cannot do: write the
    # index at the end and move it to the front here (what qt-faststart does).
    with _open_output(buf, container, faststart=False) as out:
        _mux(
            out,
            seconds,
            audio=audio,
            audio_codec=audio_codec or default_audio,
            audio_bitrate=audio_bitrate,
            video_codec=vcodec,
            size=size,
            fps=fps,
            video_bitrate=video_bitrate,
        )
    data = buf.getvalue()
    if faststart and fmt in ("mp4", "mov", "ipod"):
        data = move_index_to_front(data)
    return data


def _boxes(data: bytes | bytearray | memoryview, start: int, end: int):
    """(offset, size, type, header size) of the ISO-BMFF boxes between ``start`` and ``end``."""
    pos = start
    while pos + 8 <= end:
        size = int.from_bytes(data[pos : pos + 4], "big")
        kind = bytes(data[pos + 4 : pos + 8])
        header = 8
        if size == 1:
            size, header = int.from_bytes(data[pos + 8 : pos + 16], "big"), 16
        elif size == 0:
            size = end - pos
        if size < header:
            raise ValueError(f"corrupt box {kind!r} at {pos}")
        yield pos, size, kind, header
        pos += size


def move_index_to_front(data: bytes) -> bytes:
    """An MP4 with its ``moov`` box moved before ``mdat`` (chunk offsets patched), like qt-faststart."""
    top = list(_boxes(data, 0, len(data)))
    kinds = [b[2] for b in top]
    if b"moov" not in kinds or b"mdat" not in kinds or kinds.index(b"moov") < kinds.index(b"mdat"):
        return data
    m_off, m_size, _, _ = top[kinds.index(b"moov")]
    moov = bytearray(data[m_off : m_off + m_size])

    def patch(start: int, end: int) -> None:
        for off, size, kind, header in _boxes(moov, start, end):
            if kind in (b"trak", b"mdia", b"minf", b"stbl"):
                patch(off + header, off + size)
            elif kind in (b"stco", b"co64"):
                width = 4 if kind == b"stco" else 8
                count = int.from_bytes(moov[off + header + 4 : off + header + 8], "big")
                base = off + header + 8
                for i in range(count):
                    at = base + i * width
                    value = int.from_bytes(moov[at : at + width], "big") + m_size
                    moov[at : at + width] = value.to_bytes(width, "big")

    patch(8, len(moov))
    first_mdat = top[kinds.index(b"mdat")][0]
    rest = b"".join(data[o : o + s] for o, s, k, _ in top if k != b"moov" and o >= first_mdat)
    return data[:first_mdat] + bytes(moov) + rest


def _noise_packets(size: tuple[int, int], count: int, seed: int) -> list[bytes]:
    """``count`` intra-coded MPEG-4 frames of random noise (noise barely compresses)."""
    rng = np.random.default_rng(seed)
    ctx = av.CodecContext.create("mpeg4", "w")
    ctx.width, ctx.height = size
    ctx.pix_fmt = "yuv420p"
    ctx.time_base = Fraction(1, 25)
    ctx.gop_size = 1
    ctx.options = {"qscale": "2", "threads": "1"}
    ctx.flags |= av.codec.context.Flags.qscale
    packets: list[bytes] = []
    for i in range(count):
        img = rng.integers(0, 256, size=(size[1], size[0], 3), dtype=np.uint8)
        frame = av.VideoFrame.from_ndarray(img, format="rgb24").reformat(format="yuv420p")
        frame.pts = i
        packets.extend(bytes(p) for p in ctx.encode(frame))
    packets.extend(bytes(p) for p in ctx.encode(None))
    return packets


def write_noise_video(
    target: str | os.PathLike | BinaryIO,
    *,
    total_bytes: int,
    seconds: float,
    audio_from: np.ndarray | float = 440.0,
    container: str = "mp4",
    faststart: bool = False,
    fps: int = 25,
    seed: int = 1,
    audio_bitrate: int = 32_000,
    audio_codec: str | None = None,
) -> None:
    """A file of roughly ``total_bytes`` whose video is noise (MPEG-4 part 2, intra only) and whose
    audio is ``audio_from`` for ``seconds``. Writes to a path or a seekable binary file object
    (``faststart`` needs a path: FFmpeg re-opens the output by name to move the index)."""
    if faststart and not isinstance(target, (str, os.PathLike)):
        raise ValueError("faststart needs a path; use make_noise_video(faststart=True) in memory")
    frames = max(1, int(round(seconds * fps)))
    per_frame = max(total_bytes / frames, 256)
    # Calibrate the picture size once: measure one noise frame, scale the area to the target size.
    width = height = 128
    for _ in range(2):  # two rounds of calibration land within a few percent
        probe = _noise_packets((width, height), 1, seed)[0]
        area = width * height * per_frame / len(probe)
        width = max(16, int(np.sqrt(area * 4 / 3)) // 16 * 16)
        height = max(16, int(area / width) // 16 * 16)
    packets = _noise_packets((width, height), 6, seed)
    audio = _audio_samples(audio_from, seconds)
    with _open_output(target, container, faststart) as out:
        _mux(
            out,
            seconds,
            audio=audio,
            audio_codec=audio_codec or CONTAINERS[container][2],
            audio_bitrate=audio_bitrate,
            video_codec="mpeg4",
            size=(width, height),
            fps=fps,
            video_bitrate=None,
            noise_packets=packets,
        )


def make_noise_video(total_bytes: int, seconds: float, *, faststart: bool = False, **kwargs) -> bytes:
    """:func:`write_noise_video` into memory (for files of a few megabytes)."""
    buf = io.BytesIO()
    write_noise_video(buf, total_bytes=total_bytes, seconds=seconds, faststart=False, **kwargs)
    data = buf.getvalue()
    return move_index_to_front(data) if faststart else data


def probe_duration(data: bytes | str | os.PathLike) -> float:
    """The audio stream's duration as the container states it (seconds)."""
    src = io.BytesIO(data) if isinstance(data, (bytes, bytearray)) else os.fspath(data)
    with av.open(src, mode="r") as c:
        stream = c.streams.audio[0]
        if stream.duration is not None and stream.time_base is not None:
            return float(stream.duration * stream.time_base)
        assert c.duration is not None, "the container states no duration"
        return c.duration / 1e6


if __name__ == "__main__":  # a quick look at what the factory makes
    for name in ("mp4", "webm", "mkv", "mp3", "m4a"):
        blob = make_video(3, container=name)
        print(name, len(blob), round(probe_duration(blob), 3))
    print(json.dumps({"index_at_end": mp4_index_at_end(make_video(2, faststart=False))}))
