"""The OpenAI backend against a real local HTTP server speaking the transcription API.

The official SDK does the HTTP (multipart uploads, retries); nothing is mocked. The server's
"transcript" names the tones it hears, with their times, so stitching can be checked exactly.
"""

from __future__ import annotations

import traceback
from collections.abc import Iterator

import numpy as np
import openai
import pytest

from tests.support.openai_server import OpenAITranscriptionServer
from vidscribe.adapters.backends.languages import normalize_language
from vidscribe.adapters.backends.openai_backend import OpenAIBackend
from vidscribe.config import Settings
from vidscribe.errors import BackendPermanent, BackendTransient, ConfigurationError, NoSpeechDecoded
from vidscribe.models import SAMPLE_RATE, DecodedAudio

SR = SAMPLE_RATE
API_KEY = "sk-test-local-4f1c2e9a7b6d5c3e"

# (start, end, Hz): ~35.5 s of tones with silences where 10-second chunks will want to cut.
TONES = [
    (0.5, 4.0, 300), (4.6, 9.0, 400), (9.8, 14.0, 500), (14.5, 18.5, 600),
    (19.2, 23.5, 700), (24.0, 28.0, 800), (28.7, 33.0, 900), (33.5, 35.0, 1000),
]
TOTAL_SECONDS = 35.5
EXPECTED_TEXT = " ".join(f"tone {hz} Hz" for _, _, hz in TONES)


def tones_audio(tones=TONES, total=TOTAL_SECONDS) -> DecodedAudio:
    samples = np.zeros(int(total * SR), np.float32)
    for start, end, hertz in tones:
        first, last = int(start * SR), int(end * SR)
        t = np.arange(last - first) / SR
        samples[first:last] = 0.3 * np.sin(2 * np.pi * hertz * t)
    return DecodedAudio(samples=samples, source_bytes=12345)


@pytest.fixture(scope="module")
def module_server() -> Iterator[OpenAITranscriptionServer]:
    with OpenAITranscriptionServer(api_key=API_KEY) as server:
        yield server


@pytest.fixture
def server(module_server: OpenAITranscriptionServer) -> Iterator[OpenAITranscriptionServer]:
    module_server.reset()
    module_server.max_upload_bytes = 25 * 1024 * 1024
    yield module_server
    module_server.reset()


def settings_for(server: OpenAITranscriptionServer, **overrides: object) -> Settings:
    # The timed model: these tests check how chunks and their timings are stitched (the default
    # model, gpt-transcribe, is tested in test_gpt_transcribe.py).
    values: dict[str, object] = {
        "openai_model": "whisper-1",
        "openai_api_key": API_KEY,
        "openai_base_url": server.base_url,
        "openai_chunk_seconds": 10,
        "openai_parallel_chunks": 2,
        "openai_max_retries": 1,
        "openai_timeout_seconds": 20,
        "transcriber": "openai",
    }
    values.update(overrides)
    return Settings(**values)


def test_whisper_chunks_are_stitched_with_offset_segments(server):
    # Given ~35 s of tones and 10-second chunks
    backend = OpenAIBackend(settings_for(server))
    # When the audio is transcribed
    transcript = backend.transcribe(tones_audio())
    # Then four verbose_json uploads of Opus were made, cut in the silences
    uploads = server.transcription_requests()
    assert len(uploads) == 4
    assert {(r.model, r.response_format, r.filename, r.content_type) for r in uploads} == {
        ("whisper-1", "verbose_json", "audio.ogg", "audio/ogg")
    }
    assert all(r.duration <= 10.0 for r in uploads)
    assert sum(r.duration for r in uploads) == pytest.approx(TOTAL_SECONDS, abs=0.05)
    # and the segments land where the tones were planted, in order, across chunk boundaries
    assert transcript.text == EXPECTED_TEXT
    assert [s.text for s in transcript.segments] == [f"tone {hz} Hz" for _, _, hz in TONES]
    for segment, (start, end, _) in zip(transcript.segments, TONES, strict=True):
        assert segment.start == pytest.approx(start, abs=0.05)
        assert segment.end == pytest.approx(end, abs=0.05)
    assert transcript.duration == pytest.approx(TOTAL_SECONDS)
    assert transcript.language == "en"  # whisper-1 says "english"
    assert (transcript.backend, transcript.model) == ("openai", "whisper-1")
    # and the figures for the metrics match what the server received
    assert backend.last_stats.chunks == 4
    assert backend.last_stats.upload_bytes == sum(r.size for r in uploads)


