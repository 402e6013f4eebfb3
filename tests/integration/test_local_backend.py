"""The local backend on a real voice, and when it loads: the real tiny.en model."""

from __future__ import annotations

import json

import pytest

from tests.support.image_tree import REALSPEECH
from tests.support.text import word_error_rate
from vidscribe.adapters.media import open_local_audio
from vidscribe.config import Settings
from vidscribe.errors import ConfigurationError
from vidscribe.services import Services

REFERENCES = json.loads((REALSPEECH / "references.json").read_text())


def test_a_real_voice_is_transcribed_and_the_speed_is_measured_on_it(local_backend):
    # Given real speech (not espeak) through the same decoder the pipeline uses
    name = "single-mic-example5.wav"
    audio = open_local_audio(REALSPEECH / name, max_duration_seconds=60)
    # When the model transcribes it
    transcript = local_backend.transcribe(audio)
    # Then the words are right, and the backend has measured its own speed on it
    assert word_error_rate(REFERENCES[name], transcript.text) <= 0.15, transcript.text
    assert local_backend.speed.measured
    assert 0 < local_backend.seconds_per_audio_second < 1
    assert local_backend.seconds_for(3600) == pytest.approx(3600 * local_backend.seconds_per_audio_second)


def test_warm_up_loads_the_local_model_and_leaves_the_openai_client_for_later(tmp_path):
    # Given a local model that cannot load: warm-up tries it now (the Lambda init phase)
    (tmp_path / "broken-model").mkdir()
    (tmp_path / "broken-model" / "model.bin").write_bytes(b"not a model")  # passes the start-up check only
    broken = Settings.from_env({}, TRANSCRIBER="local", WHISPER_MODEL=str(tmp_path / "broken-model"))
    with pytest.raises(ConfigurationError, match="cannot load the Whisper model"):
        Services(broken).warm_up()
    # The OpenAI backend, with no key anywhere, is not built (its first record reports the missing key)
    Services(Settings.from_env({}, TRANSCRIBER="openai")).warm_up()
