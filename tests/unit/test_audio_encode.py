"""In-memory re-encoding and chunk planning for uploads (real PyAV encoders, no files)."""

from __future__ import annotations

import io
from itertools import pairwise

import av
import numpy as np
import pytest

from tests.support.audio import decoded_duration
from vidscribe.adapters.backends.audio_encode import (
    FORMATS,
    encode_audio,
    encode_within_limit,
    max_chunk_samples,
    plan_chunks,
    resolve_format,
)
from vidscribe.models import SAMPLE_RATE

SR = SAMPLE_RATE


def speech_like(seconds: float, seed: int = 0) -> np.ndarray:
    """A voiced buzz with a syllable-rate envelope, formant-ish harmonics and a little breath noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SR)) / SR
    pitch = 120 + 20 * np.sin(2 * np.pi * 0.7 * t)
    phase = 2 * np.pi * np.cumsum(pitch) / SR
    voiced = sum(np.sin(k * phase) / k for k in range(1, 12))
    envelope = np.clip(np.sin(2 * np.pi * 4 * t), 0, None) ** 0.5
    return (0.15 * voiced * envelope + 0.01 * rng.standard_normal(t.size)).astype(np.float32)


def noise(seconds: float, seed: int = 1, level: float = 0.2) -> np.ndarray:
    return (level * np.random.default_rng(seed).standard_normal(int(seconds * SR))).astype(np.float32)


@pytest.mark.parametrize("fmt", ["ogg", "mp3", "flac", "wav"])
def test_encoded_audio_decodes_back_to_the_same_duration(fmt):
    # Given 7.0077 s of audio (not a whole number of codec frames)
    samples = speech_like(7.0077)
    # When it is encoded in memory
    data = encode_audio(samples, fmt=fmt)
    # Then FFmpeg reads it back as that format, with the same duration within 50 ms
    with av.open(io.BytesIO(data)) as container:
        assert container.streams.audio[0].codec_context.name in {
            "ogg": {"opus", "libopus"}, "mp3": {"mp3", "mp3float"}, "flac": {"flac"}, "wav": {"pcm_s16le"},
        }[fmt]
    assert decoded_duration(data) == pytest.approx(samples.size / SR, abs=0.05)


def test_default_is_opus_in_ogg_at_16_khz_mono():
    data = encode_audio(speech_like(2.0))
    assert data[:4] == b"OggS" and b"OpusHead" in data[:200]
    with av.open(io.BytesIO(data)) as container:
        stream = container.streams.audio[0]
        assert stream.codec_context.channels == 1
    assert resolve_format("ogg").codec == "libopus" and "libopus" in av.codecs_available


def test_bytes_per_minute_of_speech_like_audio():
    minute = speech_like(60.0)
    ogg, mp3 = len(encode_audio(minute, fmt="ogg")), len(encode_audio(minute, fmt="mp3"))
    # Opus 24 kbps: ~150-165 KiB a minute of speech; MP3 32 kbps: ~235 KiB; raw float32: 3,750 KiB.
    assert 100 * 1024 <= ogg <= 200 * 1024, ogg
    assert 200 * 1024 <= mp3 <= 260 * 1024, mp3
    # 25 MiB of Opus holds well over two hours of speech.
    assert 25 * 1024 * 1024 / ogg > 120


def test_unknown_format_and_bad_input_are_refused():
    with pytest.raises(ValueError, match="unknown upload format"):
        encode_audio(speech_like(1.0), fmt="aiff")
    with pytest.raises(ValueError, match="no samples"):
        encode_audio(np.zeros(0, np.float32))
    with pytest.raises(ValueError, match="mono"):
        encode_audio(np.zeros((2, 100), np.float32))


def test_plan_chunks_cuts_at_a_planted_silence():
    # Given 25 s of noise with a 300 ms silence at 9.3 s, and 10-second chunks
    samples = noise(25.0)
    samples[int(9.3 * SR) : int(9.6 * SR)] = 0.0
    # When the chunks are planned
    spans = plan_chunks(samples, max_chunk_seconds=10)
    # Then the first cut falls inside the silence, not at the 10-second bound
    first_cut = spans[0][1]
    assert int(9.3 * SR) < first_cut < int(9.6 * SR)
    assert spans == plan_chunks(samples, max_chunk_seconds=10), "deterministic"


def test_between_equally_quiet_pauses_the_later_one_is_chosen():
    # Given two digital silences inside the last 10% of a 10-second chunk
    samples = noise(25.0)
    samples[int(9.05 * SR) : int(9.25 * SR)] = 0.0
    samples[int(9.6 * SR) : int(9.9 * SR)] = 0.0
    # Then the cut falls in the middle of the later one (chunks stay as long as allowed)
    cut = plan_chunks(samples, max_chunk_seconds=10)[0][1]
    assert abs(cut - int(9.75 * SR)) <= SR // 100


def test_plan_chunks_respects_the_bounds_and_covers_everything():
    samples = np.concatenate([speech_like(95.0, seed=2), noise(40.5, seed=3)])
    for max_seconds in (10, 17, 60):
        spans = plan_chunks(samples, max_chunk_seconds=max_seconds)
        assert spans[0][0] == 0 and spans[-1][1] == samples.size
        assert all(a[1] == b[0] for a, b in pairwise(spans)), "contiguous"
        assert all(0 < end - start <= max_seconds * SR for start, end in spans)
        # every cut but the last is in the final 10% of the allowed length
        assert all(end - start >= 0.9 * max_seconds * SR - 1 for start, end in spans[:-1])
        assert len(spans) == pytest.approx(samples.size / (max_seconds * SR), abs=1.5)


def test_plan_chunks_respects_the_byte_bound():
    samples = noise(120.0)
    # 60 KiB at the Opus planning estimate allows ~10 s, far below the 100 s duration bound
    limit = max_chunk_samples(max_chunk_seconds=100, max_bytes=60 * 1024, fmt="ogg")
    assert limit == int(60 * 1024 / FORMATS["ogg"].est_bytes_per_second * SR)
    spans = plan_chunks(samples, max_chunk_seconds=100, max_bytes=60 * 1024)
    assert all(end - start <= limit for start, end in spans)
    for start, end in spans:
        assert len(encode_audio(samples[start:end])) <= 60 * 1024


def test_plan_chunks_edge_cases():
    assert plan_chunks(np.zeros(0, np.float32), max_chunk_seconds=10) == []
    assert plan_chunks(noise(3.0), max_chunk_seconds=10) == [(0, 3 * SR)]
    # just over the bound: the last piece is not a sliver
    spans = plan_chunks(noise(10.2), max_chunk_seconds=10)
    assert len(spans) == 2 and spans[1][1] - spans[1][0] >= 0.9 * SR
    with pytest.raises(ValueError):
        plan_chunks(noise(3.0), max_chunk_seconds=0)


def test_encode_within_limit_splits_what_turns_out_too_large():
    # Given 30 s of a pure tone, which Opus VBR encodes at ~5 KB/s, and a 40 KB limit
    t = np.arange(30 * SR) / SR
    tone = (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    pieces = encode_within_limit(tone, 0, tone.size, max_bytes=40_000)
    # Then it is split into pieces that each fit, covering the span contiguously
    assert len(pieces) >= 4
    assert pieces[0][0] == 0 and pieces[-1][1] == tone.size
    assert all(a[1] == b[0] for a, b in pairwise(pieces))
    assert all(len(data) <= 40_000 for _, _, data in pieces)
    assert sum(decoded_duration(data) for _, _, data in pieces) == pytest.approx(30.0, abs=0.05 * len(pieces))
