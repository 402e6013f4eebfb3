"""The commands: each parses its arguments, calls the core (a use case or a report) and prints.

The decisions (what is queued, with which lease) are the workflow's: ``vidscribe.workflow``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from ..adapters.postgres import migrate
from ..config import Settings
from ..errors import UrlRejected
from ..models import VideoMessage
from ..ports import Queue, Store
from ..workflow import operations
from .bootstrap import open_services, run_pipeline, settings_from
from .errors import EXIT_USAGE, CliError
from .progress import print_summary
from .video_rows import invalid, read_rows, validated_row


def _print_json(data: Any) -> None:
    print(json.dumps(data, indent=2, sort_keys=True, default=str))


def _ensure_newline(text: str) -> str:
    return text if text.endswith("\n") else text + "\n"


def _queue_or_none(settings: Settings) -> Queue | None:
    """The work queue when QUEUE_URL is set; without it the next 'vidscribe run' picks work up."""
    if not settings.queue_url:
        return None
    from ..adapters.sqs import SqsQueue, sqs_client

    return SqsQueue(sqs_client(settings), settings.queue_url)


# --- the pipeline ----------------------------------------------------------------------------------
def cmd_demo(args: argparse.Namespace) -> int:
    from ..local.media_server import MediaServer
    from ..local.samples import load_manifest, samples_dir

    # The demo's media server listens on loopback: allow it, for this command only.
    settings = settings_from(args, ALLOW_PRIVATE_URLS=True)
    manifest = load_manifest()
    with MediaServer(samples_dir()) as media:
        rows = [(s["id"], media.url(s["file"])) for s in manifest]

        def load_samples(store: Store) -> None:
            # The media server's port changes between runs: keep the sample URLs current.
            store.add_videos(rows, update_urls=True)

        print(
            f"vidscribe demo: {len(manifest)} sample videos served from {media.base_url}, "
            f"{settings.max_workers} workers, backend {settings.transcriber}",
            file=sys.stderr,
        )
        summary = run_pipeline(settings, once=True, total=len(manifest), on_ready=load_samples)

    with open_services(settings) as services:
        transcripts = {t.video_id: t for t in services.reports.transcripts([s["id"] for s in manifest])}
    if args.json:
        _print_json(
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
    summary = run_pipeline(settings_from(args), once=args.once)
    if args.json:
        _print_json(summary)
    else:
        print("Summary")
        print_summary(summary)
    return 0


# --- the database and the videos -------------------------------------------------------------------
def cmd_db_migrate(args: argparse.Namespace) -> int:
    from ..local.stack import with_database
    from ..services import Services

    services = Services(with_database(settings_from(args)))
    try:
        applied = migrate(services.database)
    finally:
        services.close()
    print("applied: " + ", ".join(applied) if applied else "the database is up to date")
    return 0


def cmd_videos_add(args: argparse.Namespace) -> int:
    row = validated_row(args.id, args.url, "arguments")
    with open_services(settings_from(args)) as services:
        added = services.store.add_videos([row])
    print(f"added {row[0]}" if added else f"{row[0]} already exists; left unchanged")
    return 0


def cmd_videos_import(args: argparse.Namespace) -> int:
    rows = list(read_rows(Path(args.file)))
    with open_services(settings_from(args)) as services:
        added = services.store.add_videos(rows)
    print(f"imported {added} new videos ({len(rows) - added} already present) from {args.file}")
    return 0


# --- the operator's use cases ----------------------------------------------------------------------
def cmd_enqueue(args: argparse.Namespace) -> int:
    from ..adapters.media.urlguard import check_url

    settings = settings_from(args)
    try:
        message = VideoMessage(video_id=args.id, url=args.url)
    except ValidationError as exc:
        raise CliError(invalid(exc), EXIT_USAGE) from None

    def guard(url: str) -> None:
        try:
            check_url(url, settings.allow_private_urls)
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
        wanted = operations.retry_failed(
            settings, services.store, queue, args.ids, error_type=args.type, every=args.all
        )
    where = "enqueued" if queue is not None else "will be retried by the next 'vidscribe run'"
    print(f"{len(wanted)} failed videos {where}" if wanted else "no failed videos to retry")
    return 0


# --- reports ---------------------------------------------------------------------------------------
def cmd_status(args: argparse.Namespace) -> int:
    with open_services(settings_from(args)) as services:
        status = services.reports.status()
    if args.json:
        _print_json(status)
        return 0
    print(f"videos          {status['videos']}  ({status['untranscribed']} without a transcript)")
    print(f"transcripts     {status['transcripts']}")
    for state, info in status["jobs"].items():
        in_flight = state in ("queued", "processing")
        stale = f"  ({info['lease_expired']} past their lease)" if info["lease_expired"] and in_flight else ""
        print(f"{state:<15} {info['count']}{stale}")
    oldest = status["oldest_in_flight"]
    if oldest:
        print(
            f"oldest in flight: {oldest['video_id']} ({oldest['state']} since {oldest['since']}, "
            f"attempts {oldest['attempts']})"
        )
    if status["open_failures"]:
        print("open failures:  " + ", ".join(f"{k} {v}" for k, v in status["open_failures"].items()))
    return 0


def cmd_failures(args: argparse.Namespace) -> int:
    with open_services(settings_from(args)) as services:
        records = services.reports.failures(include_resolved=args.all)
    if args.json:
        _print_json(
            [
                {
                    "id": r.id,
                    "video_id": r.video_id,
                    "error_type": r.error_type,
                    "message": r.message,
                    "attempts": r.attempts,
                    "failed_at": r.failed_at.isoformat(),
                    "resolved_at": r.resolved_at.isoformat() if r.resolved_at else None,
                    "original_message": r.original_message,
                }
                for r in records
            ]
        )
        return 0
    if not records:
        print("no failures")
        return 0
    for r in records:
        resolved = f"  [resolved {r.resolved_at:%Y-%m-%d %H:%M}]" if r.resolved_at else ""
        print(
            f"#{r.id}  {r.video_id or '(no video id)'}  {r.error_type}  attempts {r.attempts}  "
            f"{r.failed_at:%Y-%m-%d %H:%M:%S}{resolved}"
        )
        print(f"      {r.message}")
    return 0


def cmd_transcript(args: argparse.Namespace) -> int:
    from ..export import render

    with open_services(settings_from(args)) as services:
        stored = services.reports.transcript(args.id)
    if stored is None:
        raise CliError(f"no transcript for {args.id!r}")
    sys.stdout.write(_ensure_newline(render(stored, args.format)))
    return 0


def cmd_transcribe(args: argparse.Namespace) -> int:
    from ..adapters.backends import build_backend
    from ..adapters.media import StreamingMediaSource, open_local_audio
    from ..export import render
    from ..services import openai_api_key

    settings = settings_from(args)
    source = args.source
    if source.startswith(("http://", "https://", "s3://")):
        audio = StreamingMediaSource(settings).fetch_audio(source)
    elif "://" in source:
        raise CliError(
            f"unsupported source {source!r}: give an http(s) or s3:// URL or a local file path", EXIT_USAGE
        )
    else:
        path = Path(source)
        if not path.is_file():
            raise CliError(f"no such file: {source}")
        audio = open_local_audio(path, settings.max_duration_seconds)
    transcript = build_backend(settings, openai_api_key=openai_api_key(settings)).transcribe(audio)
    sys.stdout.write(_ensure_newline(render(transcript, args.format)))
    return 0
