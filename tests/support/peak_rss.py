"""A command in a process of its own, with the peak resident memory of that process alone.

``os.wait4`` returns the rusage of exactly the child it reaps (``RUSAGE_CHILDREN`` would mix in every
child the test process ever reaped). The child's output goes to files, so a chatty child never
blocks on a full pipe.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Measured:
    returncode: int
    stdout: str
    stderr: str
    peak_rss_mib: float
    seconds: float


def run_measured(argv: list[str], env: dict[str, str], timeout: float = 180) -> Measured:
    """Run ``argv``; kill it after ``timeout`` seconds (then AssertionError)."""
    with tempfile.TemporaryDirectory(prefix="peak-rss-") as tmp:
        out_path, err_path = Path(tmp) / "stdout", Path(tmp) / "stderr"
        with out_path.open("wb") as out, err_path.open("wb") as err:
            started = time.monotonic()
            process = subprocess.Popen(argv, env=env, stdout=out, stderr=err, stdin=subprocess.DEVNULL)
        reaped: list[tuple[int, int, object]] = []
        waiter = threading.Thread(target=lambda: reaped.append(os.wait4(process.pid, 0)), daemon=True)
        waiter.start()
        waiter.join(timeout)
        if not reaped:
            process.kill()
            waiter.join()
            raise AssertionError(f"{argv} did not end within {timeout:g} s: {err_path.read_text()[-2000:]}")
        seconds = time.monotonic() - started
        _, status, usage = reaped[0]
        process.returncode = os.waitstatus_to_exitcode(status)  # reaped here: Popen must not wait again
        return Measured(
            returncode=process.returncode,
            stdout=out_path.read_text(),
            stderr=err_path.read_text(),
            peak_rss_mib=usage.ru_maxrss / 1024,  # type: ignore[attr-defined]
            seconds=seconds,
        )
