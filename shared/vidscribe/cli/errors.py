"""The command line's errors and exit codes: one line on stderr, naming what to fix.

Exit codes (the README's command-line section lists them):

- 0: done;
- 1: an error while working (a video, a database or a queue that failed mid-way);
- 2: a usage or configuration mistake (a bad argument, a variable to fix);
- 128 + N: stopped by signal N (129 SIGHUP, 130 SIGINT, 143 SIGTERM) after giving back the
  unfinished work: the next run finishes it.
"""

from __future__ import annotations

import signal

from ..config import Settings
from ..redaction import scrub

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_SIGNAL_BASE = 128


class CliError(Exception):
    def __init__(self, message: str, code: int = EXIT_ERROR) -> None:
        super().__init__(message)
        self.code = code


def exit_code_for(signal_name: str) -> int:
    """128 + the signal's number, as a shell reports a process ended by that signal."""
    try:
        return EXIT_SIGNAL_BASE + int(signal.Signals[signal_name])
    except KeyError:
        return EXIT_ERROR


def describe_service_error(exc: BaseException, settings: Settings | None) -> tuple[str, int] | None:
    """(one line, exit code) for an error of the database or the queue, naming what to fix where
    the error says it; None when it is not one of theirs."""
    import botocore.exceptions
    import psycopg2

    if isinstance(exc, botocore.exceptions.BotoCoreError | botocore.exceptions.ClientError):
        if settings is not None:
            from ..adapters.sqs import sqs_problem

            problem = sqs_problem(exc, settings)
            if problem:
                return problem, EXIT_USAGE
        return f"SQS: {type(exc).__name__}: {one_line(str(exc))}", EXIT_ERROR
    if isinstance(exc, psycopg2.Error):
        return f"PostgreSQL: {type(exc).__name__}: {one_line(str(exc))}", EXIT_ERROR
    if isinstance(exc, OSError):
        return f"{type(exc).__name__}: {one_line(str(exc))}", EXIT_ERROR
    return None


def one_line(text: str) -> str:
    """The first line of a (driver's) message, scrubbed of secrets."""
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return scrub(lines[0] if lines else "")
