"""gpt-transcribe, the default OpenAI model, and the shutdown of the others, against a real local
server speaking OpenAI's transcription API through the official SDK (nothing is patched).

The server refuses what OpenAI refuses (``language`` with ``languages``, a keyword holding ``<``,
``>``, CR or LF, hint lists for other models), and after its clock passes 2027-02-26 it answers a
retired model as OpenAI answers one: 404 ``model_not_found``, "has been deprecated".
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from datetime import date

import openai
import pytest

from tests.integration.test_openai_backend import EXPECTED_TEXT, TONES, tones_audio
from tests.support.openai_server import OpenAITranscriptionServer
from vidscribe.adapters.backends.openai_backend import OpenAIBackend
from vidscribe.config import Settings
from vidscribe.errors import BackendPermanent, ConfigurationError

API_KEY = "sk-test-local-gpt-transcribe-0123456789"
BEFORE = date(2026, 12, 5)
SHUTDOWN = date(2027, 2, 26)


@pytest.fixture(scope="module")
def module_server() -> Iterator[OpenAITranscriptionServer]:
    with OpenAITranscriptionServer(api_key=API_KEY) as server:
        yield server


@pytest.fixture
def server(module_server: OpenAITranscriptionServer) -> Iterator[OpenAITranscriptionServer]:
    module_server.reset()
    module_server.today = BEFORE
    module_server.detected_languages = ["en"]
    yield module_server
    module_server.reset()


def backend_for(server: OpenAITranscriptionServer, *, today: date = BEFORE, **env: str) -> OpenAIBackend:
    values = {"TRANSCRIBER": "openai", "OPENAI_BASE_URL": server.base_url, "OPENAI_MAX_RETRIES": "1"} | env
    return OpenAIBackend(Settings.from_env(values), api_key=API_KEY, today=lambda: today)


def test_the_default_model_sends_its_hints_as_lists_and_stores_what_it_heard(server):
    # Given the default model, a language hint and keywords, and a server that hears German
    server.detected_languages = ["de"]
    backend = backend_for(server, LANGUAGE="fr", KEYWORDS="ComfyUI, vidscribe")
    # When the tones are transcribed
    transcript = backend.transcribe(tones_audio())
    # Then every request was gpt-transcribe's shape: json, languages and keywords, never language
    uploads = server.transcription_requests()
    assert len(uploads) == len(TONES)  # one request per stretch between pauses
    for upload in uploads:
        assert (upload.model, upload.response_format) == ("gpt-transcribe", "json")
        assert upload.fields["languages[]"] == ["fr"] and upload.fields["keywords[]"] == ["ComfyUI", "vidscribe"]
        assert "language" not in upload.fields and "prompt" not in upload.fields
        assert "timestamp_granularities[]" not in upload.fields
    # and the language it reported (languages[0].code) is the transcript's and each segment's
    assert transcript.model == "gpt-transcribe" and transcript.text == EXPECTED_TEXT
    assert transcript.language == "de"
    assert {s.language for s in transcript.segments} == {"de"}
    # and the price is what the API says it billed (each request rounded up to the second here)
    billed = sum(math.ceil(r.duration) for r in uploads)
    assert transcript.cost_usd == pytest.approx(0.0045 * billed / 60, abs=1e-6)
    assert transcript.model_audio_seconds == pytest.approx(sum(r.duration for r in uploads), abs=0.05)


def test_when_it_is_unsure_the_language_is_the_hint_or_unknown(server):
    server.detected_languages = []
    assert backend_for(server).transcribe(tones_audio()).language is None
    assert backend_for(server, LANGUAGE="French").transcribe(tones_audio()).language == "fr"
    assert {r.fields["languages[]"][0] for r in server.transcription_requests() if "languages[]" in r.fields} == {"fr"}


def test_other_models_get_language_and_the_keywords_as_a_prompt(server):
    backend_for(server, OPENAI_MODEL="whisper-1", LANGUAGE="fr", KEYWORDS="ComfyUI,vidscribe").transcribe(
        tones_audio()
    )
    upload = server.transcription_requests()[0]
    assert upload.fields["language"] == ["fr"] and upload.fields["prompt"] == ["ComfyUI, vidscribe"]
    assert "languages[]" not in upload.fields and "keywords[]" not in upload.fields


@pytest.mark.parametrize(
    ("extra", "refusal"),
    [
        ({"language": "en", "languages": ["en"]}, "'language' and 'languages' cannot be used together"),
        ({"keywords": ["ComfyUI", "<script>"]}, "Invalid 'keywords[1]'"),
        ({"keywords": ["Comfy\nUI"]}, "Invalid 'keywords[0]'"),
    ],
)
def test_the_server_refuses_what_openai_refuses(server, extra, refusal):
    client = openai.OpenAI(api_key=API_KEY, base_url=server.base_url, max_retries=0)
    with pytest.raises(openai.BadRequestError, match=re.escape(refusal)):
        client.audio.transcriptions.create(
            model="gpt-transcribe", file=("a.ogg", b"not read: refused first", "audio/ogg"), **extra
        )


def test_a_keyword_openai_would_refuse_stops_the_start_and_sends_nothing(server):
    with pytest.raises(ConfigurationError, match="KEYWORDS: keyword 2 contains '>'"):
        backend_for(server, KEYWORDS="ComfyUI,a>b")
    assert server.requests == []


def test_after_the_shutdown_the_refusal_is_permanent_and_says_what_to_set(server):
    # Given OpenAI's shutdown day, on the API's clock and on ours
    server.today = SHUTDOWN
    backend = backend_for(server, today=SHUTDOWN, OPENAI_MODEL="whisper-1")
    # When whisper-1 is asked
    with pytest.raises(BackendPermanent) as caught:
        backend.transcribe(tones_audio())
    # Then it failed once, for good (no SDK retry either), with the fix first and the API's reason
    error = caught.value
    assert not error.retryable
    assert [r.status for r in server.requests] == [404]
    assert str(error).startswith(
        "OPENAI_MODEL=whisper-1 was shut down by OpenAI on 2027-02-26: set OPENAI_MODEL=gpt-transcribe"
    )
    assert "has been deprecated" in str(error)
    # and the replacement works on the same server that day
    assert backend_for(server, today=SHUTDOWN).transcribe(tones_audio()).text == EXPECTED_TEXT


def test_before_the_shutdown_a_404_keeps_its_own_message(server):
    with pytest.raises(BackendPermanent) as caught:
        backend_for(server, OPENAI_MODEL="whisper-9").transcribe(tones_audio())
    assert "does not exist" in str(caught.value) and "gpt-transcribe" not in str(caught.value)


# The SDK marks audio.translations.create deprecated (the endpoint shuts down); the backend logs its own warning.
@pytest.mark.filterwarnings("ignore:deprecated:DeprecationWarning")
def test_translation_uses_whisper_1_until_the_shutdown_and_then_says_to_translate_locally(server):
    # Before the date: /v1/audio/translations, verbose_json, stored as English
    transcript = backend_for(server, OPENAI_MODEL="whisper-1", TASK="translate").transcribe(tones_audio())
    paths = {r.path for r in server.transcription_requests()}
    assert paths == {"/v1/audio/translations"}
    assert transcript.language == "en" and transcript.text == EXPECTED_TEXT
    assert [s.text for s in transcript.segments] == [f"tone {hz} Hz" for _, _, hz in TONES]
    # From the date, on a server that stands in for OpenAI (its URL is not OpenAI's, so the start
    # lets it try): the endpoint is gone, and the error says what to do instead
    server.reset()
    server.today = SHUTDOWN
    backend = backend_for(server, today=SHUTDOWN, OPENAI_MODEL="whisper-1", TASK="translate")
    with pytest.raises(BackendPermanent, match=r"^TASK=translate: OpenAI shut /v1/audio/translations down"):
        backend.transcribe(tones_audio())
    assert [r.status for r in server.requests] == [404]
