"""Child processes that do not outlive the process that started them.

The embedded servers are child processes of ``vidscribe run`` (or of any command that starts them).
A clean stop stops them; a parent that dies without cleaning up (SIGKILL, the OOM killer) must not
leave them running:

- moto's SQS server runs under ``python -m vidscribe.local.child_guard run PARENT -- moto.server
  ARGS``: a watchdog thread inside the child ends it once the parent is gone.
- PostgreSQL is started by pg_ctl, detached from us, and pgserver stops it only from an atexit hook,
  which a SIGKILL skips. ``python -m vidscribe.local.child_guard postgres PARENT PGDATA`` is a small
  watchdog process that, once the parent is gone, does what that hook would have done: it drops
  the dead process from pgserver's list of the server's users, and stops the server if no live
  process uses it any more (``embedded.release_postgres``).

The watchdogs poll ``os.getppid()`` (the child is re-parented when its parent dies) rather than use
prctl(PR_SET_PDEATHSIG): that signal fires when the *thread* that started the child ends, so a
server started from a short-lived thread would be killed while its process lives on.
"""

from __future__ import annotations

import os
import runpy
import sys
import threading
import time
from collections.abc import Callable, Sequence

POLL_SECONDS = 0.2


def guarded_command(module: str, args: Sequence[str]) -> list[str]:
    """The command that runs ``python -m module args`` as a child that ends with this process."""
    return [sys.executable, "-m", "vidscribe.local.child_guard", "run", str(os.getpid()), "--", module, *args]


def postgres_watchdog_command(pgdata: str) -> list[str]:
    """The command of the watchdog that releases this process's use of the embedded PostgreSQL."""
    return [sys.executable, "-m", "vidscribe.local.child_guard", "postgres", str(os.getpid()), pgdata]


def wait_for_parent_death(parent: int, poll: float = POLL_SECONDS) -> None:
    while os.getppid() == parent:
        time.sleep(poll)  # polling the kernel's answer: there is nothing to wait on instead


def watch_parent(parent: int, on_death: Callable[[], None]) -> threading.Thread:
    def watch() -> None:
        wait_for_parent_death(parent)
        on_death()

    thread = threading.Thread(target=watch, name="parent-watchdog", daemon=True)
    thread.start()
    return thread


def main(argv: Sequence[str]) -> int:
    mode, parent = argv[0], int(argv[1])
    if os.getppid() != parent:  # the parent died before we got here
        return 0
    if mode == "run":
        module, args = argv[3], list(argv[4:])
        watch_parent(parent, lambda: os._exit(0))  # an in-memory server: nothing to save
        sys.argv = [module, *args]
        runpy.run_module(module, run_name="__main__", alter_sys=True)
        return 0
    if mode == "postgres":
        from .embedded import release_postgres

        wait_for_parent_death(parent)
        release_postgres(argv[2], parent)
        return 0
    raise SystemExit(f"unknown mode {mode!r}")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
