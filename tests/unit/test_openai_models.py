"""What vidscribe knows about OpenAI's models: the default, shutdown dates, keywords, translation."""

from __future__ import annotations

import logging
from datetime import date

import pytest

from vidscribe.adapters.backends.openai_models import (
    AUDIO_SHUTDOWN,
    check_at_start,
    is_retired,
    retired_fix,
    shutdown_warning,
)
from vidscribe.adapters.backends.pricing import estimated_cost_usd
from vidscribe.config import Settings
from vidscribe.errors import ConfigurationError

TODAY = date(2026, 12, 5)
COMPATIBLE = "http://127.0.0.1:9/v1"  # an OpenAI-compatible server, not OpenAI


def openai(**env: str) -> Settings:
    return Settings.from_env({"TRANSCRIBER": "openai", **env})


def test_the_default_model_is_gpt_transcribe_at_its_price():
    assert Settings.from_env({}).openai_model == "gpt-transcribe"
    assert estimated_cost_usd("gpt-transcribe", 3600) == pytest.approx(0.27)  # $0.0045 a minute


@pytest.mark.parametrize(
    "model", ["whisper-1", "gpt-4o-transcribe", "gpt-4o-mini-transcribe", "gpt-4o-transcribe-diarize"]
)
def test_a_model_openai_shuts_down_warns_with_the_date_and_the_replacement(model):
    warning = shutdown_warning(model, TODAY)
    assert warning == (
        f"OPENAI_MODEL={model}: OpenAI shuts this model down on 2027-02-26 (in 83 days): "
        "set OPENAI_MODEL=gpt-transcribe (text only: vidscribe times its captions from the speech)"
    )
    after = shutdown_warning(model, AUDIO_SHUTDOWN)
    assert after is not None and "shut this model down on 2027-02-26" in after
    assert not is_retired(model, date(2027, 2, 25)) and is_retired(model, AUDIO_SHUTDOWN)


@pytest.mark.parametrize("model", ["gpt-transcribe", "my-whisper", "large-v3"])
def test_models_without_a_shutdown_date_do_not_warn(model):
    assert shutdown_warning(model, date(2030, 1, 1)) is None
    assert not is_retired(model, date(2030, 1, 1))


def test_the_warning_is_logged_once_at_start(caplog):
    # Given whisper-1 on a day no other test uses (each day's warning is logged once per process)
    day = date(2027, 1, 3)
    with caplog.at_level(logging.WARNING):
        # When two backends start on that day
        first = check_at_start(openai(OPENAI_MODEL="whisper-1"), day)
        check_at_start(openai(OPENAI_MODEL="whisper-1"), day)
    # Then one line names the date and what to set
    logged = [r.getMessage() for r in caplog.records if "OPENAI_MODEL=whisper-1" in r.getMessage()]
    assert logged == first == [shutdown_warning("whisper-1", day)]
    assert "2027-02-26 (in 54 days)" in logged[0]


def test_after_the_shutdown_a_refusal_says_what_to_set():
    assert retired_fix("whisper-1") == (
        "OPENAI_MODEL=whisper-1 was shut down by OpenAI on 2027-02-26: set OPENAI_MODEL=gpt-transcribe "
        "and retry the failed videos (vidscribe retry-failed --type BackendPermanent)"
    )
    assert "set TRANSCRIBER=local" in retired_fix("whisper-1", "translate")


def test_keywords_are_read_comma_separated():
    settings = openai(KEYWORDS=" ComfyUI, vidscribe ,,C++ , naïve café\n")
    assert settings.keywords == ("ComfyUI", "vidscribe", "C++", "naïve café")
    assert check_at_start(settings, TODAY) == []


@pytest.mark.parametrize(
    ("keyword", "named"),
    [("<b>", "'<'"), ("a>b", "'>'"), ("Comfy\rUI", "a carriage return"), ("Comfy\nUI", "a line feed")],
)
def test_a_keyword_openai_would_refuse_is_a_one_line_error_at_start(keyword, named):
    # One rule for every backend and model: the same KEYWORDS feed faster-whisper and the API.
    for model in ("gpt-transcribe", "whisper-1"):
        with pytest.raises(ConfigurationError) as caught:
            openai(KEYWORDS=f"ComfyUI,{keyword}", OPENAI_MODEL=model)
        message = str(caught.value)
        assert message == (
            f"invalid configuration: KEYWORDS: keyword 2 contains {named}: gpt-transcribe rejects a request "
            "whose keywords hold '<', '>', a carriage return or a line feed"
        )
        assert "\n" not in message and "\r" not in message


def test_translation_on_the_openai_backend():
    # gpt-transcribe only transcribes: refused at start, saying what the API offers
    with pytest.raises(ConfigurationError, match="OpenAI translates audio with whisper-1 only") as caught:
        check_at_start(openai(TASK="translate"), TODAY)
    assert "use TRANSCRIBER=local with a multilingual WHISPER_MODEL" in str(caught.value)
    # whisper-1 translates until the shutdown, with a warning saying so
    warnings = check_at_start(openai(TASK="translate", OPENAI_MODEL="whisper-1"), TODAY)
    assert any("shuts /v1/audio/translations down on 2027-02-26" in w for w in warnings)
    # and from the shutdown on, nothing at OpenAI translates a file: refused at start
    with pytest.raises(ConfigurationError, match="translations was shut down on 2027-02-26"):
        check_at_start(openai(TASK="translate", OPENAI_MODEL="whisper-1"), AUDIO_SHUTDOWN)
    # A compatible server may still translate: its own refusal will say what to do
    compatible = openai(TASK="translate", OPENAI_MODEL="whisper-1", OPENAI_BASE_URL=COMPATIBLE)
    assert check_at_start(compatible, AUDIO_SHUTDOWN) == [shutdown_warning("whisper-1", AUDIO_SHUTDOWN)]
