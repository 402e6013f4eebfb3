"""Wires the adapters to the settings once per process (a Lambda cold start, or the local runtime).

Each handler is built around its services (vidscribe.handlers): in Lambda those of
``environment_services()``, in the local runtime and the tests their own instance. Each adapter is
built on first use, so the fetcher never loads a model and the DLQ consumer never opens a media
session. Every adapter is typed as the port it fills.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any, TypeVar, cast

from .adapters.postgres import Database, PostgresReports, PostgresStore
from .adapters.postgres.credentials import connection_options, database_dsn
from .adapters.sqs import SqsQueue, sqs_client
from .config import Settings
from .errors import ConfigurationError
from .ports import EventPublisher, MediaSource, PartStore, PolledQueue, Reports, Store, TranscriptionBackend
from .redaction import register_settings_secrets
from .workflow import DeadLetterRecorder, Fetcher, Transcriber

T = TypeVar("T")


def read_secret(arn: str) -> str:
    """A Secrets Manager value, cached for five minutes by Powertools Parameters."""
    from aws_lambda_powertools.utilities import parameters

    return str(parameters.get_secret(arn, max_age=300))


def openai_api_key(settings: Settings) -> str | None:
    if settings.openai_api_key is not None:
        return settings.openai_api_key.get_secret_value()
    if settings.openai_api_key_secret_arn:
        return read_secret(settings.openai_api_key_secret_arn)
    return None


class Services:
    def __init__(self, settings: Settings, **adapters: Any) -> None:
        """``adapters`` (database, store, reports, queue, dlq, media, backend, events) replace the ones
        built from settings."""
        self.settings = settings
        self._built: dict[str, Any] = dict(adapters)
        self._lock = threading.RLock()
        register_settings_secrets(settings)  # no log line or error may show them

    def _once(self, name: str, build: Callable[[], T]) -> T:
        # Worker threads may ask at the same moment: build each adapter (and load the model) once.
        with self._lock:
            if name not in self._built:
                self._built[name] = build()
            return cast(T, self._built[name])

    # --- adapters ----------------------------------------------------------------------------------
    @property
    def database(self) -> Database:
        settings = self.settings
        return self._once(
            "database",
            lambda: Database(
                database_dsn(settings, read_secret),
                max_connections=settings.database_pool_size or settings.max_workers + 4,
                options=connection_options(settings),
            ),
        )

    @property
    def store(self) -> Store:
        return self._once("store", lambda: PostgresStore(self.database, videos_table=self.settings.videos_table))

    @property
    def parts(self) -> PartStore | None:
        """Where long videos' parts are kept: the PostgreSQL store (a test's own store keeps none)."""
        store = self.store
        return store if isinstance(store, PostgresStore) else None

    @property
    def reports(self) -> Reports:
        return self._once("reports", lambda: PostgresReports(self.database, videos_table=self.settings.videos_table))

    @property
    def queue(self) -> PolledQueue:
        return self._once("queue", lambda: SqsQueue(self._sqs(), _required(self.settings.queue_url, "QUEUE_URL")))

    @property
    def dlq(self) -> PolledQueue:
        return self._once("dlq", lambda: SqsQueue(self._sqs(), _required(self.settings.dlq_url, "DLQ_URL")))

    def _sqs(self) -> Any:
        return self._once("sqs", lambda: sqs_client(self.settings))

    @property
    def media(self) -> MediaSource:
        from .adapters.media import StreamingMediaSource

        return self._once("media", lambda: StreamingMediaSource(self.settings))

    @property
    def backend(self) -> TranscriptionBackend:
        from .adapters.backends import build_backend

        return self._once(
            "backend", lambda: build_backend(self.settings, openai_api_key=openai_api_key(self.settings))
        )

    @property
    def events(self) -> EventPublisher | None:
        """Where final outcomes are announced: EVENT_BUS_NAME's bus, or nowhere when it is unset."""
        bus_name = self.settings.event_bus_name
        if bus_name is None and "events" not in self._built:
            return None
        from .adapters.eventbridge import EventBridgePublisher, events_client

        return self._once("events", lambda: EventBridgePublisher(events_client(self.settings), str(bus_name)))

    def warm_up(self) -> None:
        """Build now what the transcriber's first record would: the local model, loaded once per
        process (a Lambda's init phase). The OpenAI backend waits for its first use, where a key
        that is not set yet becomes a recorded failure rather than a failed start; only its settings
        are checked (a model OpenAI shuts down is logged, KEYWORDS it would refuse raise)."""
        if self.settings.transcriber == "local":
            self.backend  # noqa: B018  (built for its side effect: the model is loaded)
        else:  # the model's shutdown warning, and the hints OpenAI would refuse, at cold start
            from .adapters.backends.openai_models import check_at_start

            check_at_start(self.settings)

    # --- the workflow, wired -----------------------------------------------------------------------
    def fetcher(self) -> Fetcher:
        return Fetcher(self.settings, self.store, self.queue)

    def transcriber(self, claimed_by: str | None = None) -> Transcriber:
        """``claimed_by``: who the claims are made as. The local runtime names its process (so that its
        claims can be given back at a stop, or after it died); None in Lambda."""
        return Transcriber(
            self.settings, self.store, self.queue, self.media, self.backend, claimed_by=claimed_by,
            events=self.events,
            parts=self.parts,
        )

    def dead_letters(self) -> DeadLetterRecorder:
        return DeadLetterRecorder(self.store, self.parts, events=self.events)

    def close(self) -> None:
        with self._lock:
            database = self._built.pop("database", None)
        if database is not None:
            database.close()


def _required(value: str | None, name: str) -> str:
    if not value:
        raise ConfigurationError(f"{name} is not set")
    return value


@functools.cache
def environment_services() -> Services:
    """A Lambda execution environment's services, read from its variables on first use (its cold
    start) and kept for its life. Only the functions' handlers (functions/*/app.py) ask for these;
    everything else is given its Services."""
    return Services(Settings.from_env())
