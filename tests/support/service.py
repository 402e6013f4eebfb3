"""``vidscribe`` as an operator runs it: real processes, real signals, and what they leave behind.

- :class:`CliProcess`: one ``python -m vidscribe.cli ...`` process with its output in files, which a
  test may signal (SIGTERM, SIGKILL, ...) and wait for.
- :func:`run_cli`: a command run to completion (``vidscribe status --json``, ``queues create``, ...).
- :func:`processes_of`: the embedded servers a run started (moto under its watchdog, the watchdog of
  the embedded PostgreSQL, the PostgreSQL server of a VIDSCRIBE_HOME), to prove none outlives it.
- :func:`wait_for`: polls a condition until it holds or a deadline passes (never a blind sleep).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil


def wait_for(condition: Callable[[], Any], timeout: float, interval: float = 0.1) -> Any:
    """The first truthy value of ``condition()`` within ``timeout`` seconds, else None."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(interval)  # polling another process's state: nothing to wait on instead


def cli_env(home: Path, **values: str) -> dict[str, str]:
    """The environment of a vidscribe process: this one's, minus the project's own settings, plus
    ``values`` (VIDSCRIBE_HOME is ``home``: the embedded PostgreSQL of this test)."""
    prefixes = ("VIDSCRIBE_", "OPENAI_", "DATABASE_", "QUEUE_", "DLQ_", "POWERTOOLS_", "AWS_", "LOG_", "SHUTDOWN_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(prefixes)}
    env.update(
        VIDSCRIBE_HOME=str(home),
        AWS_REGION="us-east-1",
        POWERTOOLS_METRICS_DISABLED="true",
        POWERTOOLS_TRACE_DISABLED="true",
        WHISPER_MODEL="tiny.en",  # the fast model: these tests need *a* model, not a language
    )
    env.update(values)
    return env


class CliProcess:
    """``python -m vidscribe.cli ARGS`` in the background, its stdout and stderr in files."""

    def __init__(self, args: list[str], env: dict[str, str], log_dir: Path, tag: str) -> None:
        self.args = args
        self.stdout_path = log_dir / f"{tag}.stdout"
        self.stderr_path = log_dir / f"{tag}.stderr"
        with self.stdout_path.open("wb") as out, self.stderr_path.open("wb") as err:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "vidscribe.cli", *args],
                env=env,
                stdout=out,
                stderr=err,
                stdin=subprocess.DEVNULL,
            )
        self.signalled_at: float | None = None

    @property
    def pid(self) -> int:
        return self.process.pid

    def send(self, sig: signal.Signals) -> None:
        self.signalled_at = time.monotonic()
        self.process.send_signal(sig)

    def wait(self, timeout: float) -> tuple[int | None, float]:
        """(exit code or None if still running, seconds since the signal)."""
        try:
            code = self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            code = None
        return code, time.monotonic() - (self.signalled_at or time.monotonic())

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=30)

    @property
    def stdout(self) -> str:
        return self.stdout_path.read_text(errors="replace")

    @property
    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace")

    def log_records(self) -> list[dict[str, Any]]:
        records = []
        for line in self.stderr.splitlines():
            if line.startswith("{"):
                with contextlib.suppress(ValueError):
                    records.append(json.loads(line))
        return records


def run_cli(args: list[str], env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "vidscribe.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


def processes_of(parent_pid: int, home: Path) -> list[str]:
    """The live processes a vidscribe process started: anything under vidscribe's child guard for
    that parent pid, and any PostgreSQL server on ``home``'s data directory (``ps`` lines)."""
    found = []
    pgdata = str(home / "pgdata")
    for proc in psutil.process_iter(["pid", "cmdline", "status"]):
        try:
            cmdline = proc.info["cmdline"] or []
            if proc.info["status"] == psutil.STATUS_ZOMBIE:
                continue
        except psutil.Error:
            continue
        text = " ".join(cmdline)
        guarded = "vidscribe.local.child_guard" in text and str(parent_pid) in cmdline
        postgres = bool(cmdline) and Path(cmdline[0]).name == "postgres" and pgdata in text
        if guarded or postgres:
            found.append(f"{proc.info['pid']}: {text[:160]}")
    return found
