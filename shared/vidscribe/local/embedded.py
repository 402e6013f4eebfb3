"""The embedded default: a PostgreSQL from a wheel (pgserver) and an SQS endpoint (moto's server).

Both are real servers spoken to over their real protocols; they exist so that one command runs the
whole pipeline on a machine with nothing but Python.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

from ..errors import ConfigurationError


def vidscribe_home() -> Path:
    """Where the embedded services keep their state (VIDSCRIBE_HOME, default ./.vidscribe)."""
    return Path(os.environ.get("VIDSCRIBE_HOME") or Path.cwd() / ".vidscribe").resolve()


def start_embedded_postgres(data_dir: Path) -> str:
    """Start (or reuse) a PostgreSQL 16 server in ``data_dir``; return its connection URL.

    The server stops when the last process that uses it exits.
    """
    data_dir.mkdir(parents=True, exist_ok=True)
    # pgserver puts a lock file in XDG_RUNTIME_DIR (read when it is imported); a private one keeps
    # it out of a shared /tmp.
    runtime_dir = data_dir.parent / "run"
    runtime_dir.mkdir(mode=0o700, exist_ok=True)
    os.environ.setdefault("XDG_RUNTIME_DIR", str(runtime_dir))
    try:
        import pgserver
    except ImportError:
        raise ConfigurationError(
            "no DATABASE_URL and the embedded PostgreSQL is not installed: pip install 'vidscribe[embedded]'"
        ) from None
    try:
        server = pgserver.get_server(data_dir, cleanup_mode="stop")
    except Exception as exc:  # pgserver raises plain exceptions with initdb/pg_ctl output
        raise ConfigurationError(f"could not start the embedded PostgreSQL in {data_dir}: {exc}") from None
    _keep_alive.append(server)
    return server.get_uri()


_keep_alive: list[object] = []


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class MotoSqsServer:
    """moto's server mode in a child process: a real SQS HTTP endpoint on 127.0.0.1."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.endpoint_url = f"http://127.0.0.1:{self.port}"
        self._process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 30.0) -> MotoSqsServer:
        try:
            import moto.server  # noqa: F401
        except ImportError:
            raise ConfigurationError(
                "no QUEUE_URL and the embedded SQS endpoint is not installed: pip install 'vidscribe[embedded]'"
            ) from None
        self._process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # Ctrl-C in the terminal stops the pipeline first, then us
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise ConfigurationError(f"the local SQS endpoint exited at start (code {self._process.returncode})")
            try:
                requests.get(f"{self.endpoint_url}/moto-api/", timeout=1)
                return self
            except requests.ConnectionError:
                time.sleep(0.05)  # polling a starting child process; nothing to wait on instead
        self.stop()
        raise ConfigurationError(f"the local SQS endpoint did not start within {timeout:.0f} s")

    def stop(self) -> None:
        if self._process and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        self._process = None

    def __enter__(self) -> MotoSqsServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
