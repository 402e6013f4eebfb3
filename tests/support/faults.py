"""Fault injection for the accounting suite (tests/integration/test_fault_accounting.py).

- :class:`PrivatePostgres`: a PostgreSQL cluster of the test's own (``initdb -A trust`` in a
  temporary directory, on a free loopback port) that the test may restart. The shared server on
  127.0.0.1:5432 is never touched.
- :class:`FaultyTranscriptionServer`: the local OpenAI-compatible server, extended so that every
  upload is attributed to the video it came from (each clip carries a unique pair of tones, and the
  server's "transcript" names them), with per-video faults (503 on the first upload, 400 always),
  a *victim* upload held open until the test has killed the worker that sent it, and a *gate* that
  holds every upload until a given number are in flight (to restart the database while every worker
  is in the middle of a transcription).
- :class:`WorkerProcess`: one ``python -m vidscribe.cli -v run --once`` process with its logs.
- :func:`signature_audio` / :func:`signature_text`: the tone pairs that make clips identifiable.
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import pwd
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import psycopg2

from tests.support.media_factory import RATE, tone
from tests.support.openai_server import OpenAITranscriptionServer, _Handler, _Reply
from vidscribe.local.embedded import free_port

# --- identifiable clips ------------------------------------------------------------------------------
#: Tone frequencies the server tells apart after Opus at 24 kbps (it rounds to 10 Hz).
FREQUENCIES = tuple(300 + 100 * i for i in range(40))


def signature_pair(index: int) -> tuple[int, int]:
    """A unique (first tone, second tone) for each index below 1,600."""
    if not 0 <= index < len(FREQUENCIES) ** 2:
        raise ValueError(f"no signature for index {index}")
    return FREQUENCIES[index % len(FREQUENCIES)], FREQUENCIES[index // len(FREQUENCIES)]


def signature_audio(pair: tuple[int, int]) -> np.ndarray:
    """1.5 s of audio: 0.5 s of the first tone, 0.35 s of silence, 0.5 s of the second, silence."""
    gap = np.zeros(int(0.35 * RATE), np.float32)
    tail = np.zeros(int(0.15 * RATE), np.float32)
    return np.concatenate([tone(0.5, pair[0]), gap, tone(0.5, pair[1]), tail])


def signature_text(pair: tuple[int, int]) -> str:
    """What the local transcription server answers for :func:`signature_audio`."""
    return f"tone {pair[0]} Hz tone {pair[1]} Hz"


# --- a PostgreSQL of our own ---------------------------------------------------------------------------
def _postgres_bin_dirs() -> list[Path]:
    dirs = []
    if os.environ.get("PG_BIN"):
        dirs.append(Path(os.environ["PG_BIN"]))
    dirs += [
        Path(p)
        for p in sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[-2]), reverse=True)
    ]
    try:
        import pgserver

        dirs.append(Path(pgserver.__file__).parent / "pginstall" / "bin")
    except ImportError:
        pass
    return [d for d in dirs if (d / "initdb").exists() and (d / "pg_ctl").exists()]


class PrivatePostgres:
    """A throwaway PostgreSQL cluster (trust auth, loopback TCP) that this test may restart.

    As root, PostgreSQL refuses to run: the cluster then belongs to the ``postgres`` user (or the
    ``pgserver`` user that the pgserver wheel creates)."""

    def __init__(self) -> None:
        self.extra_options = ""  # more server settings (``-c name=value ...``), e.g. TLS
        dirs = _postgres_bin_dirs()
        if not dirs:
            raise RuntimeError("no PostgreSQL binaries found (initdb, pg_ctl): set PG_BIN or install pgserver")
        self.bin = dirs[0]
        self.port = free_port()
        self.user: str | None = None
        if os.geteuid() == 0:
            for name in ("postgres", "pgserver"):
                try:
                    pwd.getpwnam(name)
                except KeyError:
                    continue
                self.user = name
                break
            else:
                raise RuntimeError("running as root and there is no 'postgres' user to own the cluster")
        self.root = Path(tempfile.mkdtemp(prefix="vidscribe-faults-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        if self.user:
            entry = pwd.getpwnam(self.user)
            os.chown(self.root, entry.pw_uid, entry.pw_gid)
        self.restarts = 0

    def own(self, path: Path) -> None:
        """Give a file to the cluster's user (a TLS key the server must read)."""
        if self.user:
            entry = pwd.getpwnam(self.user)
            os.chown(path, entry.pw_uid, entry.pw_gid)

    @property
    def admin_url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def url(self, dbname: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{dbname}"

    def _run(self, *args: str, timeout: float = 60) -> None:
        cmd = [str(self.bin / args[0]), *args[1:]]
        if self.user:
            cmd = ["runuser", "-u", self.user, "--", *cmd]
        result = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=self.root)
        if result.returncode != 0:
            raise RuntimeError(f"{' '.join(args[:2])} failed ({result.returncode}): {result.stderr or result.stdout}")

    def _options(self) -> str:
        # No fsync: a test cluster does not need durability, and 2 shared cores do not need the I/O.
        return (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.root} "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200 "
            + self.extra_options
        )

    def start(self) -> PrivatePostgres:
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8")
        self._run("pg_ctl", "-D", str(self.data), "-o", self._options(), "-l", str(self.log), "-w", "start")
        return self

    def restart(self) -> float:
        """``pg_ctl restart -m fast``: every session is terminated. Returns the seconds it took."""
        started = time.monotonic()
        self._run(
            "pg_ctl", "-D", str(self.data), "-o", self._options(), "-l", str(self.log), "-m", "fast", "-w", "restart"
        )
        self.restarts += 1
        return time.monotonic() - started

    def shut_down(self) -> None:
        """The first half of a restart (``pg_ctl stop -m fast``): sessions are terminated, and
        connections are refused until :meth:`start_again`."""
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")

    def start_again(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-o", self._options(), "-l", str(self.log), "-w", "start")
        self.restarts += 1

    def stop(self) -> None:
        if self.data.exists():
            with contextlib.suppress(Exception):
                self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop", timeout=30)
        shutil.rmtree(self.root, ignore_errors=True)

    def create_database(self, name: str) -> str:
        conn = psycopg2.connect(self.admin_url, connect_timeout=10)
        conn.autocommit = True
        try:
            with conn.cursor() as cur:
                cur.execute(f'CREATE DATABASE "{name}"')
        finally:
            conn.close()
        return self.url(name)


def query(url: str, statement: str, params: Any = None, *, attempts: int = 50) -> list[tuple]:
    """One statement on a fresh connection, retried while the server restarts (the test's own
    reads must not depend on the product's connection pool)."""
    for attempt in range(attempts):
        try:
            conn = psycopg2.connect(url, connect_timeout=5)
        except psycopg2.OperationalError:
            if attempt == attempts - 1:
                raise
            time.sleep(0.1)  # the server is restarting: nothing to wait on but time
            continue
        try:
            with conn, conn.cursor() as cur:
                cur.execute(statement, params)
                return cur.fetchall() if cur.description else []
        except psycopg2.OperationalError:
            if attempt == attempts - 1:
                raise
            time.sleep(0.1)
        finally:
            conn.close()
    raise AssertionError("unreachable")


# --- the transcription server, attributing every upload to its video ----------------------------------
class _AttributingHandler(_Handler):
    worker_tag: str | None = None

    def do_POST(self) -> None:
        # Each worker process gets its own base URL (.../w<k>/v1): the tag says who sent an upload.
        match = re.match(r"^/([a-z]+\d+)(/v1/.*)$", self.path)
        if match:
            self.worker_tag, self.path = match.group(1), match.group(2)
        self.gated = False
        # The worker may be killed while we hold its request: nobody is left to answer then.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            super().do_POST()
        if self.gated:
            self.app._gate_answered()  # type: ignore[attr-defined]

    def _handle(self, body: bytes, record: dict[str, Any]) -> tuple[int, Any, dict[str, str]]:
        status, payload, headers = super()._handle(body, record)
        app: FaultyTranscriptionServer = self.app  # type: ignore[assignment]
        text = payload.get("text") if isinstance(payload, dict) else str(payload)
        return app._after_decode(self, text, (status, payload, headers))


class FaultyTranscriptionServer(OpenAITranscriptionServer):
    """Counts uploads per video (by signature text) and injects per-video faults."""

    def __init__(self, signatures: dict[str, str], **kwargs: Any) -> None:
        """``signatures``: transcript text -> video id."""
        super().__init__(**kwargs)
        self.signatures = dict(signatures)
        self.calls: Counter[str] = Counter()  # uploads that reached the model, per video id
        self.calls_by_worker: Counter[str] = Counter()
        self.unidentified: list[str | None] = []
        self.fail_first_upload: set[str] = set()  # 503 to the first upload of these videos
        self.reject_always: set[str] = set()  # 400 to every upload of these videos
        self._failed_once: set[str] = set()
        self._cond = threading.Condition()
        # the victim: its first upload is held until release_victim()
        self.victim: str | None = None
        self.victim_held = threading.Event()
        self.victim_worker: str | None = None
        self._victim_release = threading.Event()
        # the gate: every upload is held until open_gate()
        self._gate_armed = False
        self._gate_open = False
        self.gate_held: list[tuple[str, str | None]] = []  # (video id, worker tag)
        self.gate_answered = 0  # held uploads whose answer has been sent since the gate opened
        self.hold_timeout = 120.0

    def start(self) -> FaultyTranscriptionServer:
        from http.server import ThreadingHTTPServer

        handler = type("Handler", (_AttributingHandler,), {"app": self})
        self._httpd = ThreadingHTTPServer((self._host, 0), handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="openai-server", daemon=True)
        self._thread.start()
        return self

    def worker_base_url(self, tag: str) -> str:
        return f"http://{self._host}:{self.port}/{tag}/v1"

    # --- the test's controls ---------------------------------------------------------------------
    def release_victim(self) -> None:
        self._victim_release.set()

    def arm_gate(self) -> None:
        with self._cond:
            self._gate_armed, self._gate_open = True, False
            self.gate_held.clear()
            self.gate_answered = 0

    def wait_gate(self, count: int, timeout: float) -> bool:
        """Wait until ``count`` uploads are held at the gate."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while len(self.gate_held) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)
            return True

    def held_at_gate(self) -> int:
        with self._cond:
            return len(self.gate_held)

    def open_gate(self) -> None:
        with self._cond:
            self._gate_armed, self._gate_open = False, True
            self._cond.notify_all()

    def wait_gate_answered(self, timeout: float) -> bool:
        """Wait until every upload held at the gate has been answered."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self.gate_answered < len(self.gate_held):
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)
            return True

    def _gate_answered(self) -> None:
        with self._cond:
            self.gate_answered += 1
            self._cond.notify_all()

    # --- called by the handler after the upload was decoded --------------------------------------
    def _after_decode(
        self, handler: _AttributingHandler, text: str | None, answer: tuple[int, Any, dict[str, str]]
    ) -> tuple[int, Any, dict[str, str]]:
        worker = handler.worker_tag
        video = self.signatures.get(text) if text is not None else None
        with self._cond:
            if video is None:
                self.unidentified.append(text)
            else:
                self.calls[video] += 1
            if worker:
                self.calls_by_worker[worker] += 1
            fail_now = video in self.fail_first_upload and video not in self._failed_once
            if fail_now and video is not None:
                self._failed_once.add(video)
            hold_victim = video is not None and video == self.victim and self.victim_worker is None
            if hold_victim:
                self.victim_worker = worker or "?"
            gate = self._gate_armed and not hold_victim
            if gate:
                handler.gated = True
                self.gate_held.append((video or "?", worker))
                self._cond.notify_all()
                deadline = time.monotonic() + self.hold_timeout
                while not self._gate_open and time.monotonic() < deadline:
                    self._cond.wait(deadline - time.monotonic())
        if hold_victim:
            self.victim_held.set()
            self._victim_release.wait(self.hold_timeout)
            raise _Reply(503, "the worker that sent this was killed", type_="server_error")
        if fail_now:
            raise _Reply(
                503, "The server had an error while processing your request. Sorry about that!", type_="server_error"
            )
        if video in self.reject_always:
            raise _Reply(400, "Audio file might be corrupted or unsupported", code="invalid_value", param="file")
        return answer


