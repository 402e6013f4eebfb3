"""The ``vidscribe`` command line: the demo, the local runtime, and an operator's tools.

Errors go to stderr as one readable line, scrubbed of secrets, with a non-zero exit code (see
``errors``); ``--json`` output is stable and meant for scripts. ``-v`` (before or after the command)
logs every step; the log lines are plain text for people unless ``LOG_FORMAT=json``.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import os
import signal
import sys
from collections.abc import Callable, Sequence
from typing import Protocol

from ..config import Settings
from ..errors import ConfigurationError, OperatorError, VidscribeError
from ..observability import configure_logging
from ..redaction import scrub
from ..workflow.operations import UnknownErrorType
from . import commands
from .commands import (
    cmd_db_migrate,
    cmd_demo,
    cmd_enqueue,
    cmd_failures_dismiss,
    cmd_queues_create,
    cmd_retry_failed,
    cmd_run,
    cmd_videos_add,
    cmd_videos_import,
)
from .errors import EXIT_ERROR, EXIT_SIGNAL_BASE, EXIT_USAGE, CliError, describe_service_error
from .export_commands import cmd_export, cmd_transcripts_list, positive
from .report_commands import cmd_failures, cmd_status, cmd_transcribe, cmd_transcript
from .search_command import add_search_command, since_moment
from .serve_command import cmd_serve


class _AddCommand(Protocol):
    def __call__(
        self, subparsers: argparse._SubParsersAction[argparse.ArgumentParser], name: str, help: str
    ) -> argparse.ArgumentParser: ...


def _add_setup_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser], add: _AddCommand) -> None:
    """demo, and what sets a deployment up: db, queues, videos."""
    p = add(sub, "demo", help="transcribe the bundled sample videos with the local model")
    p.add_argument("--workers", type=int, help="concurrent transcriptions (default MAX_WORKERS)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_demo)

    db = add(sub, "db", help="database maintenance").add_subparsers(dest="db_command", required=True, metavar="ACTION")
    add(db, "migrate", help="create or upgrade vidscribe's tables").set_defaults(func=cmd_db_migrate)

    queues = add(sub, "queues", help="the SQS queue pair").add_subparsers(
        dest="queues_command", required=True, metavar="ACTION"
    )
    p = add(queues, "create", help="create the queue and its dead-letter queue where AWS_ENDPOINT_URL points")
    p.add_argument("--name", default="vidscribe", help="the main queue's name (the DLQ is NAME-dlq)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_queues_create)

    videos = add(sub, "videos", help="manage the videos table").add_subparsers(
        dest="videos_command", required=True, metavar="ACTION"
    )
    p = add(videos, "add", help="add one video")
    p.add_argument("id")
    p.add_argument("url")
    p.set_defaults(func=cmd_videos_add)
    p = add(videos, "import", help="add videos from a CSV file (header id,url) or JSON lines")
    p.add_argument("file")
    p.set_defaults(func=cmd_videos_import)


def build_parser() -> argparse.ArgumentParser:
    # -v is accepted before the command and after it: every subcommand has it too, with a default
    # that does not override the top-level one.
    verbose = argparse.ArgumentParser(add_help=False)
    verbose.add_argument(
        "-v", "--verbose", action="store_true", default=argparse.SUPPRESS, help="log every step on stderr"
    )
    parser = argparse.ArgumentParser(
        prog="vidscribe",
        description="Stream videos from their URLs and transcribe their audio. Configuration comes from "
        "environment variables (see the README); without DATABASE_URL and QUEUE_URL an embedded "
        "PostgreSQL and a local SQS endpoint are started.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", default=False, help="log every step on stderr")
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(
        subparsers: argparse._SubParsersAction[argparse.ArgumentParser], name: str, help: str
    ) -> argparse.ArgumentParser:
        return subparsers.add_parser(name, parents=[verbose], help=help)

    _add_setup_commands(sub, add)

    p = add(sub, "run", help="fetch, transcribe and record failures")
    p.add_argument("--once", action="store_true", help="stop when the backlog is empty")
    p.add_argument("--workers", type=int, help="concurrent transcriptions (default MAX_WORKERS)")
    p.add_argument("--json", action="store_true", help="machine-readable summary")
    p.set_defaults(func=cmd_run)

    p = add(sub, "enqueue", help="queue one video by hand")
    p.add_argument("id")
    p.add_argument("--url", help="needed when the video is not in the videos table")
    p.set_defaults(func=cmd_enqueue)

    p = add(sub, "status", help="counts by state and the oldest in-flight video")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_status)

    p = add(sub, "failures", help="the failure records (and 'failures dismiss')")
    p.add_argument("--all", action="store_true", help="include resolved records, with their resolution")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_failures)
    actions = p.add_subparsers(dest="failures_command", required=False, metavar="[dismiss]")
    d = add(actions, "dismiss", help="resolve open failure records as dismissed, by record id or by error type")
    d.add_argument("record_ids", nargs="*", type=record_id, metavar="ID", help="a record id, as 'failures' shows it")
    d.add_argument("--type", metavar="ERROR_TYPE", help="every open record of this error type")
    d.set_defaults(func=cmd_failures_dismiss)

    p = add(sub, "retry-failed", help="queue failed videos again")
    p.add_argument("ids", nargs="*", metavar="ID")
    p.add_argument("--all", action="store_true", help="every video with an open failure record")
    p.add_argument("--type", metavar="ERROR_TYPE", help="only failures of this error type")
    p.set_defaults(func=cmd_retry_failed)

    p = add(sub, "transcript", help="print a stored transcript")
    p.add_argument("id")
    p.add_argument("--format", choices=["txt", "json", "srt", "vtt"], default="txt")
    p.add_argument("--version", type=version_number, metavar="N", help="transcript number N (1: the first)")
    p.add_argument("--all-versions", action="store_true", help="every version, as one JSON array")
    p.set_defaults(func=cmd_transcript)

    add_search_command(sub, add)

    add_transcript_commands(sub, add)

    p = add(sub, "serve", help="a web page to browse, search and watch the transcripts, and act on failures")
    p.add_argument("--host", default="127.0.0.1", help="the address to listen on (default 127.0.0.1: this machine)")
    p.add_argument("--port", type=port_number, default=8000, help="the port (default 8000; 0: any free port)")
    p.add_argument("--read-only", action="store_true", help="no retry or dismiss buttons; every POST is refused")
    p.add_argument("--samples", action="store_true", help="also serve the bundled sample videos, as demo does")
    p.set_defaults(func=cmd_serve)

    p = add(sub, "transcribe", help="transcribe one URL or local file, without the database")
    p.add_argument("source", help="an http(s) URL (a media file or an HLS playlist), an s3:// URL or a local file")
    p.add_argument("--format", choices=["txt", "json", "srt", "vtt"], default="txt")
    p.set_defaults(func=cmd_transcribe)
    return parser


def _transcript_filters(p: argparse.ArgumentParser) -> None:
    p.add_argument("--language", help="only transcripts in this language (as stored: en, de, ...)")
    p.add_argument("--model", help="only transcripts made by this model (tiny.en, base, gpt-4o-transcribe, ...)")
    p.add_argument("--since", type=since_moment, help="only transcripts made at or after this date (UTC unless given)")
    p.add_argument("--until", type=since_moment, help="only transcripts made before this date")
    speech = p.add_mutually_exclusive_group()
    speech.add_argument(
        "--without-speech", dest="speech", action="store_const", const=True, help="only videos without speech"
    )
    speech.add_argument(
        "--with-speech", dest="speech", action="store_const", const=False, help="only videos with speech"
    )


def add_transcript_commands(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], add: Callable[..., argparse.ArgumentParser]
) -> None:
    """``transcripts list``, ``export`` and ``retranscribe`` (issue 23)."""
    transcripts = add(sub, "transcripts", help="the stored transcripts").add_subparsers(
        dest="transcripts_command", required=True, metavar="ACTION"
    )
    p = add(transcripts, "list", help="list the stored transcripts, in video id order")
    _transcript_filters(p)
    p.add_argument("--limit", type=positive, help="at most this many")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_transcripts_list)

    p = add(sub, "export", help="write one file per transcript to a directory or s3://BUCKET/PREFIX")
    p.add_argument("--format", choices=["txt", "json", "srt", "vtt"], required=True)
    p.add_argument("--out", required=True, help="a directory (created if needed) or s3://BUCKET/PREFIX")
    _transcript_filters(p)
    p.add_argument("--json", action="store_true", help="a machine-readable summary")
    p.set_defaults(func=cmd_export)

    p = add(sub, "retranscribe", help="transcribe transcribed videos again with the current model and settings")
    p.add_argument("ids", nargs="*", metavar="ID")
    p.add_argument("--all", action="store_true", help="every transcribed video (narrowed by the filters)")
    p.add_argument("--model", help="only transcripts made by this model (e.g. tiny.en)")
    p.add_argument("--before", type=since_moment, metavar="DATE", help="only transcripts made before (ISO date, UTC)")
    p.set_defaults(func=commands.cmd_retranscribe)


def version_number(text: str) -> int:
    """A transcript's version number: 1 or more."""
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"not a version number: {text!r} (1 is the first transcript)")
    return int(text)



