"""One typed configuration object, read once from the environment at cold start.

Every setting is an environment variable (the README lists them with their defaults). Values are
validated here so that a typo fails at start-up with a readable message, not mid-video.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator, model_validator

from .contract import EVENT_BUS_PATTERN, VIDEOS_TABLE_PATTERN
from .errors import ConfigurationError

#: The models WHISPER_MODEL takes by name (shipped in PyPI packages; adapters/backends/model_packages.py).
DEFAULT_WHISPER_MODEL = "base"
ENGLISH_ONLY_MODELS = ("tiny.en",)
WHISPER_MODEL_NAMES = ("base", *ENGLISH_ONLY_MODELS)
#: What a keyword may not hold: gpt-transcribe rejects the whole request (one rule for every backend,
#: since the same KEYWORDS feed faster-whisper's hotwords and the API).
_KEYWORD_FORBIDDEN = {"<": "'<'", ">": "'>'", "\r": "a carriage return", "\n": "a line feed"}


class Settings(BaseModel):
    model_config = ConfigDict(frozen=True, populate_by_name=True, extra="ignore")

    # --- where things are --------------------------------------------------------------------------
    database_url: SecretStr | None = Field(None, alias="DATABASE_URL")
    # In AWS the URL lives in Secrets Manager; the stack passes the secret's ARN, never the value.
    database_secret_arn: str | None = Field(None, alias="DATABASE_SECRET_ARN")
    # TLS to the database, over whatever the URL says: verify-full with a CA bundle verifies the
    # server's name and certificate (the stack ships the RDS CAs and sets both).
    database_sslmode: Literal["disable", "prefer", "require", "verify-ca", "verify-full"] | None = Field(
        None, alias="DATABASE_SSLMODE"
    )
    database_sslrootcert: str | None = Field(None, alias="DATABASE_SSLROOTCERT")  # a file, or "system"
    # Connections one process holds at most; unset: MAX_WORKERS + 4 (the local runtime's threads).
    # The stack sets 1: a Lambda instance handles one batch at a time, so it needs one connection.
    database_pool_size: int | None = Field(None, alias="DATABASE_POOL_SIZE", ge=1, le=1000)
    # IAM database authentication (RDS or RDS Proxy): a 15-minute token from the function's role
    # instead of a password; the connection is then built from these parts, not from a URL.
    database_iam_auth: bool = Field(False, alias="DATABASE_IAM_AUTH")
    database_host: str | None = Field(None, alias="DATABASE_HOST")
    database_port: int = Field(5432, alias="DATABASE_PORT", ge=1, le=65535)
    database_user: str | None = Field(None, alias="DATABASE_USER")
    database_name: str | None = Field(None, alias="DATABASE_NAME")
    videos_table: str = Field("videos", alias="VIDEOS_TABLE")
    queue_url: str | None = Field(None, alias="QUEUE_URL")
    dlq_url: str | None = Field(None, alias="DLQ_URL")
    aws_endpoint_url: str | None = Field(None, alias="AWS_ENDPOINT_URL")
    aws_region: str = Field("us-east-1", alias="AWS_REGION")
    # An EventBridge bus (name or ARN) that hears of every final outcome (vidscribe.events); unset: none.
    event_bus_name: str | None = Field(None, alias="EVENT_BUS_NAME", pattern=EVENT_BUS_PATTERN)

    # --- work and retries --------------------------------------------------------------------------
    max_workers: int = Field(2, alias="MAX_WORKERS", ge=1, le=1000)
    fetch_batch_size: int = Field(100, alias="FETCH_BATCH_SIZE", ge=1, le=100_000)
    # Seconds a failed attempt waits before its one retry (ChangeMessageVisibility on failure).
    retry_backoff_seconds: int = Field(5, alias="RETRY_BACKOFF_SECONDS", ge=0, le=43_200)
    # How long a worker owns a video it is transcribing; a crashed worker's claim expires after it.
    processing_lease_seconds: int = Field(900, alias="PROCESSING_LEASE_SECONDS", ge=1)
    # How long a queued video is left alone by the fetcher before it is considered lost and re-queued.
    queued_lease_seconds: int = Field(86_400, alias="QUEUED_LEASE_SECONDS", ge=1)

    # --- the time budget ---------------------------------------------------------------------------
    # How long one transcriber invocation may run: Lambda's timeout in AWS (the stack sets it from
    # transcriberTimeoutSeconds), emulated by the local runtime.
    transcriber_timeout_seconds: int = Field(900, alias="TRANSCRIBER_TIMEOUT_SECONDS", ge=1, le=43_200)
    # Kept in hand before the timeout (at most a tenth of it): the work stops and is released then.
    time_budget_margin_seconds: float = Field(30, alias="TIME_BUDGET_MARGIN_SECONDS", ge=0)
    # A video longer than this (or whose work would not fit one invocation) is split into parts of
    # at most this long, one message each, transcribed in parallel and assembled once (issue 22).
    part_seconds: float = Field(1800, alias="PART_SECONDS", ge=60)

    # --- transcription -----------------------------------------------------------------------------
    transcriber: Literal["local", "openai"] = Field("local", alias="TRANSCRIBER")
    # base (99 languages), tiny.en (English only, ~4x faster) or a CTranslate2 Whisper model directory.
    whisper_model: str = Field(DEFAULT_WHISPER_MODEL, alias="WHISPER_MODEL")
    # Where base's two package halves are joined (once, checked by SHA-256); unset: ~/.cache/vidscribe/models.
    whisper_model_cache: str | None = Field(None, alias="WHISPER_MODEL_CACHE")
    whisper_beam_size: int = Field(1, alias="WHISPER_BEAM_SIZE", ge=1, le=10)
    whisper_cpu_threads: int = Field(0, alias="WHISPER_CPU_THREADS", ge=0)  # 0: let CTranslate2 decide
    # Voice activity detection before the model: auto (onnx where faster-whisper is installed, else
    # lite), onnx, lite, or off (every second of audio goes to the model).
    vad: Literal["auto", "onnx", "lite", "off"] = Field("auto", alias="VAD")
    # Transcriptions one process runs at once (CTranslate2 workers); unset: MAX_WORKERS, the local
    # runtime's threads. A Lambda instance handles one record at a time: the stack sets 1.
    whisper_workers: int | None = Field(None, alias="WHISPER_WORKERS", ge=1, le=64)
    language: str | None = Field(None, alias="LANGUAGE")  # a hint such as "en"; None lets the model detect
    # transcribe: the text in the language spoken; translate: English text from any language.
    task: Literal["transcribe", "translate"] = Field("transcribe", alias="TASK")
    # Names and jargon the model should expect (comma-separated): faster-whisper's hotwords and
    # gpt-transcribe's keywords, which rejects a request whose keyword holds <, >, CR or LF.
    keywords: tuple[str, ...] = Field((), alias="KEYWORDS")
    # gpt-transcribe: OpenAI's file model after whisper-1 and the gpt-4o models shut down (2027-02-26).
    openai_model: str = Field("gpt-transcribe", alias="OPENAI_MODEL")
    openai_base_url: str | None = Field(None, alias="OPENAI_BASE_URL")
    openai_api_key: SecretStr | None = Field(None, alias="OPENAI_API_KEY")
    openai_api_key_secret_arn: str | None = Field(None, alias="OPENAI_API_KEY_SECRET_ARN")
    # The SDK's own retries multiply uploads: 0 keeps "a video goes to the model at most twice".
    openai_max_retries: int = Field(0, alias="OPENAI_MAX_RETRIES", ge=0, le=10)
    openai_timeout_seconds: float = Field(300, alias="OPENAI_TIMEOUT_SECONDS", gt=0)
    openai_chunk_seconds: int = Field(1200, alias="OPENAI_CHUNK_SECONDS", ge=10)
    openai_parallel_chunks: int = Field(2, alias="OPENAI_PARALLEL_CHUNKS", ge=1, le=16)

    # --- fetching media ----------------------------------------------------------------------------
    allow_private_urls: bool = Field(False, alias="ALLOW_PRIVATE_URLS")
    max_media_bytes: int = Field(4 * 1024**3, alias="MAX_MEDIA_BYTES", ge=1)
    max_duration_seconds: float = Field(4 * 3600, alias="MAX_DURATION_SECONDS", gt=0)
    http_connect_timeout: float = Field(10, alias="HTTP_CONNECT_TIMEOUT", gt=0)
    http_read_timeout: float = Field(30, alias="HTTP_READ_TIMEOUT", gt=0)
    # Bounds a whole download: a server trickling bytes never trips the read timeout alone.
    fetch_total_timeout_seconds: float = Field(1800, alias="FETCH_TOTAL_TIMEOUT_SECONDS", gt=0)
    max_redirects: int = Field(5, alias="MAX_REDIRECTS", ge=0, le=30)
    read_ahead_bytes: int = Field(1024 * 1024, alias="READ_AHEAD_BYTES", ge=64 * 1024)
    # auto: from an MP4's index, fetch only the audio chunks when the link makes that about as quick
    # as reading the whole file; audio-only: the fewest bytes whatever the time; whole-file: every byte.
    fetch_strategy: Literal["auto", "audio-only", "whole-file"] = Field("auto", alias="FETCH_STRATEGY")
    # Range requests (or HLS segments) in flight at once for one video, each on its own connection.
    fetch_connections: int = Field(16, alias="FETCH_CONNECTIONS", ge=1, le=64)
    hls_max_segments: int = Field(20_000, alias="HLS_MAX_SEGMENTS", ge=1)
    # One HLS segment or init section at most (streamed, never held whole: this bounds what one object may be)
    hls_max_segment_bytes: int = Field(256 * 1024**2, alias="HLS_MAX_SEGMENT_BYTES", ge=1)

    # --- the local runtime -------------------------------------------------------------------------
    visibility_timeout_seconds: int = Field(300, alias="VISIBILITY_TIMEOUT_SECONDS", ge=1, le=43_200)
    # The fetcher tops the queue up to this many visible messages; the rest of the backlog waits in
    # PostgreSQL. Unset: 1000 on SQS, 20 on the embedded endpoint, whose every operation slows down
    # with the queue's depth (see the README's queue figures).
    queue_high_water: int | None = Field(None, alias="QUEUE_HIGH_WATER", ge=1)
    fetch_interval_seconds: float = Field(60, alias="FETCH_INTERVAL_SECONDS", gt=0)
    # On SIGTERM/SIGINT/SIGHUP: how long transcriptions in flight may finish before they are released.
    shutdown_grace_seconds: float = Field(20, alias="SHUTDOWN_GRACE_SECONDS", ge=0, le=3600)
    # The command line's log lines: "text" for people (the default there), "json" for machines.
    # Lambda always logs JSON.
    log_format: Literal["text", "json"] | None = Field(None, alias="LOG_FORMAT")

    @field_validator("videos_table")
    @classmethod
    def _table_name(cls, value: str) -> str:
        # Quoted as an identifier wherever it is used; this keeps it to what a person would type.
        if not re.match(VIDEOS_TABLE_PATTERN, value):
            raise ValueError("give a table or view name, or schema.name (letters, digits and underscores)")
        return value

    @field_validator("aws_endpoint_url", "queue_url", "dlq_url", "openai_base_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            parts = urlsplit(value)
            parts.port  # noqa: B018 - raises ValueError for a bad port
        except ValueError as exc:
            raise ValueError(f"not a URL ({exc})") from None
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("must be an http(s) URL with a host")
        return value

    @field_validator("language")
    @classmethod
    def _known_language(cls, value: str | None) -> str | None:
        from .adapters.backends.languages import LANGUAGE_CODES, normalize_language  # a table, no imports

        code = normalize_language(value)
        if code is not None and code not in LANGUAGE_CODES.values():
            raise ValueError(f"unknown language {value!r}: give an ISO 639-1 code Whisper knows, such as en, de or ja")
        return code

    @field_validator("keywords", mode="before")
    @classmethod
    def _keyword_list(cls, value: object) -> object:
        words = value.split(",") if isinstance(value, str) else value
        if not isinstance(words, list | tuple):
            return value
        words = tuple(str(w).strip() for w in words if str(w).strip())
        for number, word in enumerate(words, start=1):
            for character, name in _KEYWORD_FORBIDDEN.items():
                if character in word:
                    raise ValueError(
                        f"keyword {number} contains {name}: gpt-transcribe rejects a request whose keywords hold "
                        "'<', '>', a carriage return or a line feed"
                    )
        return words

    @model_validator(mode="after")
    def _english_only_model_is_asked_for_english(self) -> Settings:
        if self.transcriber == "local" and self.whisper_model in ENGLISH_ONLY_MODELS:
            if self.language not in (None, "en"):
                raise ValueError(
                    f"LANGUAGE={self.language}: WHISPER_MODEL={self.whisper_model} is English-only "
                    "(use WHISPER_MODEL=base for other languages)"
                )
            if self.task == "translate":
                raise ValueError(
                    f"TASK=translate: WHISPER_MODEL={self.whisper_model} is English-only and understands no other "
                    "language (use WHISPER_MODEL=base)"
                )
        return self

    @model_validator(mode="after")
    def _whisper_model_exists(self) -> Settings:
        # Checked here, at start, because faster-whisper takes a path it cannot find for the name of
        # a model to download, and fails with a message about the Hugging Face Hub.
        if self.transcriber == "local" and self.whisper_model not in WHISPER_MODEL_NAMES:
            path = Path(self.whisper_model).expanduser()
            if not path.is_dir():
                raise ValueError(
                    f"WHISPER_MODEL: no such directory: {self.whisper_model} (give base, tiny.en or a CTranslate2 "
                    "Whisper model directory)"
                )
            if not (path / "model.bin").is_file():
                raise ValueError(
                    f"WHISPER_MODEL: {self.whisper_model} has no model.bin: not a CTranslate2 Whisper model directory"
                )
        return self

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, /, **overrides: object) -> Settings:
        env = dict(os.environ if environ is None else environ)
        if "AWS_REGION" not in env and env.get("AWS_DEFAULT_REGION"):
            env["AWS_REGION"] = env["AWS_DEFAULT_REGION"]
        # Empty strings mean "unset", as in most shells' `FOO= command`.
        data: dict[str, object] = {k: v for k, v in env.items() if v != ""}
        data.update({k: v for k, v in overrides.items() if v is not None})
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            raise ConfigurationError(f"invalid configuration: {_problems(exc)}") from None

    def replace(self, **changes: object) -> Settings:
        """A copy with ``changes`` (field names), validated like the environment is: a bad value or an
        unknown name fails here, not later where the value is used."""
        fields = type(self).model_fields
        unknown = sorted(set(changes) - set(fields))
        if unknown:
            raise TypeError(f"Settings has no field {', '.join(unknown)}")
        # By alias, so that an error names the variable, as from_env's do.
        update = {fields[name].alias or name: value for name, value in changes.items()}
        try:
            return type(self).model_validate({**self.model_dump(by_alias=True), **update})
        except ValidationError as exc:
            raise ConfigurationError(f"invalid configuration: {_problems(exc)}") from None


def _problems(exc: ValidationError) -> str:
    """One line naming each variable and what is wrong with it (never its value: it may be a secret)."""
    problems = []
    for err in exc.errors():
        message = str(err["msg"]).removeprefix("Value error, ")
        name = str(err["loc"][0]) if err["loc"] else ""
        problems.append(f"{name}: {message}" if name and not message.startswith(name) else message)
    return "; ".join(problems)
