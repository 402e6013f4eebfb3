"""Decoded audio frames of any rate, sample format and channel layout to 16 kHz mono float32 blocks.

FFmpeg's resampler (libswresample, through PyAV's ``AudioResampler``) does the work, except where it
cannot or would do it wrong:

* **Channels whose places are unknown.** A WAV that gives only a channel count (or a
  WAVE_FORMAT_EXTENSIBLE mask of 0) has an *unspecified* layout. The resampler then assumes the
  default layout for that count and mixes it down as such: a 3-channel file is taken for 2.1 and its
  third channel is dropped as the LFE (a voice recorded there becomes silence), 16 channels lose
  four as "top" channels, and counts without a default layout (9, 64, ...) fail with EINVAL. It
  takes at most 64 channels in any layout (SWR_CH_MAX); FFmpeg decodes up to 512. Such audio is
  mixed down here with every channel at equal power, 1/sqrt(n): the rule FFmpeg applies to stereo
  (each side at 1/sqrt(2)), for n channels of which nothing else is known. A plain mean would put a
  voice that is on one channel of 64 at -36 dB, where voice activity detection stops hearing it.
* **Very low sample rates.** The resampler turns one input frame into one output frame, and
  allocates twice that: a Matroska block of 4 h at 1 Hz (a 29 KB file) would be 230 million
  samples at once. A frame that would make more than :data:`MAX_OUT_SAMPLES` goes in slices.
* **A layout, rate or format that changes mid-stream** (an ADTS or MPEG-TS stream that switches
  from stereo to 5.1): the resampler is flushed and a new one takes the new parameters.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import av
import numpy as np
from av.audio.plane import AudioPlane

from ...errors import TruncatedMedia
from ...models import SAMPLE_RATE

#: The most samples one resampler call may produce (4 s: 256 KB of float32).
MAX_OUT_SAMPLES = 4 * SAMPLE_RATE
#: libswresample's limit on channels (SWR_CH_MAX).
RESAMPLER_MAX_CHANNELS = 64

# Integer sample formats: (offset, scale) to floats in [-1, 1); float formats need neither.
_INTEGER_SCALE = {"u8": (128.0, 128.0), "s16": (0.0, 32768.0), "s32": (0.0, 2147483648.0)}
_DTYPES: dict[str, np.dtype[Any]] = {
    name: np.dtype(t) for name, t in [("u8", "u1"), ("s16", "i2"), ("s32", "i4"), ("flt", "f4"), ("dbl", "f8")]
}


class MonoConverter:
    """Feed it decoded frames in order (then ``None`` to flush); it yields 16 kHz mono float32 arrays."""

    def __init__(self) -> None:
        self._resampler: Any = None
        self._key: tuple[str, str, int] | None = None

    def convert(self, frame: Any | None) -> Iterator[np.ndarray]:
        """The samples ``frame`` makes (None: what the resampler still holds at the end)."""
        if frame is None:
            yield from self._flush()
            return
        if needs_mixdown(frame.layout):
            frame = equal_power_mono(frame)
        key = (frame.format.name, frame.layout.name, frame.sample_rate)
        if key != self._key:  # the first frame, or the stream changed its parameters
            yield from self._flush()
            self._resampler = av.AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE)
            self._key = key
        for piece in _slices(frame):
            for out in self._resampler.resample(piece):
                yield out.to_ndarray().reshape(-1)

    def _flush(self) -> Iterator[np.ndarray]:
        if self._resampler is not None:
            for out in self._resampler.resample(None):
                yield out.to_ndarray().reshape(-1)
        self._resampler, self._key = None, None


def needs_mixdown(layout: Any) -> bool:
    """Whether the channels must be mixed here rather than by the resampler (module doc)."""
    channels = layout.nb_channels
    if channels > RESAMPLER_MAX_CHANNELS:
        return True
    # FFmpeg names a layout of unspecified order "<n> channels" and every other layout otherwise.
    return channels > 1 and bool(layout.name == f"{channels} channels")


def equal_power_mono(frame: Any) -> Any:
    """One mono float frame at the frame's rate: the sum of its channels, each at 1/sqrt(n)."""
    channels = frame.layout.nb_channels
    mixed = channel_samples(frame).sum(axis=0, dtype=np.float64) / math.sqrt(channels)
    mono = av.AudioFrame.from_ndarray(mixed.astype(np.float32).reshape(1, -1), format="flt", layout="mono")
    mono.sample_rate = frame.sample_rate
    return mono


def channel_samples(frame: Any) -> np.ndarray:
    """The frame's samples as floats, one row per channel."""
    fmt = frame.format
    base = fmt.name.rstrip("p") if fmt.is_planar else fmt.name
    dtype = _DTYPES.get(base)
    if dtype is None:
        raise TruncatedMedia(
            f"the audio has {frame.layout.nb_channels} channels in sample format {fmt.name}, which cannot be mixed "
            "down to mono"
        )
    channels, count = frame.layout.nb_channels, frame.samples

    def plane(index: int, values: int) -> np.ndarray:
        return np.frombuffer(memoryview(AudioPlane(frame, index)), dtype=dtype, count=values)

    if fmt.is_planar:
        # One plane per channel. PyAV's frame.planes looks for a terminator the plane pointers of a
        # frame with more than 8 channels do not have: address each channel's plane directly.
        rows = np.stack([plane(i, count) for i in range(channels)])
    else:
        rows = plane(0, count * channels).reshape(count, channels).T
    offset, scale = _INTEGER_SCALE.get(base, (0.0, 1.0))
    return (rows.astype(np.float32) - np.float32(offset)) / np.float32(scale)


def _slices(frame: Any) -> Iterator[Any]:
    """The frame itself, or consecutive parts of it that each make at most MAX_OUT_SAMPLES."""
    rate = frame.sample_rate
    if frame.samples * SAMPLE_RATE <= MAX_OUT_SAMPLES * rate:
        yield frame
        return
    step = max(1, MAX_OUT_SAMPLES * rate // SAMPLE_RATE)
    fifo = av.AudioFifo()
    frame.pts = None  # the fifo would check the timestamps' continuity; only the samples' order matters here
    fifo.write(frame)
    while (piece := fifo.read(step, partial=True)) is not None:
        yield piece
