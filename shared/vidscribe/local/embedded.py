"""The embedded default: a PostgreSQL from a wheel (pgserver) and an SQS endpoint (moto's server).

Both are real servers spoken to over their real protocols; they exist so that one command runs the
whole pipeline on a machine with nothing but Python. Neither outlives the process that started it,
even a SIGKILLed one (``child_guard``): a clean exit stops them (``stop_embedded_postgres``,
``MotoSqsServer.stop``), and a watchdog child does it after an unclean one.
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
from collections.abc import Collection
from pathlib import Path
from typing import Any

import requests

from ..errors import ConfigurationError
from .child_guard import guarded_command, postgres_watchdog_command


def vidscribe_home() -> Path:
    """Where the embedded services keep their state (VIDSCRIBE_HOME, default ./.vidscribe)."""
    return Path(os.environ.get("VIDSCRIBE_HOME") or Path.cwd() / ".vidscribe").resolve()


def start_embedded_postgres(data_dir: Path) -> str:
    """Start (or reuse) a PostgreSQL 16 server in ``data_dir``; return its connection URL.

    The server stops when the last process that uses it exits, or is killed (a watchdog child
    releases a killed process's use of it: ``child_guard``).
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
    key = str(data_dir.resolve())
    if key in _started:
        return str(_started[key][0].get_uri())
    _prune_dead_users(key)
    try:
        server = pgserver.get_server(data_dir, cleanup_mode="stop")
    except Exception as exc:  # pgserver raises plain exceptions with initdb/pg_ctl output
        raise ConfigurationError(f"could not start the embedded PostgreSQL in {data_dir}: {exc}") from None
    watchdog = subprocess.Popen(
        postgres_watchdog_command(key),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # Ctrl-C in the terminal is ours to handle, not the watchdog's
    )
    _started[key] = (server, watchdog)
    return str(server.get_uri())


# pgdata -> (pgserver's server, our watchdog process), for the servers this process started
_started: dict[str, tuple[Any, subprocess.Popen[bytes]]] = {}


def embedded_postgres_started() -> set[str]:
    """The data directories of the embedded servers this process has started (and not stopped)."""
    return set(_started)


def stop_embedded_postgres(keep: Collection[str] = ()) -> None:
    """Release this process's use of the embedded PostgreSQL servers it started (but those in
    ``keep``): each stops unless another live process still uses it (pgserver keeps a list)."""
    for key in [k for k in _started if k not in keep]:
        server, watchdog = _started.pop(key)
        try:
            server.cleanup()
        finally:
            watchdog.terminate()
            watchdog.wait()


def _pgserver_lock_and_users(pgdata: str) -> tuple[Any, Any]:
    # pgserver's own inter-process lock and its list of the pids that use a server (its internals:
    # it has no public API to release a dead process's use, which its atexit hook would have done).
    from pgserver.postgres_server import PostgresServer
    from pgserver.utils import DiskList

    return PostgresServer._lock, DiskList(Path(pgdata) / ".handle_pids.json")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().rsplit(")", 1)[-1].split()[:1] == ["Z"])


def _prune_dead_users(pgdata: str) -> list[int]:
    """Drop the pids of dead processes from pgserver's list of a server's users; returns the live ones."""
    if not (Path(pgdata) / "PG_VERSION").exists():
        return []
    lock, users = _pgserver_lock_and_users(pgdata)
    with lock:
        pids = users.get()
        live = [pid for pid in pids if _alive(pid)]
        if live != pids:
            users.put(live)
    return live


def release_postgres(pgdata: str, dead_pid: int) -> None:
    """After ``dead_pid`` died: drop it (and any other dead process) from the server's users, and
    stop the server if no live process uses it. Run by the watchdog child (``child_guard``)."""
    import pgserver._commands
    from pgserver.utils import PostmasterInfo

    pg_ctl = pgserver._commands.pg_ctl  # type: ignore[attr-defined]  # pgserver defines it at import

    lock, users = _pgserver_lock_and_users(pgdata)
    with lock:
        live = [pid for pid in users.get() if pid != dead_pid and _alive(pid)]
        users.put(live)
        if live:
            return
        info = PostmasterInfo.read_from_pgdata(Path(pgdata))
        if info is None or info.process is None or not info.is_running():
            return
        owner = "pgserver" if os.geteuid() == 0 else None  # as root, pgserver runs it as this user
        try:
            pg_ctl(["-m", "fast", "-w", "stop"], pgdata=Path(pgdata), user=owner, timeout=30)
        except Exception:
            info.process.kill()


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
            guarded_command("moto.server", ["-H", "127.0.0.1", "-p", str(self.port)]),
            stdin=subprocess.DEVNULL,
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

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    def stop(self) -> None:
        if self._process and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        self._process = None

    def __enter__(self) -> MotoSqsServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
