"""Configuration and message parsing: typos fail at start-up, bad messages get readable reasons."""

from __future__ import annotations

import pytest

from vidscribe.config import Settings
from vidscribe.errors import ConfigurationError, FetchError, MalformedMessage, NotMedia, describe
from vidscribe.models import VideoMessage


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
        ({"VIDEOS_TABLE": "videos; drop table x"}, "VIDEOS_TABLE"),
    ],
)
def test_invalid_configuration_names_the_variable(env, fragment) -> None:
    with pytest.raises(ConfigurationError, match=fragment):
        Settings.from_env(env)


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
    assert describe(FetchError("503")) == ("FetchError", "503", True)
    assert describe(NotMedia("html"))[2] is False
    assert describe(KeyError("x"))[0] == "KeyError" and describe(KeyError("x"))[2] is True
