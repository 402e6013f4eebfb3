"""The local backend's measured speed: what a time budget asks before it starts a video."""

from __future__ import annotations

import os

import pytest

from vidscribe.adapters.backends.local_whisper import (
    TINY_EN_MODEL_BYTES,
    TINY_EN_SECONDS_PER_AUDIO_SECOND,
    first_estimate,
)
from vidscribe.adapters.backends.speed import MeasuredSpeed, windowed_seconds


def test_before_any_transcription_the_estimate_is_used():
    speed = MeasuredSpeed(0.025)
    assert not speed.measured
    assert speed.seconds_per_audio_second == 0.025
    assert speed.seconds_for(3600) == pytest.approx(90.0)


def test_the_measured_speed_replaces_the_estimate_weighted_by_duration():
    # Given two long transcriptions: 600 s of audio in 12 s, 1200 s in 36 s
    speed = MeasuredSpeed(1.0)
    speed.record(12.0, 600.0)
    speed.record(36.0, 1200.0)
    # Then the speed is their total wall time over their total audio, not the mean of two ratios
    assert speed.measured
    assert speed.seconds_per_audio_second == pytest.approx(48.0 / 1800.0)
    assert speed.seconds_for(1800) == pytest.approx(48.0)


def test_short_clips_count_as_the_whole_window_the_model_reads():
    # A 7 s clip costs the model one 30 s window: it must not make a 2-hour video look slow
    assert windowed_seconds(7.0) == 30.0 and windowed_seconds(30.0) == 30.0 and windowed_seconds(31.0) == 60.0
    speed = MeasuredSpeed(1.0)
    speed.record(0.75, 7.0)
    assert speed.seconds_per_audio_second == pytest.approx(0.025)
    assert speed.seconds_for(7200) == pytest.approx(180.0)


def test_nothing_transcribed_is_no_evidence():
    speed = MeasuredSpeed(0.5)
    speed.record(3.0, 0.0)
    assert not speed.measured and speed.seconds_per_audio_second == 0.5
    with pytest.raises(ValueError):
        MeasuredSpeed(0.0)


def test_a_bigger_model_is_first_expected_to_be_slower_by_its_size(tmp_path):
    # Given a model directory whose weights are 6x tiny.en's
    (tmp_path / "model.bin").write_bytes(b"")
    os.truncate(tmp_path / "model.bin", 6 * TINY_EN_MODEL_BYTES)
    assert first_estimate(str(tmp_path)) == pytest.approx(6 * TINY_EN_SECONDS_PER_AUDIO_SECOND)
    # tiny.en itself, or a directory without a model.bin, gets the measured tiny.en figure
    assert first_estimate(str(tmp_path / "missing")) == TINY_EN_SECONDS_PER_AUDIO_SECOND
