"""Configuration and message parsing: typos fail at start-up, bad messages get readable reasons."""

from __future__ import annotations

import json
import re

import pytest
from pydantic import ValidationError

from vidscribe.config import Settings
from vidscribe.errors import ConfigurationError, ErrorDescription, FetchError, MalformedMessage, NotMedia, describe
from vidscribe.models import VideoMessage, video_row_problem


def test_defaults() -> None:
    s = Settings.from_env({})
    assert (s.max_workers, s.transcriber, s.videos_table, s.allow_private_urls) == (2, "local", "videos", False)
    assert s.database_url is None and s.queue_url is None


def test_environment_values_are_typed() -> None:
    s = Settings.from_env({"MAX_WORKERS": "8", "ALLOW_PRIVATE_URLS": "true", "AWS_DEFAULT_REGION": "eu-west-1"})
    assert s.max_workers == 8 and s.allow_private_urls is True and s.aws_region == "eu-west-1"


def test_empty_values_mean_unset() -> None:
    assert Settings.from_env({"MAX_WORKERS": "", "DATABASE_URL": ""}).max_workers == 2


@pytest.mark.parametrize(
    "env, fragment",
    [
        ({"MAX_WORKERS": "0"}, "MAX_WORKERS"),
        ({"MAX_WORKERS": "many"}, "MAX_WORKERS"),
        ({"TRANSCRIBER": "gpu"}, "TRANSCRIBER"),
        ({"VIDEOS_TABLE": "videos; drop table x"}, "VIDEOS_TABLE: give a table or view name"),
        ({"AWS_ENDPOINT_URL": "localhost:4566"}, "AWS_ENDPOINT_URL: must be an http(s) URL with a host"),
        ({"QUEUE_URL": "my-queue"}, "QUEUE_URL: must be an http(s) URL"),
        ({"DLQ_URL": "http://host:notaport/q"}, "DLQ_URL: not a URL"),
        ({"WHISPER_MODEL": "/no/such/model"}, "WHISPER_MODEL: no such directory: /no/such/model"),
        ({"SHUTDOWN_GRACE_SECONDS": "-1"}, "SHUTDOWN_GRACE_SECONDS"),
        ({"LOG_FORMAT": "xml"}, "LOG_FORMAT"),
        ({"LANGUAGE": "klingon"}, "LANGUAGE: unknown language 'klingon'"),
        ({"LANGUAGE": "xx"}, "LANGUAGE: unknown language 'xx'"),
        ({"LANGUAGE": "de", "WHISPER_MODEL": "tiny.en"}, "LANGUAGE=de: WHISPER_MODEL=tiny.en is English-only"),
        ({"TASK": "translate", "WHISPER_MODEL": "tiny.en"}, "TASK=translate: WHISPER_MODEL=tiny.en is English-only"),
        ({"TASK": "summarise"}, "TASK"),
        ({"KEYWORDS": "ComfyUI,<script>"}, "KEYWORDS: keyword 2 contains '<': gpt-transcribe rejects"),
        ({"KEYWORDS": "a>b"}, "KEYWORDS: keyword 1 contains"),
        ({"KEYWORDS": "one\rtwo"}, "KEYWORDS: keyword 1 contains"),
        ({"KEYWORDS": "one\ntwo"}, "KEYWORDS: keyword 1 contains"),
    ],
)
def test_invalid_configuration_names_the_variable(env, fragment) -> None:
    with pytest.raises(ConfigurationError) as error:
        Settings.from_env(env)
    assert fragment in str(error.value)


def test_secrets_are_not_printed() -> None:
    s = Settings.from_env({"DATABASE_URL": "postgresql://u:hunter2@db/x", "OPENAI_API_KEY": "sk-secret"})
    assert "hunter2" not in repr(s) and "sk-secret" not in repr(s)
    assert s.database_url.get_secret_value().endswith("@db/x")


def test_message_round_trip() -> None:
    m = VideoMessage.parse('{"video_id": " v1 ", "url": "https://x/v.mp4", "extra": 1}')
    assert (m.video_id, m.url) == (" v1 ", "https://x/v.mp4")  # ids are opaque: kept as given
    assert VideoMessage.parse(m.body()) == m


@pytest.mark.parametrize(
    "body, reason",
    [
        ("{", "not JSON"),
        ("null", "expected an object"),
        ('{"video_id": 5}', "video_id"),
        ('{"video_id": "   "}', "blank"),
        ('{"video_id": "' + "x" * 300 + '"}', "video_id"),
        ('{"video_id": "a", "url": 5}', "url"),
    ],
)
def test_malformed_messages_say_why(body, reason) -> None:
    with pytest.raises(MalformedMessage, match=reason):
        VideoMessage.parse(body)


