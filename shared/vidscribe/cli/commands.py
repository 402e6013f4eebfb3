"""The commands: each parses its arguments, calls the core (a use case or a report) and prints.

The decisions (what is queued, with which lease, what is given back at a stop) are the workflow's:
``vidscribe.workflow``. The read-only commands are in ``report_commands``.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from ..adapters.media.urlguard import check_url_without_dns
from ..config import Settings
from ..contract import MAX_RECEIVE_COUNT
from ..errors import UrlRejected
from ..models import VideoMessage
from ..observability import logger
from ..ports import Queue, Store
from ..redaction import escape_unsafe
from ..workflow import operations
from .bootstrap import open_services, run_pipeline, settings_from
from .errors import EXIT_USAGE, CliError, exit_code_for
from .progress import print_summary, stop_line
from .signals import stop_on_signals
from .video_rows import invalid, read_rows, validated_row


@dataclass
class Invocation:
    """What one command leaves for the end of the process, carried on its arguments (``args.invocation``)."""

    # Set when a stopped run returns while a worker is still inside a model call: the process then
    # ends with os._exit (see ``parser.console``), since a Python thread cannot be stopped.
    abandoned_workers: int = 0


def print_json(data: Any) -> None:
    print(json.dumps(data, indent=2, sort_keys=True, default=str))


def _queue_or_none(settings: Settings) -> Queue | None:
    """The work queue when QUEUE_URL is set; without it the next 'vidscribe run' picks work up."""
    if not settings.queue_url:
        return None
    from ..adapters.sqs import SqsQueue, sqs_client

    return SqsQueue(sqs_client(settings), settings.queue_url)


def _door(settings: Settings) -> Any:
    """The URL guard's checks that need no DNS, as the use cases take them."""

    def check(url: str) -> None:
        check_url_without_dns(url, settings.allow_private_urls)

    return check


def _grace_notice(busy: int, seconds: float) -> None:
    print(
        f"vidscribe: stopping: {busy} transcription{'s' if busy != 1 else ''} in flight may take up to "
        f"{seconds:g} s to finish (signal again to stop now)",
        file=sys.stderr,
    )


def _finish_run(summary: dict[str, Any], args: argparse.Namespace) -> int | None:
    """After a run that a signal stopped: the one-line summary, and its exit code (None otherwise)."""
    if not summary["stopped_by"]:
        return None
    args.invocation.abandoned_workers = summary["abandoned_workers"]
    if args.json:
        print_json(summary)
    print(stop_line(summary), file=sys.stderr)
    return exit_code_for(summary["stopped_by"])


# --- the pipeline ----------------------------------------------------------------------------------
def cmd_demo(args: argparse.Namespace) -> int:
    from ..local.media_server import MediaServer
    from ..local.samples import load_manifest, samples_dir

    # The demo's media server listens on loopback: allow it, for this command only.
    settings = settings_from(args, ALLOW_PRIVATE_URLS=True)
    manifest = load_manifest()
    with stop_on_signals() as stop, MediaServer(samples_dir()) as media:
        rows = [(s["id"], media.url(s["file"])) for s in manifest]

        def load_samples(store: Store) -> None:
            # The media server's port changes between runs: keep the sample URLs current.
            store.add_videos(rows, update_urls=True)

        print(
            f"vidscribe demo: {len(manifest)} sample videos served from {media.base_url}, "
            f"{settings.max_workers} workers, backend {settings.transcriber}",
            file=sys.stderr,
        )
        summary = run_pipeline(
            settings, once=True, total=len(manifest), on_ready=load_samples, stop_request=stop, on_grace=_grace_notice
        )
    stopped = _finish_run(summary, args)
    if stopped is not None:
        return stopped

    with open_services(settings) as services:
        transcripts = {t.video_id: t for t in services.reports.transcripts([s["id"] for s in manifest])}
    if args.json:
        print_json(
            {
                "summary": summary,
                "transcripts": [
                    {"video_id": vid, "text": t.text, "language": t.language, "duration": t.duration}
                    for vid, t in sorted(transcripts.items())
                ],
            }
        )
        return 0
    if summary["transcribed"] == 0 and summary["failed"] == 0:
        print(f"Nothing to transcribe: all {len(manifest)} sample videos already have a transcript.")
        print("(Delete .vidscribe/ to start over.)")
    print("Summary")
    print_summary(summary)
    print()
    for sample in manifest:
        t = transcripts.get(sample["id"])
        if t is None:
            print(f"{sample['id']} ({sample['file']}): no transcript — see 'vidscribe failures'")
            continue
        print(f"{sample['id']} ({sample['file']}, {t.duration:.1f} s, {t.model}):")
        print(f"  {t.text}")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    with stop_on_signals() as stop:
        summary = run_pipeline(settings_from(args), once=args.once, stop_request=stop, on_grace=_grace_notice)
    stopped = _finish_run(summary, args)
    if stopped is not None:
        return stopped
    if args.json:
        print_json(summary)
    else:
        print("Summary")
        print_summary(summary)
    return 0


