"""Audio of any channel layout and rate decodes to 16 kHz mono, with every channel heard.

FFmpeg's resampler guesses a layout for channels of unspecified order, and then drops the ones it
takes for LFE or height channels, or fails (9, 64 channels; it takes at most 64). The decoder mixes
such audio itself at equal power (``adapters/media/mono.py``). The files are generated here, tones
at known levels on one channel, real speech for the 64-channel WAV, and decoded by the real PyAV.
"""

from __future__ import annotations

import io
import json
import math
from pathlib import Path

import av
import numpy as np
import pytest

from tests.support.odd_wav import on_one_channel, wav_bytes
from tests.support.realspeech import BIRCH
from tests.support.text import word_error_rate
from vidscribe.adapters.media import decode_audio
from vidscribe.adapters.media.mono import MAX_OUT_SAMPLES
from vidscribe.cli import main
from vidscribe.errors import TruncatedMedia
from vidscribe.models import SAMPLE_RATE

TONE = 0.5 * np.sin(2 * np.pi * 440 * np.arange(2 * SAMPLE_RATE) / SAMPLE_RATE)
TONE_RMS = 0.5 / math.sqrt(2)


def rms(samples: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(samples, dtype=np.float64))))


def decode(data: bytes, max_duration_seconds: float = 60) -> np.ndarray:
    return decode_audio(io.BytesIO(data), max_duration_seconds=max_duration_seconds).samples


@pytest.mark.parametrize(
    ("channels", "index", "mask"),
    [(3, 2, None), (9, 8, None), (64, 37, None), (255, 254, None), (3, 2, 0)],
    ids=["3ch-third", "9ch", "64ch", "255ch", "extensible-mask-0"],
)
def test_channels_of_unknown_places_are_mixed_at_equal_power(channels: int, index: int, mask: int | None) -> None:
    # Given a tone on one channel of a WAV that names no layout (FFmpeg would drop the third of
    # three channels as LFE, and fail on 9, 64 and 255)
    data = wav_bytes(on_one_channel(TONE, channels, index), SAMPLE_RATE, mask=mask)

    samples = decode(data)

    # Then all of it is there, at 1/sqrt(n) of its level (int16 quantisation: 0.007% off)
    assert len(samples) == len(TONE)
    assert rms(samples) == pytest.approx(TONE_RMS / math.sqrt(channels), rel=1e-3)