def test_describe_classifies_errors() -> None:
    assert describe(FetchError("503")) == ErrorDescription("FetchError", "503", True)
    assert describe(NotMedia("html")).retryable is False
    assert describe(KeyError("x")).error_type == "KeyError" and describe(KeyError("x")).retryable is True


def test_shutdown_grace_and_log_format() -> None:
    s = Settings.from_env({})
    assert s.shutdown_grace_seconds == 20 and s.log_format is None
    assert Settings.from_env({"SHUTDOWN_GRACE_SECONDS": "2.5", "LOG_FORMAT": "json"}).shutdown_grace_seconds == 2.5


def test_languages_tasks_keywords_and_model_names() -> None:
    s = Settings.from_env({})
    assert (s.whisper_model, s.language, s.task, s.keywords) == ("base", None, "transcribe", ())
    # A language is a code Whisper knows, or its name; case does not matter
    assert Settings.from_env({"LANGUAGE": "German"}).language == "de"
    assert Settings.from_env({"LANGUAGE": "JA"}).language == "ja"
    # English with the English-only model is fine; so is anything with the OpenAI backend
    assert Settings.from_env({"LANGUAGE": "en", "WHISPER_MODEL": "tiny.en"}).whisper_model == "tiny.en"
    assert Settings.from_env({"LANGUAGE": "de", "WHISPER_MODEL": "tiny.en", "TRANSCRIBER": "openai"}).language == "de"
    assert Settings.from_env({"TASK": "translate"}).task == "translate"
    # Keywords: comma-separated, trimmed, empties dropped
    assert Settings.from_env({"KEYWORDS": " ComfyUI, Stable Diffusion ,, "}).keywords == ("ComfyUI", "Stable Diffusion")


def test_whisper_model_must_be_a_model_directory(tmp_path) -> None:
    with pytest.raises(ConfigurationError, match="has no model.bin"):
        Settings.from_env({"WHISPER_MODEL": str(tmp_path)})
    (tmp_path / "model.bin").write_bytes(b"")
    assert Settings.from_env({"WHISPER_MODEL": str(tmp_path)}).whisper_model == str(tmp_path)
    # The OpenAI backend does not read it
    assert Settings.from_env({"WHISPER_MODEL": "/nope", "TRANSCRIBER": "openai"}).transcriber == "openai"


def test_a_configuration_error_never_shows_the_value() -> None:
    with pytest.raises(ConfigurationError) as error:
        Settings.from_env({"QUEUE_URL": "sekrit-value-123"})
    assert "sekrit-value-123" not in str(error.value)


SURROGATE = "a lone UTF-16 surrogate (not valid Unicode text)"


@pytest.mark.parametrize(
    "video_id, url, problem",
    [
        ("\ud800", None, f"video_id contains {SURROGATE}"),  # JSON's "\ud800": SQS takes it
        ("v\udcff", None, f"video_id contains {SURROGATE}"),  # a byte that is not UTF-8, on a command line
        ("v\x00", None, "video_id contains control characters"),
        ("v\x1b[2J", None, "video_id contains control characters"),
        ("x" * 3000, None, "video_id is 3,000 characters long (at most 256)"),
        ("v", "https://x/\ud800.mp4", f"url contains {SURROGATE}"),
        ("v", "https://x/a\x00.mp4", "url contains control characters"),
        ("v", "https://x/" + "a" * 4100, "url is 4,110 characters long (at most 4096)"),
    ],
)
def test_ids_and_urls_are_checked_in_one_place_for_every_way_in(video_id, url, problem) -> None:
    # a queue message (what SQS delivers: JSON, where the surrogate is an escape)
    body = json.dumps({"video_id": video_id, **({"url": url} if url else {})})
    with pytest.raises(MalformedMessage) as caught:
        VideoMessage.parse(body)
    assert str(caught.value) == f"invalid message: {problem}"
    # a message built from the command line's arguments
    with pytest.raises(ValidationError, match=re.escape(problem)):
        VideoMessage(video_id=video_id, url=url)
    # a videos-table row (which must have a url as well)
    assert video_row_problem(video_id, url or "https://x/v.mp4") == problem


def test_a_videos_row_without_a_url_says_so() -> None:
    assert video_row_problem("v1", None) == "its url is NULL"
    assert video_row_problem("v1", "https://x/v.mp4") is None
    assert video_row_problem("👩\u200d💻-café", "https://x/v.mp4") is None  # format characters stay allowed