# --- worker processes --------------------------------------------------------------------------------
class WorkerProcess:
    """``python -m vidscribe.cli -v run --once --workers N --json`` with its output in files."""

    def __init__(self, tag: str, env: dict[str, str], log_dir: Path, workers: int = 1) -> None:
        self.tag = tag
        self.stdout_path = log_dir / f"{tag}.stdout"
        self.stderr_path = log_dir / f"{tag}.stderr"
        self.killed = False
        cmd = [sys.executable, "-m", "vidscribe.cli", "-v", "run", "--once", "--workers", str(workers), "--json"]
        with self.stdout_path.open("wb") as out, self.stderr_path.open("wb") as err:
            self.process = subprocess.Popen(cmd, env=env, stdout=out, stderr=err, stdin=subprocess.DEVNULL)

    @property
    def pid(self) -> int:
        return self.process.pid

    def alive(self) -> bool:
        return self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL: no cleanup, no goodbye."""
        os.kill(self.process.pid, signal.SIGKILL)
        self.killed = True
        self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.alive():
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=30)

    @property
    def returncode(self) -> int | None:
        return self.process.poll()

    def summary(self) -> dict[str, Any] | None:
        try:
            summary: dict[str, Any] = json.loads(self.stdout_path.read_text())
            return summary
        except (OSError, ValueError):
            return None

    def log_records(self) -> list[dict[str, Any]]:
        records = []
        for line in self.stderr_path.read_text(errors="replace").splitlines():
            if line.startswith("{"):
                with contextlib.suppress(ValueError):
                    records.append(json.loads(line))
        return records

    def stray_lines(self) -> list[str]:
        """stderr lines that are not JSON log records (tracebacks, the CLI's one-line errors)."""
        return [
            line
            for line in self.stderr_path.read_text(errors="replace").splitlines()
            if line and not line.startswith("{")
        ]
