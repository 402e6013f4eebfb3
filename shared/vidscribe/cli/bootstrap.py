"""Starting what a command needs: the settings, a migrated database, the queues and the runtime."""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from ..adapters.postgres import migrate
from ..config import Settings
from ..ports import Store
from ..services import Services, use_services
from .progress import Progress


def settings_from(args: argparse.Namespace, **overrides: object) -> Settings:
    """The environment's settings, with ``--workers`` (where the command has it) applied."""
    return Settings.from_env(None, max_workers=getattr(args, "workers", None), **overrides)


@contextmanager
def open_services(settings: Settings) -> Iterator[Services]:
    """Services over the database (the embedded PostgreSQL when no DATABASE_URL), migrated."""
    from ..local.stack import with_database

    services = Services(with_database(settings))
    try:
        migrate(services.database)
        yield services
    finally:
        services.close()


def run_pipeline(
    settings: Settings,
    *,
    once: bool,
    total: int | None = None,
    on_ready: Callable[[Store], None] | None = None,
) -> dict[str, Any]:
    """Start what is missing (database, queues), run the handlers, and report what this run did."""
    from ..local.runtime import LocalRuntime
    from ..local.stack import with_database, with_queues

    # Metrics go to CloudWatch in AWS; locally the summary says it all.
    os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
    settings = with_database(settings)
    with with_queues(settings) as (settings, embedded_queue):
        services = Services(settings)
        try:
            migrate(services.database)
            store, reports = services.store, services.reports
            if on_ready is not None:
                on_ready(store)
            if embedded_queue:
                # A fresh local queue holds none of the messages an earlier run left behind.
                store.forget_queued()
            before = reports.status()
            since = reports.now()
            progress = Progress(reports, since, services.queue, total)
            runtime = LocalRuntime(services, on_tick=progress.tick)
            try:
                report = runtime.run(once=once)
            except KeyboardInterrupt:
                runtime.stop()
                raise
            finally:
                progress.done()
            result = reports.run_report(since)
            return {
                "transcribed": result["transcribed"],
                "without_speech": result["without_speech"],
                "skipped": before["transcripts"],
                "failed": sum(result["failed"].values()),
                "failed_by_type": result["failed"],
                "audio_seconds": round(result["audio_seconds"], 2),
                "speech_seconds": round(result["speech_seconds"], 2),
                "wall_seconds": round(report.wall_seconds, 2),
                "workers": runtime.workers,
                "max_concurrent_transcriptions": report.transcriber_max_concurrency,
                "retried_attempts": report.record_failures,
                "dead_letters": report.dead_letters,
                "backend": settings.transcriber,
            }
        finally:
            use_services(None)
            services.close()
