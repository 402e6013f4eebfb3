"""Naming a process so that another one on the same machine can tell, later, whether it still runs.

A claim made by the local runtime records ``claimed_by`` = this machine (its boot id and PID
namespace, read from /proc), the process (pid and start time, so that a reused pid is not mistaken
for it) and the run (a nonce), plus the host name for people. A run that finds a live claim whose
machine part is its own and whose process is gone gives the video back at once
(``workflow.stopping.recover_abandoned``). Claims made elsewhere (another machine, another
container, Lambda) are never judged: their processing lease decides, as before.

Linux only: elsewhere there is no /proc to read, ``machine_prefix()`` is None and nothing is
recovered early.
"""

from __future__ import annotations

import os
import socket
import uuid
from pathlib import Path

_PROC = Path("/proc")


def _read(path: Path) -> str | None:
    try:
        return path.read_text().strip()
    except OSError:
        return None


def _start_time(pid: int) -> str | None:
    """The start time of a running process in clock ticks since boot (field 22 of
    /proc/<pid>/stat); None when there is no such process, or only its zombie."""
    stat = _read(_PROC / str(pid) / "stat")
    if stat is None:
        return None
    # The command name (field 2) is in parentheses and may contain spaces and parentheses itself.
    fields = stat.rsplit(")", 1)[-1].split()
    if len(fields) <= 19 or fields[0] == "Z":
        return None
    return fields[19]


def machine_prefix() -> str | None:
    """``<boot id>:<pid namespace>:``: what every claim from this machine (and container) starts with."""
    boot = _read(_PROC / "sys" / "kernel" / "random" / "boot_id")
    try:
        namespace = os.readlink(_PROC / "self" / "ns" / "pid")
    except OSError:
        return None
    if not boot:
        return None
    return f"{boot}:{namespace.removeprefix('pid:').strip('[]')}:"


def process_identity() -> str:
    """This process, for one run: ``<machine prefix><pid>:<start time>:<nonce>@<host>`` (without
    /proc: ``unknown:<pid>:<nonce>@<host>``, which no other process judges)."""
    prefix, started = machine_prefix(), _start_time(os.getpid())
    nonce, host = uuid.uuid4().hex[:8], socket.gethostname()
    if prefix is None or started is None:
        return f"unknown:{os.getpid()}:{nonce}@{host}"
    return f"{prefix}{os.getpid()}:{started}:{nonce}@{host}"


def is_dead(identity: str) -> bool:
    """True when ``identity`` names a process of this machine that no longer runs; False when it
    runs, or when it is not this machine's to judge."""
    prefix = machine_prefix()
    if prefix is None or not identity.startswith(prefix):
        return False
    try:
        pid_text, started = identity[len(prefix) :].split(":")[:2]
        pid = int(pid_text)
    except ValueError:
        return False
    return _start_time(pid) != started