@pytest.mark.parametrize("parallel", [1, 2, 3])
def test_parallel_uploads_are_bounded(server, parallel):
    # Given a server that holds the first uploads until `parallel` of them are in flight together
    server.require_concurrency(parallel, timeout=5.0)
    backend = OpenAIBackend(settings_for(server, openai_parallel_chunks=parallel))
    # When four chunks are transcribed
    transcript = backend.transcribe(tones_audio())
    # Then exactly `parallel` requests were in flight at the peak, never more
    assert len(server.transcription_requests()) == 4
    assert server.max_in_flight == parallel
    assert transcript.text == EXPECTED_TEXT


def test_text_only_models_get_a_request_per_stretch_between_pauses_timed_by_its_sound(server):
    # Given a text-only model and tones separated by 0.5-0.8 s of silence
    backend = OpenAIBackend(settings_for(server, openai_model="gpt-4o-mini-transcribe", language="en"))
    # When the audio is transcribed
    transcript = backend.transcribe(tones_audio())
    # Then each tone was its own json request (a pause of 0.5 s or more always ends a piece)...
    uploads = server.transcription_requests()
    assert [r.response_format for r in uploads] == ["json"] * len(TONES)
    assert {r.language for r in uploads} == {"en"}
    assert transcript.text == EXPECTED_TEXT
    # ...and its text is one segment timed from where the sound is, to the 20 ms frame
    assert [s.text for s in transcript.segments] == [f"tone {hz} Hz" for _, _, hz in TONES]
    for segment, (start, end, _) in zip(transcript.segments, TONES, strict=True):
        assert segment.start == pytest.approx(start, abs=0.021)
        assert segment.end == pytest.approx(end, abs=0.021)
    assert transcript.language == "en" and transcript.model == "gpt-4o-mini-transcribe"


def test_a_rate_limit_then_success_is_retried_by_the_sdk(server):
    # Given one 429 (with retry-after-ms) and the SDK allowed one retry
    server.fail_next(429)
    backend = OpenAIBackend(settings_for(server, openai_chunk_seconds=60))
    # When a single-chunk audio is transcribed, it succeeds
    transcript = backend.transcribe(tones_audio())
    assert transcript.text == EXPECTED_TEXT
    assert [r.status for r in server.requests] == [429, 200]


@pytest.mark.parametrize("status", [429, 500, 503])
def test_persistent_rate_limits_and_server_errors_are_transient(server, status):
    server.fail_always(status)
    backend = OpenAIBackend(settings_for(server, openai_chunk_seconds=60))
    with pytest.raises(BackendTransient) as caught:
        backend.transcribe(tones_audio())
    assert caught.value.retryable
    assert f"OpenAI API {status}" in str(caught.value)
    assert len(server.requests) == 2  # the request and the SDK's one retry


def test_an_exhausted_quota_is_permanent(server):
    server.fail_always(429, message="You exceeded your current quota", code="insufficient_quota")
    backend = OpenAIBackend(settings_for(server, openai_chunk_seconds=60, openai_max_retries=0))
    with pytest.raises(BackendPermanent, match="exceeded your current quota"):
        backend.transcribe(tones_audio())


