"""The variables the stack sets are the ones the core reads: every name in every synthesized template
is a ``Settings`` alias (or a library's own variable), and the core reads back what the stack meant."""

from __future__ import annotations

import pytest

from infra.environment import LIBRARY_VARIABLES, settings_environment, variable
from tests.infra.helpers import FUNCTION_NAMES, Synth, env
from vidscribe.config import Settings

SETTINGS_NAMES = {field.alias for field in Settings.model_fields.values()}


@pytest.fixture(scope="session", params=["default", "custom", "network", "local", "hints"])
def any_synth(request: pytest.FixtureRequest) -> Synth:
    return request.getfixturevalue(request.param)


def readable(variables: dict[str, object]) -> dict[str, str]:
    """The environment as a function sees it, with CloudFormation references made plain URLs/ARNs."""
    stand_ins = {
        "QUEUE_URL": "https://sqs.eu-west-1.amazonaws.com/1/q",
        "DLQ_URL": "https://sqs.eu-west-1.amazonaws.com/1/d",
        "EVENT_BUS_NAME": "arn:aws:events:eu-west-1:123456789012:event-bus/vidscribe-events",
    }
    return {k: v if isinstance(v, str) else stand_ins.get(k, "arn:aws:stand-in") for k, v in variables.items()}


def test_every_variable_the_stack_sets_is_one_the_core_reads(any_synth: Synth) -> None:
    # Given each configuration's template / Then no function gets a name Settings would silently ignore
    for name in FUNCTION_NAMES:
        unknown = set(env(any_synth, name)) - SETTINGS_NAMES - LIBRARY_VARIABLES
        assert unknown == set(), f"{name}: {sorted(unknown)}"


def test_the_core_reads_back_what_the_stack_meant(any_synth: Synth) -> None:
    cfg = any_synth.config
    transcriber = Settings.from_env(readable(env(any_synth, "Transcriber")))
    assert transcriber.max_workers == cfg.max_workers
    timeout = cfg.transcriber_timeout_seconds
    assert transcriber.transcriber_timeout_seconds == transcriber.processing_lease_seconds == timeout
    assert transcriber.transcriber == cfg.transcriber
    assert transcriber.queued_lease_seconds == cfg.queued_lease_seconds
    fetcher = Settings.from_env(readable(env(any_synth, "Fetcher")))
    assert (fetcher.fetch_batch_size, fetcher.queue_high_water) == (cfg.fetch_limit, cfg.fetch_high_water)


def test_language_task_and_keywords_reach_the_transcriber_only(hints: Synth) -> None:
    # Given -c language=de -c task=translate -c keywords='Kubernetes, vidscribe'
    settings = Settings.from_env(readable(env(hints, "Transcriber")))
    assert (settings.language, settings.task, settings.keywords) == ("de", "translate", ("Kubernetes", "vidscribe"))
    for name in ("Fetcher", "DlqConsumer"):
        assert {"LANGUAGE", "TASK", "KEYWORDS"} & set(env(hints, name)) == set()


def test_not_given_they_are_not_set(default: Synth) -> None:
    assert {"LANGUAGE", "TASK", "KEYWORDS"} & set(env(default, "Transcriber")) == set()


def test_a_name_settings_does_not_know_cannot_be_set() -> None:
    assert variable("queue_high_water") == "QUEUE_HIGH_WATER"
    assert settings_environment(allow_private_urls=False, keywords=("a", "b"), language=None) == {
        "ALLOW_PRIVATE_URLS": "false", "KEYWORDS": "a,b"
    }
    with pytest.raises(KeyError, match="queue_highwater"):
        settings_environment(queue_highwater=10)
