"""What vidscribe knows about OpenAI's transcription models: which answer with timings, which take
language and keyword hints, and which OpenAI shuts down when, with what to use instead.

On 2026-08-26 OpenAI announced that ``whisper-1``, ``gpt-4o-transcribe``, ``gpt-4o-mini-transcribe``
(and its dated snapshot), ``gpt-4o-transcribe-diarize`` and the ``/v1/audio/translations`` endpoint
shut down on **2027-02-26** (its deprecations page; the SDK's ``AudioModel`` lists the same date).
The replacement for files is ``gpt-transcribe``: JSON text only, with ``languages`` (ISO 639-1 hints,
never together with ``language``) and ``keywords`` (a request whose keyword holds ``<``, ``>``, CR or
LF is rejected whole), and the languages it heard in its answer.

After the date no file model translates speech into English: ``gpt-transcribe`` transcribes in the
language spoken, and OpenAI's realtime translation serves live audio over a WebSocket, not files.
So ``TASK=translate`` on the OpenAI backend works with ``whisper-1`` until the shutdown and is refused
at start otherwise (the local models translate).

The shutdown rules go by model name, wherever ``OPENAI_BASE_URL`` points: a compatible server that
keeps serving a model under that name keeps working (only a refusal becomes the permanent error);
the start refusal for a translation after the date applies to OpenAI's own API only.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, date, datetime
from urllib.parse import urlsplit

from ...config import Settings
from ...errors import ConfigurationError
from ...observability import logger

#: The file model that outlives the shutdown: what every message tells people to set.
REPLACEMENT = "gpt-transcribe"
#: OpenAI's shutdown of its timed and gpt-4o transcription models and of audio translations.
AUDIO_SHUTDOWN = date(2027, 2, 26)
_RETIRING = (
    "whisper-1",
    "gpt-4o-transcribe",
    "gpt-4o-mini-transcribe",
    "gpt-4o-mini-transcribe-2025-12-15",
    "gpt-4o-transcribe-diarize",
)
SHUTDOWN_DATES: dict[str, date] = dict.fromkeys(_RETIRING, AUDIO_SHUTDOWN)
#: The only model /v1/audio/translations serves.
TRANSLATION_MODEL = "whisper-1"

Clock = Callable[[], date]


def utc_today() -> date:
    return datetime.now(UTC).date()


def shutdown_date(model: str) -> date | None:
    return SHUTDOWN_DATES.get(model.strip().lower())


def is_retired(model: str, today: date, task: str = "transcribe") -> bool:
    """Whether OpenAI has shut ``model`` (or, translating, its translations) down by ``today``
    (the shutdown day itself included)."""
    when = AUDIO_SHUTDOWN if task == "translate" else shutdown_date(model)
    return when is not None and today >= when


def takes_hint_lists(model: str) -> bool:
    """Whether ``model`` takes ``languages`` and ``keywords`` (gpt-transcribe and its snapshots),
    rather than ``language`` and a ``prompt``."""
    return model.strip().lower().startswith(REPLACEMENT)


def answers_with_timings(model: str) -> bool:
    """Whether ``model`` is asked for ``verbose_json`` (timed segments and words): whisper-1 and any
    model not named ``gpt-*`` (OpenAI-compatible Whisper servers). ``gpt-*`` models answer text."""
    return not model.strip().lower().startswith("gpt-")


def is_openai_host(base_url: str | None) -> bool:
    host = urlsplit(base_url).hostname if base_url else "api.openai.com"
    return host is not None and (host == "openai.com" or host.endswith(".openai.com"))


def shutdown_warning(model: str, today: date) -> str | None:
    """The start-up warning for a model with a published shutdown date (None for any other)."""
    when = shutdown_date(model)
    if when is None:
        return None
    fix = f"set OPENAI_MODEL={REPLACEMENT} (text only: vidscribe times its captions from the speech)"
    if today >= when:
        return f"OPENAI_MODEL={model}: OpenAI shut this model down on {when.isoformat()}, its requests fail: {fix}"
    days = (when - today).days
    return f"OPENAI_MODEL={model}: OpenAI shuts this model down on {when.isoformat()} (in {days} days): {fix}"


def retired_fix(model: str, task: str = "transcribe") -> str:
    """What a refusal after the shutdown says to do: set gpt-transcribe, or translate locally."""
    when = (shutdown_date(model) or AUDIO_SHUTDOWN).isoformat()
    if task == "translate":
        return (
            f"TASK=translate: OpenAI shut /v1/audio/translations down on {when} and translates no audio files "
            "now: set TRANSCRIBER=local with a multilingual WHISPER_MODEL (or TASK=transcribe)"
        )
    return (
        f"OPENAI_MODEL={model} was shut down by OpenAI on {when}: set OPENAI_MODEL={REPLACEMENT} "
        "and retry the failed videos (vidscribe retry-failed --type BackendPermanent)"
    )


def translation_problem(settings: Settings, today: date) -> str | None:
    """Why TASK=translate cannot run on the OpenAI backend with these settings (None: it can)."""
    if settings.task != "translate":
        return None
    model = settings.openai_model
    after = (
        f"after {AUDIO_SHUTDOWN.isoformat()} OpenAI translates no audio files ({REPLACEMENT} transcribes in the "
        "language spoken; its realtime translation serves live audio only): use TRANSCRIBER=local with a "
        "multilingual WHISPER_MODEL, or TASK=transcribe"
    )
    if model.strip().lower() != TRANSLATION_MODEL and is_openai_host(settings.openai_base_url):
        return f"TASK=translate: OpenAI translates audio with {TRANSLATION_MODEL} only, not {model}; {after}"
    if today >= AUDIO_SHUTDOWN and is_openai_host(settings.openai_base_url):
        return f"TASK=translate: /v1/audio/translations was shut down on {AUDIO_SHUTDOWN.isoformat()}; {after}"
    return None


_warned: set[tuple[str, date]] = set()
_warned_lock = threading.Lock()


def check_at_start(settings: Settings, today: date | None = None) -> list[str]:
    """Refuse settings the API would refuse on every request (ConfigurationError, one line), and log
    once per process the warning for a model OpenAI shuts down. Returns the warnings."""
    today = today or utc_today()
    problem = translation_problem(settings, today)
    if problem:
        raise ConfigurationError(problem)
    warnings = [w for w in (shutdown_warning(settings.openai_model, today),) if w]
    if settings.task == "translate" and is_openai_host(settings.openai_base_url):
        warnings.append(
            f"TASK=translate: OpenAI shuts /v1/audio/translations down on {AUDIO_SHUTDOWN.isoformat()}, and no "
            "file model translates after it: translate with TRANSCRIBER=local and a multilingual WHISPER_MODEL"
        )
    for warning in warnings:
        with _warned_lock:
            first = (warning, today) not in _warned
            _warned.add((warning, today))
        if first:
            logger.warning(warning)
    return warnings
