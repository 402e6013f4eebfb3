"""Re-encode decoded audio compactly, in memory, and plan how to split it for upload.

The OpenAI transcription API takes at most 25 MiB per request. Raw 16 kHz float32 is ~3.7 MiB per
minute; Opus in Ogg at 24 kbps is ~150-165 KiB per minute of speech (VBR: up to ~300 KiB per minute
of pure tones or music), so a 20-minute chunk is ~3-6 MB. Everything here works on ``io.BytesIO``: no temporary files.

- :func:`encode_audio` turns float32 16 kHz mono samples into the bytes of an audio file.
- :func:`plan_chunks` decides where to cut long audio: never longer than the bound (seconds and an
  estimate of the encoded bytes), preferably at a quiet moment near the end of each chunk, so words
  are not cut in half. It is deterministic: the same samples give the same cuts.
- :func:`encode_within_limit` encodes one span and, should the result be over a byte limit after all
  (the plan works from an estimate), splits it at its quietest point near the middle and tries again.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass

import av
import numpy as np

from ...models import SAMPLE_RATE

MiB = 1024 * 1024
#: OpenAI's hard limit per uploaded file.
OPENAI_MAX_UPLOAD_BYTES = 25 * MiB
#: What we aim for: a safety margin under the hard limit (multipart overhead, estimate error).
DEFAULT_MAX_UPLOAD_BYTES = 24 * MiB

#: Samples handed to the encoder per frame: bounded memory for the float copy, few Python calls.
_ENCODE_BLOCK = SAMPLE_RATE * 10


@dataclass(frozen=True)
class UploadFormat:
    """How one upload format is produced and announced."""

    name: str  # the container, as PyAV/FFmpeg names it; also the file extension
    codec: str  # the FFmpeg encoder
    content_type: str
    bit_rate: int | None  # bits per second for lossy codecs; None for lossless
    #: A conservative upper estimate of encoded bytes per second of 16 kHz mono audio, used to
    #: plan chunks before encoding (Opus is VBR: allow for peaks and the Ogg pages).
    est_bytes_per_second: float
    options: tuple[tuple[str, str], ...] = ()  # encoder options

    @property
    def filename(self) -> str:
        return f"audio.{self.name}"


FORMATS: dict[str, UploadFormat] = {
    # Opus accepts 48/24/16/12/8 kHz only; 16 kHz mono at 24 kbps kept Whisper's WER unchanged.
    # Opus VBR spends ~2.6 KB/s on speech but up to ~5.1 KB/s on pure tones and chords (measured),
    # so plan with twice the nominal rate; encode_within_limit() catches anything worse.
    # compression_level 0 (of 10): 7x faster (4 h of speech: ~115 s -> ~16 s on one core here) for
    # ~20% more bytes, and tiny.en's WER on the real and sample recordings unchanged (0.055 both).
    "ogg": UploadFormat("ogg", "libopus", "audio/ogg", 24_000, 24_000 / 8 * 2.0, (("compression_level", "0"),)),
    # libmp3lame at 16 kHz is MPEG-2 layer III; 32 kbps CBR (~235 KiB per minute).
    "mp3": UploadFormat("mp3", "libmp3lame", "audio/mpeg", 32_000, 32_000 / 8 * 1.10),
    # Lossless fallbacks; FLAC of noise is about as large as PCM.
    "flac": UploadFormat("flac", "flac", "audio/flac", None, SAMPLE_RATE * 2 * 1.05),
    "wav": UploadFormat("wav", "pcm_s16le", "audio/wav", None, SAMPLE_RATE * 2 + 64),
}


def codec_available(codec: str) -> bool:
    return codec in av.codecs_available


def resolve_format(fmt: str = "ogg") -> UploadFormat:
    """The requested format if its encoder is in this FFmpeg build, else MP3 (then WAV, always there)."""
    try:
        wanted = FORMATS[fmt]
    except KeyError:
        raise ValueError(f"unknown upload format {fmt!r}; expected one of {sorted(FORMATS)}") from None
    for candidate in (wanted, FORMATS["mp3"], FORMATS["wav"]):
        if codec_available(candidate.codec):
            return candidate
    raise RuntimeError("this FFmpeg build has neither the requested encoder nor MP3 nor PCM")  # pragma: no cover


def _as_float32(samples: np.ndarray) -> np.ndarray:
    samples = np.asarray(samples)
    if samples.ndim != 1:
        raise ValueError(f"expected mono samples (1-D), got shape {samples.shape}")
    if samples.dtype != np.float32:
        samples = samples.astype(np.float32)
    return samples


def encode_audio(samples: np.ndarray, *, fmt: str = "ogg", bit_rate: int | None = None) -> bytes:
    """Encode 16 kHz mono float32 ``samples`` into the bytes of an audio file of format ``fmt``.

    ``fmt`` is one of ``ogg`` (Opus, the default), ``mp3``, ``flac``, ``wav``; an encoder missing
    from the FFmpeg build falls back to MP3 (see :func:`resolve_format` to learn which one was
    used). The samples are fed to the encoder in 10-second frames, so the only large allocation is
    the output itself.
    """
    spec = resolve_format(fmt)
    samples = _as_float32(samples)
    if samples.size == 0:
        raise ValueError("no samples to encode")
    buffer = io.BytesIO()
    with av.open(buffer, mode="w", format=spec.name) as container:
        stream = container.add_stream(spec.codec, rate=SAMPLE_RATE, layout="mono")
        assert isinstance(stream, av.AudioStream)  # an audio codec gives an audio stream
        rate = bit_rate if bit_rate is not None else spec.bit_rate
        if rate:
            stream.bit_rate = rate
        if spec.options:
            stream.codec_context.options = dict(spec.options)
        pts = 0
        for offset in range(0, samples.size, _ENCODE_BLOCK):
            block = np.ascontiguousarray(samples[offset : offset + _ENCODE_BLOCK]).reshape(1, -1)
            frame = av.AudioFrame.from_ndarray(block, format="flt", layout="mono")
            frame.sample_rate = SAMPLE_RATE
            frame.pts = pts
            pts += block.shape[1]
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return buffer.getvalue()


# --- chunk planning ------------------------------------------------------------------------------
#: Energy is measured over 100 ms windows moved in 10 ms steps when looking for a quiet cut.
_QUIET_WINDOW = SAMPLE_RATE // 10
_QUIET_HOP = SAMPLE_RATE // 100


def _quietest_point(samples: np.ndarray, lo: int, hi: int) -> int:
    """The centre of the lowest-energy 100 ms window inside ``samples[lo:hi]`` (ties: the middle of
    the latest run of equally quiet windows).

    Energies are summed per 10 ms block, then over 10 consecutive blocks: local sums, so a digital
    silence after loud audio really is 0 (a running cumulative sum would leave rounding noise)."""
    blocks = (hi - lo) // _QUIET_HOP
    per_window = _QUIET_WINDOW // _QUIET_HOP
    if blocks < per_window:
        return (lo + hi) // 2
    region = np.asarray(samples[lo : lo + blocks * _QUIET_HOP], dtype=np.float64)
    block_energy = np.square(region).reshape(blocks, _QUIET_HOP).sum(axis=1)
    window_energy = np.lib.stride_tricks.sliding_window_view(block_energy, per_window).sum(axis=1)
    quietest = np.flatnonzero(window_energy == window_energy.min())
    # Equal minima (digital silence): take the last such run, so chunks stay as long as allowed,
    # and cut in its middle rather than at its edge.
    run_end = int(quietest[-1])
    run_start = run_end
    while run_start > 0 and window_energy[run_start - 1] == window_energy[run_end]:
        run_start -= 1
    best = (run_start + run_end) // 2
    return lo + best * _QUIET_HOP + _QUIET_WINDOW // 2


def max_chunk_samples(
    *, max_chunk_seconds: float, max_bytes: int = DEFAULT_MAX_UPLOAD_BYTES, fmt: str = "ogg",
    bytes_per_second: float | None = None,
) -> int:
    """The longest chunk, in samples, that respects both the duration and the (estimated) byte bound."""
    if max_chunk_seconds <= 0:
        raise ValueError("max_chunk_seconds must be positive")
    per_second = bytes_per_second if bytes_per_second is not None else resolve_format(fmt).est_bytes_per_second
    by_bytes = math.floor(max_bytes / per_second * SAMPLE_RATE)
    by_time = math.floor(max_chunk_seconds * SAMPLE_RATE)
    limit = min(by_time, by_bytes)
    if limit < SAMPLE_RATE:
        raise ValueError(f"chunk bound of {limit} samples is under one second; raise max_bytes or max_chunk_seconds")
    return limit


def plan_chunks(
    samples: np.ndarray,
    *,
    max_chunk_seconds: float,
    max_bytes: int = DEFAULT_MAX_UPLOAD_BYTES,
    fmt: str = "ogg",
    bytes_per_second: float | None = None,
    search_fraction: float = 0.10,
    min_tail_seconds: float = 1.0,
) -> list[tuple[int, int]]:
    """Split ``samples`` into consecutive ``(start, end)`` sample spans covering all of them.

    Every span is at most ``max_chunk_seconds`` long and its encoded size, estimated from the
    format's bitrate (or ``bytes_per_second``), stays under ``max_bytes``. Each cut is placed at the
    quietest 100 ms window within the last ``search_fraction`` of the allowed length, so that words
    are rarely split; a cut never leaves a final piece shorter than ``min_tail_seconds`` when that
    can be avoided. Deterministic. Empty input gives an empty plan.
    """
    samples = np.asarray(samples)
    total = int(samples.shape[0])
    if total == 0:
        return []
    limit = max_chunk_samples(
        max_chunk_seconds=max_chunk_seconds, max_bytes=max_bytes, fmt=fmt, bytes_per_second=bytes_per_second
    )
    search = max(_QUIET_WINDOW, int(limit * search_fraction))
    min_tail = min(int(min_tail_seconds * SAMPLE_RATE), limit // 4)
    spans: list[tuple[int, int]] = []
    start = 0
    while total - start > limit:
        hi = min(start + limit, total - min_tail)
        lo = max(start + 1, hi - search)
        cut = _quietest_point(samples, lo, hi)
        cut = min(max(cut, start + 1), start + limit)
        spans.append((start, cut))
        start = cut
    spans.append((start, total))
    return spans


def encode_within_limit(
    samples: np.ndarray, start: int, end: int, *, fmt: str = "ogg", max_bytes: int = DEFAULT_MAX_UPLOAD_BYTES
) -> list[tuple[int, int, bytes]]:
    """Encode ``samples[start:end]``; if the file exceeds ``max_bytes``, split at the quietest point
    in the middle third and encode the halves (recursively). Returns ``(start, end, data)`` pieces in
    order. This is the backstop behind :func:`plan_chunks`' estimate; it rarely has to split."""
    data = encode_audio(samples[start:end], fmt=fmt)
    if len(data) <= max_bytes:
        return [(start, end, data)]
    length = end - start
    if length < 2 * SAMPLE_RATE:
        raise ValueError(f"{length} samples encode to {len(data)} bytes, over the {max_bytes}-byte limit")
    cut = _quietest_point(samples, start + length // 3, end - length // 3)
    return encode_within_limit(samples, start, cut, fmt=fmt, max_bytes=max_bytes) + encode_within_limit(
        samples, cut, end, fmt=fmt, max_bytes=max_bytes
    )
