"""The ``vidscribe`` command line: the demo, the local runtime, and an operator's tools.

Errors go to stderr as one readable line with a non-zero exit code (2 for usage and configuration,
1 for anything else); ``--json`` output is stable and meant for scripts.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from .config import Settings
from .errors import ConfigurationError, MalformedMessage, VidscribeError
from .models import VideoMessage

EXIT_ERROR = 1
EXIT_USAGE = 2


class CliError(Exception):
    def __init__(self, message: str, code: int = EXIT_ERROR) -> None:
        super().__init__(message)
        self.code = code


# --- plumbing --------------------------------------------------------------------------------------
def _settings(args: argparse.Namespace, **overrides: object) -> Settings:
    workers = getattr(args, "workers", None)
    return Settings.from_env(max_workers=workers, **overrides)


@contextmanager
def _store(settings: Settings) -> Iterator[Any]:
    """The store for settings (the embedded PostgreSQL when no DATABASE_URL), migrated."""
    from .local.stack import with_database
    from .services import Services

    services = Services(with_database(settings))
    try:
        services.store.migrate()
        yield services.store
    finally:
        services.close()


def _print_json(data: Any) -> None:
    print(json.dumps(data, indent=2, sort_keys=True, default=str))


class Progress:
    """One status line on stderr while a run works: rewritten in place on a terminal."""

    def __init__(self, store: Any, since: Any, queue: Any, total: int | None) -> None:
        self.store, self.since, self.queue, self.total = store, since, queue, total
        self.tty = sys.stderr.isatty()
        self.last_line = ""
        self.last_print = 0.0

    def tick(self) -> None:
        now = time.monotonic()
        if not self.tty and now - self.last_print < 5:
            return
        try:
            report = self.store.run_report(self.since)
            visible, in_flight = self.queue.depth()
        except Exception:  # a progress line is never worth failing the run
            return
        failed = sum(report["failed"].values())
        of_total = f"/{self.total}" if self.total is not None else ""
        line = (
            f"transcribed {report['transcribed']}{of_total} · failed {failed} · "
            f"queued {visible} · in flight {in_flight} · audio {report['audio_seconds']:.0f} s"
        )
        if line != self.last_line or not self.tty:
            if self.tty:
                sys.stderr.write("\r\033[K" + line)
            else:
                sys.stderr.write(line + "\n")
            sys.stderr.flush()
            self.last_line, self.last_print = line, now

    def done(self) -> None:
        if self.tty and self.last_line:
            sys.stderr.write("\n")


def _run_pipeline(settings: Settings, *, once: bool, total: int | None = None, on_ready: Any = None) -> dict[str, Any]:
    """Start what is missing (database, queues), run the handlers, and report what this run did."""
    from .local.runtime import LocalRuntime
    from .local.stack import with_database, with_queues
    from .services import Services, use_services

    # Metrics go to CloudWatch in AWS; locally the summary says it all.
    os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
    settings = with_database(settings)
    with with_queues(settings) as (settings, embedded_queue):
        services = Services(settings)
        try:
            store = services.store
            store.migrate()
            if on_ready is not None:
                on_ready(store)
            if embedded_queue:
                # A fresh local queue holds none of the messages an earlier run left behind.
                store.forget_queued()
            before = store.status()
            since = store.now()
            progress = Progress(store, since, services.queue, total)
            runtime = LocalRuntime(services, on_tick=progress.tick)
            try:
                report = runtime.run(once=once)
            except KeyboardInterrupt:
                runtime.stop()
                raise
            finally:
                progress.done()
            result = store.run_report(since)
            return {
                "transcribed": result["transcribed"],
                "skipped": before["transcripts"],
                "failed": sum(result["failed"].values()),
                "failed_by_type": result["failed"],
                "audio_seconds": round(result["audio_seconds"], 2),
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


def _print_summary(summary: dict[str, Any]) -> None:
    print(f"  transcribed   {summary['transcribed']}")
    print(f"  skipped       {summary['skipped']}  (already had a transcript)")
    failed = summary["failed"]
    detail = ", ".join(f"{k}: {v}" for k, v in summary["failed_by_type"].items())
    print(f"  failed        {failed}" + (f"  ({detail}; see 'vidscribe failures')" if failed else ""))
    print(f"  audio         {summary['audio_seconds']:.1f} s")
    print(f"  wall time     {summary['wall_seconds']:.1f} s with {summary['workers']} workers")


# --- commands --------------------------------------------------------------------------------------
def cmd_demo(args: argparse.Namespace) -> int:
    from .local.media_server import MediaServer
    from .samples import load_manifest, samples_dir

    # The demo's media server listens on loopback: allow it, for this command only.
    settings = _settings(args, ALLOW_PRIVATE_URLS=True)
    manifest = load_manifest()
    with MediaServer(samples_dir()) as media:
        rows = [(s["id"], media.url(s["file"])) for s in manifest]

        def load_samples(store: Any) -> None:
            # The media server's port changes between runs: keep the sample URLs current.
            store.add_videos(rows, update_urls=True)

        print(
            f"vidscribe demo: {len(manifest)} sample videos served from {media.base_url}, "
            f"{settings.max_workers} workers, backend {settings.transcriber}",
            file=sys.stderr,
        )
        summary = _run_pipeline(settings, once=True, total=len(manifest), on_ready=load_samples)

    with _store(settings) as store:
        transcripts = {t.video_id: t for t in store.transcripts([s["id"] for s in manifest])}
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
    _print_summary(summary)
    print()
    for sample in manifest:
        t = transcripts.get(sample["id"])
        if t is None:
            print(f"{sample['id']} ({sample['file']}): no transcript — see 'vidscribe failures'")
            continue
        print(f"{sample['id']} ({sample['file']}, {t.duration:.1f} s, {t.model}):")
        print(f"  {t.text}")
    return 0


def cmd_db_migrate(args: argparse.Namespace) -> int:
    from .local.stack import with_database
    from .services import Services

    services = Services(with_database(_settings(args)))
    try:
        applied = services.store.migrate()
    finally:
        services.close()
    print("applied: " + ", ".join(applied) if applied else "the database is up to date")
    return 0


def _invalid(exc: ValidationError) -> str:
    first = exc.errors()[0]
    return f"invalid video: {'.'.join(str(p) for p in first['loc']) or 'value'}: {first['msg']}"


def _validated_row(video_id: Any, url: Any, where: str) -> tuple[str, str]:
    try:
        message = VideoMessage.model_validate({"video_id": video_id, "url": url}, strict=True)
    except ValidationError as exc:
        raise CliError(f"{where}: {_invalid(exc)}") from None
    if not message.url:
        raise CliError(f"{where}: the url is missing")
    return message.video_id, message.url


def cmd_videos_add(args: argparse.Namespace) -> int:
    row = _validated_row(args.id, args.url, "arguments")
    with _store(_settings(args)) as store:
        added = store.add_videos([row])
    print(f"added {row[0]}" if added else f"{row[0]} already exists; left unchanged")
    return 0


def _read_rows(path: Path) -> Iterator[tuple[str, str]]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise CliError(f"cannot read {path}: {exc.strerror}") from None
    first = next((line for line in text.splitlines() if line.strip()), "")
    if first.lstrip().startswith("{"):
        for number, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                data = json.loads(line)
            except ValueError as exc:
                raise CliError(f"{path}:{number}: not JSON: {exc}") from None
            if not isinstance(data, dict):
                raise CliError(f"{path}:{number}: expected an object with id and url")
            yield _validated_row(data.get("id", data.get("video_id")), data.get("url"), f"{path}:{number}")
        return
    reader = csv.DictReader(text.splitlines())
    if not reader.fieldnames or not {"id", "url"} <= {f.strip() for f in reader.fieldnames}:
        raise CliError(f"{path}: expected a CSV header 'id,url' or JSON lines with id and url")
    for number, row in enumerate(reader, 2):
        row = {k.strip(): (v or "").strip() for k, v in row.items() if k}
        yield _validated_row(row.get("id"), row.get("url"), f"{path}:{number}")


def cmd_videos_import(args: argparse.Namespace) -> int:
    rows = list(_read_rows(Path(args.file)))
    with _store(_settings(args)) as store:
        added = store.add_videos(rows)
    print(f"imported {added} new videos ({len(rows) - added} already present) from {args.file}")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    settings = _settings(args)
    summary = _run_pipeline(settings, once=args.once)
    if args.json:
        _print_json(summary)
    else:
        print("Summary")
        _print_summary(summary)
    return 0


def _guard(url: str, settings: Settings) -> None:
    from .urlguard import check_url

    try:
        check_url(url, settings.allow_private_urls)
    except VidscribeError as exc:
        raise CliError(f"refused: {exc}") from None


def cmd_enqueue(args: argparse.Namespace) -> int:
    settings = _settings(args)
    try:
        message = VideoMessage(video_id=args.id, url=args.url)
    except ValidationError as exc:
        raise CliError(_invalid(exc), EXIT_USAGE) from None
    with _store(settings) as store:
        url = message.url or store.video_url(message.video_id)
        if url is None:
            raise CliError(f"video {message.video_id!r} is not in the videos table: give its --url")
        _guard(url, settings)
        if store.has_transcript(message.video_id):
            print(f"{message.video_id} already has a transcript; nothing to do")
            return 0
        if not settings.queue_url:
            # No queue to send to: the next 'vidscribe run' picks the video up.
            store.mark_queued(message.video_id, url, 0)
            print(f"{message.video_id} will be transcribed by the next 'vidscribe run' (no QUEUE_URL set)")
            return 0
        from .queue import SqsQueue, sqs_client

        store.mark_queued(message.video_id, url, settings.queued_lease_seconds)
        SqsQueue(sqs_client(settings), settings.queue_url).send([VideoMessage(video_id=message.video_id, url=url).body()])
    print(f"enqueued {message.video_id}")
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    with _store(_settings(args)) as store:
        status = store.status()
    if args.json:
        _print_json(status)
        return 0
    print(f"videos          {status['videos']}  ({status['untranscribed']} without a transcript)")
    print(f"transcripts     {status['transcripts']}")
    for state, info in status["jobs"].items():
        stale = f"  ({info['lease_expired']} past their lease)" if info["lease_expired"] and state in ("queued", "processing") else ""
        print(f"{state:<15} {info['count']}{stale}")
    oldest = status["oldest_in_flight"]
    if oldest:
        print(f"oldest in flight: {oldest['video_id']} ({oldest['state']} since {oldest['since']}, attempts {oldest['attempts']})")
    if status["open_failures"]:
        print("open failures:  " + ", ".join(f"{k} {v}" for k, v in status["open_failures"].items()))
    return 0


def cmd_failures(args: argparse.Namespace) -> int:
    with _store(_settings(args)) as store:
        records = store.failures(include_resolved=args.all)
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
        print(f"#{r.id}  {r.video_id or '(no video id)'}  {r.error_type}  attempts {r.attempts}  {r.failed_at:%Y-%m-%d %H:%M:%S}{resolved}")
        print(f"      {r.message}")
    return 0


def cmd_retry_failed(args: argparse.Namespace) -> int:
    if not args.ids and not args.all and not args.type:
        raise CliError("name the videos to retry, or use --all or --type ERROR_TYPE", EXIT_USAGE)
    settings = _settings(args)
    with _store(settings) as store:
        failed = dict(store.failed_video_ids(args.type))
        wanted = list(failed) if (args.all or args.type) and not args.ids else args.ids
        unknown = [v for v in wanted if v not in failed]
        if unknown:
            raise CliError(f"no open failure for: {', '.join(unknown)}")
        bodies = []
        for video_id in wanted:
            url = failed[video_id] or store.video_url(video_id)
            # The failure record stays open until the retry succeeds.
            store.mark_queued(video_id, url, settings.queued_lease_seconds if settings.queue_url else 0)
            bodies.append(VideoMessage(video_id=video_id, url=url).body())
        if settings.queue_url and bodies:
            from .queue import SqsQueue, sqs_client

            SqsQueue(sqs_client(settings), settings.queue_url).send(bodies)
    where = "enqueued" if settings.queue_url else "will be retried by the next 'vidscribe run'"
    print(f"{len(wanted)} failed videos {where}" if wanted else "no failed videos to retry")
    return 0


def cmd_transcript(args: argparse.Namespace) -> int:
    from .export import render

    with _store(_settings(args)) as store:
        stored = store.transcript(args.id)
    if stored is None:
        raise CliError(f"no transcript for {args.id!r}")
    sys.stdout.write(_ensure_newline(render(stored, args.format)))
    return 0


def cmd_transcribe(args: argparse.Namespace) -> int:
    from .backends import build_backend
    from .export import render
    from .media import HttpMediaSource, open_local_audio
    from .services import openai_api_key

    settings = _settings(args)
    source = args.source
    if source.startswith(("http://", "https://")):
        audio = HttpMediaSource(settings).fetch_audio(source)
    elif "://" in source:
        raise CliError(f"unsupported source {source!r}: give an http(s) URL or a local file path", EXIT_USAGE)
    else:
        path = Path(source)
        if not path.is_file():
            raise CliError(f"no such file: {source}")
        audio = open_local_audio(path, settings.max_duration_seconds)
    transcript = build_backend(settings, openai_api_key=openai_api_key(settings)).transcribe(audio)
    sys.stdout.write(_ensure_newline(render(transcript, args.format)))
    return 0


def _ensure_newline(text: str) -> str:
    return text if text.endswith("\n") else text + "\n"


# --- parser ----------------------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="vidscribe",
        description="Stream videos from their URLs and transcribe their audio. Configuration comes from "
        "environment variables (see the README); without DATABASE_URL and QUEUE_URL an embedded "
        "PostgreSQL and a local SQS endpoint are started.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log every step as JSON on stderr")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("demo", help="transcribe the bundled sample videos with the local model")
    p.add_argument("--workers", type=int, help="concurrent transcriptions (default MAX_WORKERS)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_demo)

    db = sub.add_parser("db", help="database maintenance").add_subparsers(dest="db_command", required=True, metavar="ACTION")
    db.add_parser("migrate", help="create or upgrade vidscribe's tables").set_defaults(func=cmd_db_migrate)

    videos = sub.add_parser("videos", help="manage the videos table").add_subparsers(dest="videos_command", required=True, metavar="ACTION")
    p = videos.add_parser("add", help="add one video")
    p.add_argument("id")
    p.add_argument("url")
    p.set_defaults(func=cmd_videos_add)
    p = videos.add_parser("import", help="add videos from a CSV file (header id,url) or JSON lines")
    p.add_argument("file")
    p.set_defaults(func=cmd_videos_import)

    p = sub.add_parser("run", help="fetch, transcribe and record failures")
    p.add_argument("--once", action="store_true", help="stop when the backlog is empty")
    p.add_argument("--workers", type=int, help="concurrent transcriptions (default MAX_WORKERS)")
    p.add_argument("--json", action="store_true", help="machine-readable summary")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("enqueue", help="queue one video by hand")
    p.add_argument("id")
    p.add_argument("--url", help="needed when the video is not in the videos table")
    p.set_defaults(func=cmd_enqueue)

    p = sub.add_parser("status", help="counts by state and the oldest in-flight video")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_status)

    p = sub.add_parser("failures", help="the failure records")
    p.add_argument("--all", action="store_true", help="include resolved records")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_failures)

    p = sub.add_parser("retry-failed", help="queue failed videos again")
    p.add_argument("ids", nargs="*", metavar="ID")
    p.add_argument("--all", action="store_true", help="every video with an open failure record")
    p.add_argument("--type", metavar="ERROR_TYPE", help="only failures of this error type")
    p.set_defaults(func=cmd_retry_failed)

    p = sub.add_parser("transcript", help="print a stored transcript")
    p.add_argument("id")
    p.add_argument("--format", choices=["txt", "json", "srt", "vtt"], default="txt")
    p.set_defaults(func=cmd_transcript)

    p = sub.add_parser("transcribe", help="transcribe one URL or local file, without the database")
    p.add_argument("source", help="an http(s) URL or a local file")
    p.add_argument("--format", choices=["txt", "json", "srt", "vtt"], default="txt")
    p.set_defaults(func=cmd_transcribe)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from .observability import logger

    logger.setLevel("INFO" if args.verbose else os.environ.get("POWERTOOLS_LOG_LEVEL", "WARNING"))
    try:
        return int(args.func(args) or 0)
    except CliError as exc:
        print(f"vidscribe: {exc}", file=sys.stderr)
        return exc.code
    except ConfigurationError as exc:
        print(f"vidscribe: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except (VidscribeError, MalformedMessage) as exc:
        print(f"vidscribe: {exc.error_type}: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("vidscribe: interrupted; queued work resumes on the next run", file=sys.stderr)
        return 130
    except Exception as exc:  # a database or queue that is down: one line, not a stack trace
        import psycopg2
        import botocore.exceptions

        if isinstance(exc, (psycopg2.Error, botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError, OSError)):
            print(f"vidscribe: {type(exc).__name__}: {str(exc).strip()}", file=sys.stderr)
            return EXIT_ERROR
        raise


if __name__ == "__main__":
    sys.exit(main())