def test_a_wrong_key_is_permanent_and_never_leaks(server):
    # Given a key the server refuses (it echoes the whole key back, as a careless server might)
    wrong_key = "sk-proj-WRONG0123456789abcdefSECRET"
    backend = OpenAIBackend(settings_for(server, openai_api_key=wrong_key, openai_chunk_seconds=60))
    # When it transcribes
    with pytest.raises(BackendPermanent) as caught:
        backend.transcribe(tones_audio())
    # Then the API's explanation is there, the key is not: not in the message, repr or traceback
    error = caught.value
    assert not error.retryable
    assert "401" in str(error) and "Incorrect API key provided" in str(error)
    rendered = "".join(traceback.format_exception(error)) + repr(error) + repr(backend)
    assert wrong_key not in rendered
    assert "WRONG0123456789" not in rendered
    assert error.__cause__ is None and error.__context__ is None  # the SDK's error is not chained
    assert [r.status for r in server.requests] == [401]  # no retry of a 401


@pytest.mark.parametrize("status", [400, 403, 404, 422])
def test_invalid_requests_are_permanent_with_the_api_message(server, status):
    server.fail_always(status, message=f"scripted refusal {status}")
    backend = OpenAIBackend(settings_for(server, openai_chunk_seconds=60))
    with pytest.raises(BackendPermanent, match=f"scripted refusal {status}"):
        backend.transcribe(tones_audio())
    assert len(server.requests) == 1


def test_an_unknown_model_is_permanent(server):
    backend = OpenAIBackend(settings_for(server, openai_model="whisper-9", openai_chunk_seconds=60))
    with pytest.raises(BackendPermanent, match="model `whisper-9` does not exist"):
        backend.transcribe(tones_audio())


def test_a_failing_chunk_stops_the_chunks_not_yet_sent(server):
    server.fail_always(400, message="bad chunk")
    backend = OpenAIBackend(settings_for(server, openai_parallel_chunks=1))
    with pytest.raises(BackendPermanent, match="bad chunk"):
        backend.transcribe(tones_audio())
    assert len(server.requests) == 1  # chunks 2-4 were never uploaded


def test_with_parallel_chunks_a_failure_stops_further_uploads(server):
    server.fail_always(401)
    backend = OpenAIBackend(settings_for(server, openai_parallel_chunks=2))
    with pytest.raises(BackendPermanent):
        backend.transcribe(tones_audio())
    assert len(server.requests) <= 2  # the two in flight at the failure; chunks 3-4 never start


def test_no_request_is_over_the_upload_limit(server):
    # Given a server with a 64 KiB limit, and a backend keeping files under 56 KiB
    server.max_upload_bytes = 64 * 1024
    backend = OpenAIBackend(settings_for(server, openai_chunk_seconds=60), max_upload_bytes=56 * 1024)
    # When 35 s of tones (~5 KB/s of Opus) is transcribed
    transcript = backend.transcribe(tones_audio())
    # Then every upload fits and none was refused
    assert all(r.status == 200 for r in server.requests)
    assert len(server.requests) >= 3
    assert max(r.size for r in server.requests) <= 56 * 1024
    assert max(r.body_size for r in server.requests) <= 64 * 1024
    assert transcript.text == EXPECTED_TEXT


def test_the_real_default_limits_keep_uploads_under_25_mib(server):
    backend = OpenAIBackend(settings_for(server, openai_chunk_seconds=1200))
    transcript = backend.transcribe(tones_audio())
    assert max(r.body_size for r in server.requests) < 25 * 1024 * 1024
    assert transcript.text == EXPECTED_TEXT


def test_an_oversized_upload_is_refused_with_413_and_is_permanent(server):
    # The fake refuses > 25 MiB like OpenAI (checked with the raw SDK and 26 MiB of WAV bytes) ...
    client = openai.OpenAI(api_key=API_KEY, base_url=server.base_url, max_retries=0)
    with pytest.raises(openai.APIStatusError) as caught:
        client.audio.transcriptions.create(model="whisper-1", file=("big.wav", b"\0" * (26 * 1024 * 1024), "audio/wav"))
    assert caught.value.status_code == 413
    # ... and the backend reports such a refusal as permanent.
    server.reset()
    server.max_upload_bytes = 1024
    backend = OpenAIBackend(settings_for(server, openai_chunk_seconds=60))
    with pytest.raises(BackendPermanent, match="413"):
        backend.transcribe(tones_audio())