def test_64_channels_decoded_as_planes_are_mixed_too() -> None:
    # Given 64-channel Opus (its decoder hands out one plane per channel), a tone on channel 40
    rate, channels = 48_000, 64
    frames = on_one_channel(0.5 * np.sin(2 * np.pi * 440 * np.arange(rate) / rate), channels, 40)
    buffer = io.BytesIO()
    with av.open(buffer, mode="w", format="ogg") as out:
        stream = out.add_stream("libopus", rate=rate, layout=f"{channels} channels")
        stream.codec_context.options = {"mapping_family": "255"}
        frame = av.AudioFrame.from_ndarray(frames.reshape(1, -1), format="s16", layout=f"{channels} channels")
        frame.sample_rate, frame.pts = rate, 0
        for packet in [*stream.encode(frame), *stream.encode(None)]:
            out.mux(packet)

    samples = decode(buffer.getvalue())

    # Then its level is the tone's at 1/8 (Opus is lossy: 0.06% off when measured)
    assert len(samples) == SAMPLE_RATE
    assert rms(samples[SAMPLE_RATE // 8 : -SAMPLE_RATE // 8]) == pytest.approx(TONE_RMS / 8, rel=0.005)


def test_a_named_layout_is_still_mixed_by_ffmpeg() -> None:
    # Given stereo with the tone on the right: FFmpeg's rule, each side at 1/sqrt(2), as before
    samples = decode(wav_bytes(on_one_channel(TONE, 2, 1), SAMPLE_RATE))
    assert rms(samples) == pytest.approx(TONE_RMS / math.sqrt(2), rel=1e-3)


@pytest.mark.parametrize("channels", [0, 513])
def test_channel_counts_ffmpeg_cannot_decode_are_named(channels: int) -> None:
    data = wav_bytes(np.zeros((100, 1), np.int16), SAMPLE_RATE)
    data = data[:22] + channels.to_bytes(2, "little") + data[24:]  # the fmt chunk's channel count
    with pytest.raises(TruncatedMedia, match="no channels FFmpeg can decode: its header says 0, or more than"):
        decode(data)


def _adts(layout: str, seconds: int, frequency: float) -> bytes:
    buffer = io.BytesIO()
    with av.open(buffer, mode="w", format="adts") as out:
        stream = out.add_stream("aac", rate=SAMPLE_RATE, layout=layout)
        channels = stream.codec_context.layout.nb_channels
        tone = 0.3 * np.sin(2 * np.pi * frequency * np.arange(seconds * SAMPLE_RATE) / SAMPLE_RATE)
        planes = np.tile(tone.astype(np.float32), (channels, 1))
        for start in range(0, planes.shape[1], 1024):
            frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(planes[:, start : start + 1024]), "fltp", layout)
            frame.sample_rate, frame.pts = SAMPLE_RATE, start
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return buffer.getvalue()


def test_a_layout_that_changes_mid_stream_is_followed() -> None:
    # Given one AAC stream that is mono, then stereo, then 5.1 (as broadcasts switch at an ad break;
    # this used to fail as "Frame does not match AudioResampler setup")
    samples = decode(_adts("mono", 3, 440) + _adts("stereo", 3, 880) + _adts("5.1", 3, 660))

    # Then all nine seconds decode, each part in whole 1024-sample AAC frames plus one of priming,
    # and each part with its tone
    frames_per_part = math.ceil(3 * SAMPLE_RATE / 1024) + 1
    assert len(samples) == 3 * frames_per_part * 1024
    for part in range(3):
        middle = samples[(3 * part + 1) * SAMPLE_RATE : (3 * part + 2) * SAMPLE_RATE]
        assert rms(middle) > 0.1, part


def test_a_4_hour_block_at_1_hz_is_resampled_in_bounded_slices() -> None:
    # Given a 29 KB Matroska file holding 4 h of audio at 1 Hz in one block: one resampler call
    # would make 230 million samples (and allocate twice that; 5.4 GB RSS when measured)
    buffer = io.BytesIO()
    with av.open(buffer, mode="w", format="matroska") as out:
        stream = out.add_stream("pcm_s16le", rate=1, layout="mono")
        values = np.random.default_rng(1).integers(-3000, 3000, (1, 4 * 3600)).astype(np.int16)
        frame = av.AudioFrame.from_ndarray(values, format="s16", layout="mono")
        frame.sample_rate, frame.pts = 1, 0
        for packet in [*stream.encode(frame), *stream.encode(None)]:
            out.mux(packet)

    class Sizes:
        def __init__(self) -> None:
            self.blocks: list[int] = []

        def begin(self, declared_seconds: float | None) -> None:
            pass

        def feed(self, samples: np.ndarray) -> None:
            self.blocks.append(len(samples))

    sizes = Sizes()
    audio = decode_audio(io.BytesIO(buffer.getvalue()), max_duration_seconds=4 * 3600, sink=sizes)

    # Then all 4 hours arrive, in slices of MAX_OUT_SAMPLES plus what the resampler's filter holds
    # back at the start (8 s at this ratio): under 1 MiB of samples at a time
    assert audio.duration == pytest.approx(4 * 3600, abs=1)
    assert MAX_OUT_SAMPLES * 4 < 1 << 20 and max(sizes.blocks) * 4 < 1 << 20


def test_the_64_channel_wav_is_transcribed(monkeypatch, capsys, tmp_path: Path) -> None:
    # Given a real voice on channel 37 of a 64-channel WAV (it failed as "TruncatedMedia ... Invalid
    # argument"), the other channels silent
    for name in ("TRANSCRIBER", "VAD", "MAX_DURATION_SECONDS"):
        monkeypatch.delenv(name, raising=False)
    path = tmp_path / "64ch.wav"
    path.write_bytes(wav_bytes(on_one_channel(BIRCH.samples, 64, 37), SAMPLE_RATE))

    assert main(["transcribe", str(path), "--format", "json"]) == 0

    # Then the words come out as from the voice alone
    result = json.loads(capsys.readouterr().out)
    assert result["duration"] == pytest.approx(len(BIRCH.samples) / SAMPLE_RATE, abs=1e-3)
    assert word_error_rate(BIRCH.text, result["text"]) == 0.0
