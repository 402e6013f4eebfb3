"""``vidscribe transcripts list`` and ``vidscribe export``: the stored transcripts, listed or written
as one file per video (to a directory or an ``s3://bucket/prefix``)."""

from __future__ import annotations

import argparse
from pathlib import Path
from urllib.parse import urlsplit

import botocore.exceptions

from ..config import Settings
from ..models import TranscriptFilter, TranscriptSummary
from ..ports import ExportTarget
from ..redaction import escape_unsafe
from .bootstrap import open_services, settings_from
from .commands import print_json
from .errors import EXIT_USAGE, CliError, one_line
from .progress import FileBar

LIST_PAGE = 500


def positive(text: str) -> int:
    """A ``--limit``: a whole number from 1."""
    if not text.isascii() or not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"not a positive whole number: {text!r}")
    return int(text)


def selection_from(args: argparse.Namespace) -> TranscriptFilter:
    return TranscriptFilter(
        language=args.language, model=args.model, since=args.since, until=args.until, without_speech=args.speech
    )


def cmd_transcripts_list(args: argparse.Namespace) -> int:
    selection = selection_from(args)
    with open_services(settings_from(args)) as services:
        rows: list[TranscriptSummary] = []
        after: str | None = None
        while (args.limit is None or len(rows) < args.limit) and (
            page := services.reports.transcript_summaries(selection, after, LIST_PAGE)
        ):
            rows.extend(page)
            after = page[-1].video_id
    rows = rows[: args.limit] if args.limit is not None else rows
    if args.json:
        print_json([row.__dict__ for row in rows])
        return 0
    if not rows:
        print("no transcripts")
        return 0
    for row in rows:
        speech = "no speech" if row.no_speech else f"{row.segments} segments"
        print(
            f"{escape_unsafe(row.video_id)}  {row.language or '-'}  {row.model}  {row.duration:.1f} s  {speech}"
            f"  {row.created_at:%Y-%m-%d %H:%M}"
        )
    return 0


def _target(out: str, settings: Settings) -> ExportTarget:
    from ..adapters.export_targets import DirectoryTarget, S3Target

    if out.startswith("s3://"):
        parts = urlsplit(out)
        if not parts.netloc:
            raise CliError(f"--out: no bucket in {out!r}: give s3://BUCKET/PREFIX", EXIT_USAGE)
        from ..adapters.media.transports.s3 import s3_client

        return S3Target(s3_client(settings, None), parts.netloc, parts.path.lstrip("/"))
    if "://" in out:
        raise CliError(f"--out: {out!r} is neither a directory nor s3://BUCKET/PREFIX", EXIT_USAGE)
    directory = Path(out)
    if directory.exists() and not directory.is_dir():
        raise CliError(f"--out: {out} is a file, not a directory", EXIT_USAGE)
    return DirectoryTarget(directory)


def cmd_export(args: argparse.Namespace) -> int:
    from ..adapters.export_targets import file_name
    from ..workflow.exporting import ExportTally, export_transcripts

    settings = settings_from(args)
    bar = FileBar("export")
    progress = ExportTally(total=0)

    def on_file(tally: ExportTally) -> None:
        nonlocal progress
        progress = tally
        bar.update(tally.done, tally.total, f"({tally.current} already current)")

    with open_services(settings) as services:
        try:
            target = _target(args.out, settings)
            tally = export_transcripts(
                services.reports, selection_from(args), args.format, target, file_name, on_file=on_file
            )
            bar.update(tally.done, tally.total, f"({tally.current} already current)", force=True)
        except (OSError, botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as exc:
            # The destination refused (no such bucket, no permission, a full disk): what was written stays.
            raise CliError(
                f"--out {args.out}: {_destination_problem(exc)}; {progress.done} files were exported before it:"
                " run the same export again to resume"
            ) from None
        finally:
            bar.done()
    if args.json:
        print_json({"out": args.out, "format": args.format, "written": tally.written, "current": tally.current})
    else:
        print(
            f"exported {tally.done} transcripts to {args.out}: {tally.written} written, {tally.current} already current"
        )
    return 0


def _destination_problem(exc: Exception) -> str:
    if isinstance(exc, botocore.exceptions.ClientError):
        error = exc.response.get("Error", {})
        return one_line(f"S3 refused: {error.get('Code', '?')}: {error.get('Message', '')}")
    if isinstance(exc, OSError) and exc.strerror:
        return one_line(f"{exc.strerror}: {exc.filename}" if exc.filename else exc.strerror)
    return one_line(str(exc))