def test_an_unreachable_server_is_transient():
    with OpenAITranscriptionServer(api_key=API_KEY) as gone:
        base_url = gone.base_url
    settings = Settings(openai_api_key=API_KEY, openai_base_url=base_url, openai_max_retries=0, openai_chunk_seconds=60)
    with pytest.raises(BackendTransient, match="could not reach"):
        OpenAIBackend(settings).transcribe(tones_audio())


def test_empty_audio_is_no_speech_and_sends_nothing(server):
    backend = OpenAIBackend(settings_for(server))
    with pytest.raises(NoSpeechDecoded):
        backend.transcribe(DecodedAudio(samples=np.zeros(0, np.float32)))
    with pytest.raises(NoSpeechDecoded):
        backend.transcribe(DecodedAudio(samples=np.zeros(SR // 20, np.float32)))  # 50 ms
    assert server.requests == []


def test_silence_is_an_empty_transcript_not_an_error(server):
    transcript = OpenAIBackend(settings_for(server)).transcribe(DecodedAudio(np.zeros(5 * SR, np.float32)))
    assert transcript.text == "" and transcript.segments == [] and transcript.duration == 5.0


def test_the_language_hint_is_sent_and_stored_as_a_code(server):
    backend = OpenAIBackend(settings_for(server, language="fr", openai_chunk_seconds=60))
    transcript = backend.transcribe(tones_audio())
    assert [r.language for r in server.requests] == ["fr"]
    assert transcript.language == "fr"  # the server said "french"
    assert normalize_language("English") == "en" and normalize_language("haitian creole") == "ht"


def test_the_key_comes_from_the_argument_or_the_settings(server):
    # The explicit argument (what the AWS stack resolves from Secrets Manager) wins over settings
    backend = OpenAIBackend(settings_for(server, openai_api_key=None, openai_chunk_seconds=60), api_key=API_KEY)
    assert backend.transcribe(tones_audio()).text == EXPECTED_TEXT
    with pytest.raises(ConfigurationError, match="OPENAI_API_KEY"):
        OpenAIBackend(settings_for(server, openai_api_key=None))


def test_whisper_words_are_asked_for_attached_to_their_segments_and_priced(server):
    # Given ~35 s of tones in 10-second chunks
    backend = OpenAIBackend(settings_for(server))
    transcript = backend.transcribe(tones_audio())
    # Then words were asked for with segments, and each segment holds its own words, timed inside it
    assert {r.timestamp_granularities for r in server.transcription_requests()} == {("word", "segment")}
    for segment, (_, _, hz) in zip(transcript.segments, TONES, strict=True):
        assert [w.text for w in segment.words] == ["tone", str(hz), "Hz"]
        assert segment.start <= segment.words[0].start and segment.words[-1].end <= segment.end + 0.02
    # and the transcript says what was uploaded and what that is estimated to cost
    assert transcript.model_audio_seconds == pytest.approx(server.uploaded_seconds(), abs=0.05)
    assert transcript.cost_usd == pytest.approx(0.006 * TOTAL_SECONDS / 60, rel=1e-2)


def test_an_unpriced_model_has_no_cost_estimate(server):
    known = server.models
    server.models = known | {"my-whisper"}  # an OpenAI-compatible server's own model
    try:
        transcript = OpenAIBackend(settings_for(server, openai_model="my-whisper")).transcribe(tones_audio())
    finally:
        server.models = known
    assert transcript.cost_usd is None and transcript.model_audio_seconds == pytest.approx(TOTAL_SECONDS, abs=0.05)