# --- the database, the queues and the videos -------------------------------------------------------
def cmd_db_migrate(args: argparse.Namespace) -> int:
    from ..adapters.postgres import migrate
    from ..local.stack import with_database
    from ..services import Services

    settings = settings_from(args)
    services = Services(with_database(settings))
    try:
        services.database.check("DATABASE_URL" if settings.database_url else "the embedded PostgreSQL")
        applied = migrate(services.database)
    finally:
        services.close()
    print("applied: " + ", ".join(applied) if applied else "the database is up to date")
    return 0


def cmd_queues_create(args: argparse.Namespace) -> int:
    from ..adapters.sqs import ensure_queue_pair, sqs_client

    settings = settings_from(args)
    where = settings.aws_endpoint_url or f"SQS in {settings.aws_region}"
    logger.info("queues: creating", extra={"name": args.name, "endpoint": where})
    pair = ensure_queue_pair(
        sqs_client(settings, fail_fast=True), args.name, visibility_timeout=settings.visibility_timeout_seconds
    )
    if args.json:
        print_json(
            {
                "queue_url": pair.queue_url,
                "dlq_url": pair.dlq_url,
                "queue_arn": pair.queue_arn,
                "dlq_arn": pair.dlq_arn,
                "created": pair.created,
                "encrypted": pair.encrypted,
                "max_receive_count": MAX_RECEIVE_COUNT,
                "visibility_timeout_seconds": settings.visibility_timeout_seconds,
            }
        )
    else:
        # Ready for the shell: eval "$(vidscribe queues create)" (export them for child processes).
        print(f"QUEUE_URL={shlex.quote(pair.queue_url)}")
        print(f"DLQ_URL={shlex.quote(pair.dlq_url)}")
        state = "created" if pair.created else "already there, attributes brought up to date"
        sse = "encrypted (SQS-managed keys)" if pair.encrypted else "NOT encrypted: the endpoint refused SSE"
        print(f"vidscribe: queue pair {args.name!r} at {where}: {state}; {sse}", file=sys.stderr)
    return 0


def _refused_row(exc: operations.RefusedUrl, where: list[str]) -> CliError:
    return CliError(f"{where[exc.index]}: refused: {exc.reason}" if where else f"refused: {exc.reason}")


def cmd_videos_add(args: argparse.Namespace) -> int:
    row = validated_row(args.id, args.url, "arguments")
    settings = settings_from(args)
    with open_services(settings) as services:
        try:
            added = operations.add_videos(services.store, [row], _door(settings))
        except operations.RefusedUrl as exc:
            raise _refused_row(exc, []) from None
    print(f"added {row[0]}" if added else f"{row[0]} already exists; left unchanged")
    return 0


def cmd_videos_import(args: argparse.Namespace) -> int:
    numbered = list(read_rows(Path(args.file)))
    settings = settings_from(args)
    with open_services(settings) as services:
        try:
            added = operations.add_videos(services.store, [row for _, row in numbered], _door(settings))
        except operations.RefusedUrl as exc:
            raise _refused_row(exc, [where for where, _ in numbered]) from None
    print(f"imported {added} new videos ({len(numbered) - added} already present) from {args.file}")
    return 0


