"""WAV files the ``wave`` module will not write: any channel count, any rate, a WAVE_FORMAT_EXTENSIBLE
channel mask, and RIFF/data sizes that claim an endless length (0xFFFFFFFF, as a stream writer
leaves them)."""

from __future__ import annotations

import struct

import numpy as np

ENDLESS = 0xFFFFFFFF
_PCM_GUID = bytes.fromhex("0100000000001000800000aa00389b71")


def wav_header(channels: int, rate: int, bits: int, *, data_size: int, mask: int | None = None) -> bytes:
    """The header before ``data_size`` bytes of samples (``ENDLESS``: a length that never ends)."""
    block_align = channels * bits // 8
    fmt = struct.pack("<HHIIHH", 1 if mask is None else 0xFFFE, channels, rate, rate * block_align, block_align, bits)
    if mask is not None:
        fmt += struct.pack("<HHI", 22, bits, mask) + _PCM_GUID
    riff_size = ENDLESS if data_size == ENDLESS else 4 + 8 + len(fmt) + 8 + data_size
    return (
        b"RIFF" + struct.pack("<I", riff_size) + b"WAVE"
        + b"fmt " + struct.pack("<I", len(fmt)) + fmt
        + b"data" + struct.pack("<I", data_size)
    )


def wav_bytes(samples: np.ndarray, rate: int, *, mask: int | None = None, endless_header: bool = False) -> bytes:
    """A PCM WAV of ``samples``: shape (frames, channels), uint8 or int16."""
    frames = np.ascontiguousarray(samples if samples.ndim == 2 else samples[:, None])
    bits = 8 if frames.dtype == np.uint8 else 16
    data = frames.astype("<i2" if bits == 16 else np.uint8).tobytes()
    size = ENDLESS if endless_header else len(data)
    return wav_header(frames.shape[1], rate, bits, data_size=size, mask=mask) + data


def on_one_channel(mono: np.ndarray, channels: int, index: int) -> np.ndarray:
    """Float samples in [-1, 1] as int16 frames with ``channels`` channels, silent but for ``index``."""
    frames = np.zeros((len(mono), channels), dtype=np.int16)
    frames[:, index] = np.clip(mono * 32767, -32768, 32767).astype(np.int16)
    return frames