def record_id(text: str) -> int:
    """A failure record's id, as given on the command line: ``12`` or ``#12``."""
    try:
        value = int(text.removeprefix("#"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a record id: {text!r} (give the number 'failures' shows)") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"not a record id: {text!r}")
    return value


def port_number(text: str) -> int:
    """A TCP port, 0 to 65535 (0: any free port)."""
    if not text.isascii() or not text.isdigit() or int(text) > 65535:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r} (0 to 65535)")
    return int(text)


def _version() -> str:
    try:
        return importlib.metadata.version("vidscribe")
    except importlib.metadata.PackageNotFoundError:  # run from a source tree without an install
        return "(not installed)"


def _error(message: str) -> None:
    print(f"vidscribe: {scrub(message)}", file=sys.stderr)


def main(argv: Sequence[str] | None = None, invocation: commands.Invocation | None = None) -> int:
    """Run one command; ``invocation`` receives what it leaves for the process's end."""
    from ..local.embedded import embedded_postgres_started, stop_embedded_postgres

    arguments = list(sys.argv[1:] if argv is None else argv)
    undecodable = next((a for a in arguments if not _is_unicode(a)), None)
    if undecodable is not None:
        _error(f"an argument is not valid UTF-8 text: {undecodable!r}")
        return EXIT_USAGE
    args = build_parser().parse_args(arguments)
    args.invocation = invocation or commands.Invocation()
    level = "INFO" if args.verbose else os.environ.get("POWERTOOLS_LOG_LEVEL", "WARNING")
    restore_logging = configure_logging(level, text=os.environ.get("LOG_FORMAT", "text").lower() != "json")
    already_started = embedded_postgres_started()
    try:
        code = int(args.func(args) or 0)
        sys.stdout.flush()  # a reader that went away (| head) shows here, not at the exit
        return code
    except BrokenPipeError:
        return _reader_gone()
    except CliError as exc:
        _error(str(exc))
        return exc.code
    except OperatorError as exc:
        _error(str(exc))
        return EXIT_USAGE if isinstance(exc, UnknownErrorType) else EXIT_ERROR
    except ConfigurationError as exc:
        _error(str(exc))
        return EXIT_USAGE
    except VidscribeError as exc:
        _error(f"{exc.error_type}: {exc}")
        return EXIT_ERROR
    except KeyboardInterrupt:
        _error("interrupted; queued work resumes on the next run")
        return 130
    except Exception as exc:  # a database or queue that is down: one line, not a stack trace
        described = describe_service_error(exc, _settings_or_none())
        if described is None:
            raise
        _error(described[0])
        return described[1]
    finally:
        # What this command started stops with it (a SIGKILL is the watchdogs' business).
        stop_embedded_postgres(keep=already_started)
        restore_logging()


def _is_unicode(argument: str) -> bool:
    # Bytes that are not UTF-8 reach sys.argv as lone surrogates (Python's surrogateescape).
    try:
        argument.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _reader_gone() -> int:
    """The reader of our output went away (``vidscribe failures | head -1``): end quietly, as any
    Unix tool stopped by SIGPIPE does (141). Python's documented way: stdout becomes /dev/null, so
    that the flush at the exit does not fail again (so does stderr when it is the same pipe)."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        same = os.path.samestat(os.fstat(sys.stdout.fileno()), os.fstat(sys.stderr.fileno()))
        os.dup2(devnull, sys.stdout.fileno())
        if same:
            os.dup2(devnull, sys.stderr.fileno())
    finally:
        os.close(devnull)
    return EXIT_SIGNAL_BASE + signal.SIGPIPE


def _settings_or_none() -> Settings | None:
    try:
        return Settings.from_env()
    except ConfigurationError:
        return None


def console() -> None:
    """The ``vidscribe`` executable. After a stop that left a worker inside a model call (a thread
    cannot be stopped), the process ends with os._exit once everything is released and printed:
    interpreter shutdown would wait on that thread, or crash in the model's native code."""
    invocation = commands.Invocation()
    code = main(invocation=invocation)
    if invocation.abandoned_workers:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    sys.exit(code)