# --- the operator's use cases ----------------------------------------------------------------------
def cmd_enqueue(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    try:
        message = VideoMessage(video_id=args.id, url=args.url)
    except ValidationError as exc:
        raise CliError(invalid(exc), EXIT_USAGE) from None
    door = _door(settings)

    def guard(url: str) -> None:
        try:
            door(url)
        except UrlRejected as exc:
            raise CliError(f"refused: {exc}") from None

    with open_services(settings) as services:
        outcome = operations.enqueue_video(settings, services.store, _queue_or_none(settings), message, guard)
    video_id = message.video_id
    print(
        {
            operations.Enqueued.ALREADY_DONE: f"{video_id} already has a transcript; nothing to do",
            operations.Enqueued.NEXT_RUN: (
                f"{video_id} will be transcribed by the next 'vidscribe run' (no QUEUE_URL set)"
            ),
            operations.Enqueued.SENT: f"enqueued {video_id}",
        }[outcome]
    )
    return 0


def cmd_retry_failed(args: argparse.Namespace) -> int:
    if not args.ids and not args.all and not args.type:
        raise CliError("name the videos to retry, or use --all or --type ERROR_TYPE", EXIT_USAGE)
    settings = settings_from(args)
    queue = _queue_or_none(settings)
    with open_services(settings) as services:
        retried = operations.retry_failed(
            settings, services.store, queue, args.ids, error_type=args.type, every=args.all
        )
    where = "enqueued" if queue is not None else "will be retried by the next 'vidscribe run'"
    count = len(retried.queued)
    print(f"{count} failed video{'' if count == 1 else 's'} {where}" if count else "no failed videos to retry")
    dismiss = "'vidscribe failures dismiss" + (f" --type {args.type}'" if args.type else " ID'")
    if retried.without_video:
        n = retried.without_video
        print(
            f"{n} failure record{' names' if n == 1 else 's name'} no video (a malformed message): nothing to "
            f"retry; {dismiss} clears {'it' if n == 1 else 'them'}"
        )
    if retried.without_url:
        print(
            f"{len(retried.without_url)} failed video(s) with no url anywhere, left as they are "
            f"({', '.join(escape_unsafe(v) for v in retried.without_url[:5])}): fix their rows, or {dismiss}"
        )
    return 0


def cmd_retranscribe(args: argparse.Namespace) -> int:
    if not (args.ids or args.all or args.model or args.before):
        raise CliError("name the videos to transcribe again, or use --all, --model MODEL or --before DATE", EXIT_USAGE)
    if args.ids and args.all:
        raise CliError("give the videos' ids or --all, not both", EXIT_USAGE)
    settings = settings_from(args)
    with open_services(settings) as services:
        queued = operations.request_retranscription(
            settings, services.store, args.ids or None, model=args.model, before=args.before
        )
    count = len(queued)
    if not count:
        print("no transcribed video matches (or each is being transcribed right now)")
    else:
        print(
            f"{count} video{'' if count == 1 else 's'} queued for re-transcription; the current transcripts stay "
            "readable until the new ones are stored (the next fetcher run sends them: 'vidscribe run')"
        )
    return 0


def cmd_failures_dismiss(args: argparse.Namespace) -> int:
    if bool(args.record_ids) == bool(args.type):
        raise CliError("give the ids of the records to dismiss, or --type ERROR_TYPE (not both)", EXIT_USAGE)
    with open_services(settings_from(args)) as services:
        dismissed = operations.dismiss_failures(services.store, args.record_ids, args.type)
    if not dismissed:
        print(f"no open failure records of type {args.type}")
        return 0
    shown = ", ".join(f"#{i}" for i in dismissed[:20]) + (", ..." if len(dismissed) > 20 else "")
    print(f"dismissed {len(dismissed)} failure record{'' if len(dismissed) == 1 else 's'}: {shown}")
    return 0
