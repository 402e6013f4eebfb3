"""Starting what a command needs: the settings, a migrated database, the queues and the runtime.

Configuration mistakes surface here, before any work starts, as one line naming the variable to fix:
the first connection to PostgreSQL is tried once (``Database.check``), VIDEOS_TABLE must have the
columns vidscribe reads, and QUEUE_URL/DLQ_URL must be a queue pair with the right redrive.
"""

from __future__ import annotations

import argparse
import os
import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from ..adapters.postgres import PostgresStore, migrate
from ..config import Settings
from ..observability import logger
from ..ports import Reports, Store
from ..redaction import register_settings_secrets
from ..services import Services
from .errors import CliError
from .progress import Progress


def settings_from(args: argparse.Namespace, **overrides: object) -> Settings:
    """The environment's settings, with ``--workers`` (where the command has it) applied."""
    settings = Settings.from_env(None, max_workers=getattr(args, "workers", None), **overrides)
    register_settings_secrets(settings)
    return settings


def _open(services: Services, embedded: bool) -> None:
    """Connect (once, failing fast), migrate and check the videos table."""
    settings = services.settings
    source = "the embedded PostgreSQL" if embedded else "DATABASE_URL"
    services.database.check(source)
    logger.info("database: connected", extra={"database": services.database.describe(), "source": source})
    applied = migrate(services.database)
    logger.info("database: schema " + ("migrated" if applied else "up to date"), extra={"applied": applied})
    PostgresStore(services.database, videos_table=settings.videos_table).check_videos_table()
    logger.info("database: videos table checked", extra={"videos_table": settings.videos_table})


@contextmanager
def open_services(settings: Settings) -> Iterator[Services]:
    """Services over the database (the embedded PostgreSQL when no DATABASE_URL), checked and migrated."""
    from ..local.stack import with_database

    embedded = settings.database_url is None and not settings.database_secret_arn
    services = Services(with_database(settings))
    try:
        _open(services, embedded)
        yield services
    finally:
        services.close()


def check_queues(settings: Settings) -> None:
    """QUEUE_URL and DLQ_URL are a reachable queue pair with the one-retry redrive (fails fast)."""
    from ..adapters.sqs import check_queue_pair, sqs_client

    check_queue_pair(sqs_client(settings, fail_fast=True), settings)
    logger.info("queues: checked", extra={"queue_url": settings.queue_url, "dlq_url": settings.dlq_url})


def run_pipeline(
    settings: Settings,
    *,
    once: bool,
    total: int | None = None,
    on_ready: Callable[[Store], None] | None = None,
    stop_request: Any = None,
    on_grace: Callable[[int, float], None] | None = None,
) -> dict[str, Any]:
    """Start what is missing (database, queues), run the handlers, and report what this run did.
    Runs on one database share one queue (``one_queue_per_database``)."""
    from ..local.stack import with_database

    # Metrics go to CloudWatch in AWS; locally the summary says it all.
    os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
    if settings.transcriber == "openai":  # before anything starts: a model's shutdown, hints OpenAI refuses
        from ..adapters.backends.openai_models import check_at_start

        check_at_start(settings)
    embedded_db = settings.database_url is None and not settings.database_secret_arn
    settings = with_database(settings)
    # The database first: a wrong DATABASE_URL should not wait for an SQS endpoint to start.
    probe = Services(settings)
    try:
        _open(probe, embedded_db)
        with one_queue_per_database(probe):
            return _run(settings, once, total, on_ready, stop_request, on_grace)
    finally:
        probe.close()


@contextmanager
def one_queue_per_database(services: Services) -> Iterator[None]:
    """Hold this run's queue lock for the block; CliError naming the other run if one is active on
    this database with another queue (the embedded queue is always another: it is the run's own)."""
    from ..adapters.postgres.run_lock import RunLock

    settings = services.settings
    queue = settings.queue_url or f"the embedded queue of pid {os.getpid()} on {socket.gethostname()}"
    lock = RunLock(services.database)
    holder = lock.acquire(queue)
    if holder is not None:
        raise CliError(
            f"another 'vidscribe run' is active on this database with another queue ({holder}): stop it, or "
            "give both the same QUEUE_URL and DLQ_URL. Runs with queues of their own would each send the "
            "other's queued videos to their own queue, again and again"
        )
    try:
        yield
    finally:
        lock.release()


def _run(
    settings: Settings,
    once: bool,
    total: int | None,
    on_ready: Callable[[Store], None] | None,
    stop_request: Any,
    on_grace: Callable[[int, float], None] | None,
) -> dict[str, Any]:
    """``run_pipeline`` once the database is checked and this run holds its lock."""
    from ..local.runtime import LocalRuntime
    from ..local.stack import with_queues

    if settings.queue_url and settings.dlq_url:
        check_queues(settings)
    elif settings.aws_endpoint_url:
        logger.warning(
            "AWS_ENDPOINT_URL is set but QUEUE_URL is not: using the embedded queue "
            "('vidscribe queues create' makes a queue pair there)"
        )
    with with_queues(settings) as (settings, embedded_queue):
        which = "queues: embedded" if embedded_queue else "queues: QUEUE_URL"
        logger.info(which, extra={"queue_url": settings.queue_url})
        services = Services(settings)
        try:
            store, reports = services.store, services.reports
            if on_ready is not None:
                on_ready(store)
            before = reports.status()
            runtime = LocalRuntime(services, stop_request=stop_request, on_grace=on_grace)
            progress = Progress(runtime.tally, services.queue, total)
            runtime.on_tick = progress.tick
            try:
                report = runtime.run(once=once)
            finally:
                progress.done()
            tally = report.tally
            released = report.released
            return {
                "queued": _queued_after_stop(reports) if report.stopped_by else None,
                "transcribed": tally.transcribed,
                "without_speech": tally.without_speech,
                "skipped": before["transcripts"],
                "failed": tally.failed,
                "failed_by_type": dict(sorted(tally.failed_by_type.items())),
                "audio_seconds": round(tally.audio_seconds, 2),
                "speech_seconds": round(tally.speech_seconds, 2),
                "wall_seconds": round(report.wall_seconds, 2),
                "workers": runtime.workers,
                "max_concurrent_transcriptions": report.transcriber_max_concurrency,
                "retried_attempts": tally.retried,
                "dead_letters": report.dead_letters,
                "backend": settings.transcriber,
                "stopped_by": report.stopped_by,
                "released": released.videos if released else 0,
                "abandoned_workers": report.abandoned_threads,
            }
        finally:
            services.close()


def _queued_after_stop(reports: Reports) -> int | None:
    """The videos a stopped run leaves queued for the next one (None: the database cannot say now)."""
    try:
        return reports.queued_jobs()
    except Exception as exc:  # the stop line is not worth failing the stop
        logger.warning("could not count the queued videos", extra={"error": str(exc)})
        return None
