"""The ``vidscribe`` command line: the demo, the local runtime, and an operator's tools.

Errors go to stderr as one readable line with a non-zero exit code (2 for usage and configuration,
1 for anything else); ``--json`` output is stable and meant for scripts.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from ..errors import ConfigurationError, MalformedMessage, OperatorError, VidscribeError
from .commands import (
    cmd_db_migrate,
    cmd_demo,
    cmd_enqueue,
    cmd_failures,
    cmd_retry_failed,
    cmd_run,
    cmd_status,
    cmd_transcribe,
    cmd_transcript,
    cmd_videos_add,
    cmd_videos_import,
)
from .errors import EXIT_ERROR, EXIT_USAGE, CliError


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

    db = sub.add_parser("db", help="database maintenance").add_subparsers(
        dest="db_command", required=True, metavar="ACTION"
    )
    db.add_parser("migrate", help="create or upgrade vidscribe's tables").set_defaults(func=cmd_db_migrate)

    videos = sub.add_parser("videos", help="manage the videos table").add_subparsers(
        dest="videos_command", required=True, metavar="ACTION"
    )
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
    p.add_argument("source", help="an http(s) URL (a media file or an HLS playlist), an s3:// URL or a local file")
    p.add_argument("--format", choices=["txt", "json", "srt", "vtt"], default="txt")
    p.set_defaults(func=cmd_transcribe)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from ..observability import logger

    logger.setLevel("INFO" if args.verbose else os.environ.get("POWERTOOLS_LOG_LEVEL", "WARNING"))
    try:
        return int(args.func(args) or 0)
    except (CliError, OperatorError) as exc:
        print(f"vidscribe: {exc}", file=sys.stderr)
        return exc.code if isinstance(exc, CliError) else EXIT_ERROR
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
        import botocore.exceptions
        import psycopg2

        down = (psycopg2.Error, botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError, OSError)
        if isinstance(exc, down):
            print(f"vidscribe: {type(exc).__name__}: {str(exc).strip()}", file=sys.stderr)
            return EXIT_ERROR
        raise
