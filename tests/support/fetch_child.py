"""Fetch one URL through the media source in a fresh process and report, as one JSON line, the outcome
and the process's peak RSS: what memory tests compare (the parent's own memory would blur it).

    python -m tests.support.fetch_child URL [ENV=VALUE ...]
    -> {"outcome": "ok" | "<ErrorType>", "message": ..., "duration": ..., "bytes_fetched": ..., "peak_rss": bytes}
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def fetch_in_child(url: str, **env: str) -> dict:
    """Run this module on ``url`` with the settings ``env`` (ALLOW_PRIVATE_URLS is on) and parse its report."""
    args = [sys.executable, "-m", "tests.support.fetch_child", url, *(f"{k}={v}" for k, v in env.items())]
    done = subprocess.run(args, capture_output=True, text=True, timeout=120, check=False, cwd=REPO)
    lines = [line for line in done.stdout.splitlines() if line.startswith("{\"outcome\"")]
    assert done.returncode == 0 and lines, done.stderr[-2000:]
    report: dict = json.loads(lines[-1])
    return report


def main() -> None:
    from vidscribe.adapters.media import StreamingMediaSource
    from vidscribe.config import Settings
    from vidscribe.errors import VidscribeError

    url, *pairs = sys.argv[1:]
    env = {"ALLOW_PRIVATE_URLS": "true", "POWERTOOLS_LOG_LEVEL": "WARNING", **dict(p.split("=", 1) for p in pairs)}
    report: dict = {"outcome": "ok", "message": "", "duration": None, "bytes_fetched": None}
    try:
        audio, fetched = StreamingMediaSource(Settings.from_env(env)).fetch(url)
        report.update(duration=audio.duration, bytes_fetched=fetched.bytes_fetched)
    except VidscribeError as exc:
        report.update(outcome=exc.error_type, message=str(exc))
    report["peak_rss"] = peak_rss()
    print(json.dumps(report), flush=True)


def peak_rss() -> int:
    """This process's peak resident memory in bytes: VmHWM, the high-water mark of its own address space.
    (getrusage's ru_maxrss would not do: Linux carries it over from the parent through fork and exec,
    so a child of a 500 MB test process would report 500 MB.)"""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # not Linux: the best there is


if __name__ == "__main__":
    main()
