"""What a run shows a person: one status line while it works, a summary when it is done."""

from __future__ import annotations

import sys
import time
from typing import Any

from ..local.runtime import RunTally
from ..ports import Queue


class Progress:
    """One status line on stderr while a run works: rewritten in place on a terminal, every five
    seconds otherwise. It counts this run's own outcomes (the runtime's tally)."""

    def __init__(self, tally: RunTally, queue: Queue, total: int | None) -> None:
        self.tally, self.queue, self.total = tally, queue, total
        self.tty = sys.stderr.isatty()
        self.last_line = ""
        self.last_print = 0.0

    def tick(self) -> None:
        now = time.monotonic()
        if not self.tty and now - self.last_print < 5:
            return
        try:
            visible, in_flight = self.queue.depth()
        except Exception:  # a progress line is never worth failing the run
            return
        of_total = f"/{self.total}" if self.total is not None else ""
        line = (
            f"transcribed {self.tally.transcribed}{of_total} · failed {self.tally.failed} · "
            f"queued {visible} · in flight {in_flight} · audio {self.tally.audio_seconds:.0f} s"
        )
        if line != self.last_line or not self.tty:
            if self.tty:
                sys.stderr.write("\r\033[K" + line)
            else:
                sys.stderr.write(line + "\n")
            sys.stderr.flush()
            self.last_line, self.last_print = line, now

    def done(self) -> None:
        if self.tty and self.last_line:
            sys.stderr.write("\n")


def print_summary(summary: dict[str, Any]) -> None:
    print(f"  transcribed   {summary['transcribed']}")
    if summary.get("without_speech"):
        print(f"    without speech {summary['without_speech']}  (no words to transcribe; the model was not called)")
    print(f"  skipped       {summary['skipped']}  (already had a transcript)")
    failed = summary["failed"]
    detail = ", ".join(f"{k}: {v}" for k, v in summary["failed_by_type"].items())
    print(f"  failed        {failed}" + (f"  ({detail}; see 'vidscribe failures')" if failed else ""))
    print(f"  audio         {summary['audio_seconds']:.1f} s ({summary.get('speech_seconds', 0.0):.1f} s of speech)")
    print(f"  wall time     {summary['wall_seconds']:.1f} s with {summary['workers']} workers")


def stop_line(summary: dict[str, Any]) -> str:
    """The one line a stopped run ends with: what it did, what it gave back, and what is still queued
    for the next run (the videos never fetched yet wait in the videos table, as always)."""
    released, queued = summary["released"], summary.get("queued")
    back = (
        f"{released} unfinished video{'' if released == 1 else 's'} given back to the queue"
        if released
        else "no transcription was in flight"
    )
    if queued is None:
        left = "the videos still queued are unknown (the database did not answer)"
    else:
        left = f"{queued} video{'' if queued == 1 else 's'} queued for the next run" if queued else "none queued"
    return (
        f"vidscribe: stopped by {summary['stopped_by']}: transcribed {summary['transcribed']}, "
        f"failed {summary['failed']} in {summary['wall_seconds']:.1f} s; {back}; {left}"
    )


class FileBar:
    """A progress bar on stderr for a command that works through a known number of files
    (``export``): drawn in place on a terminal, at most ten times a second; nothing otherwise (a
    script reads the summary line)."""

    WIDTH = 30

    def __init__(self, label: str) -> None:
        self.label = label
        self.tty = sys.stderr.isatty()
        self.last_draw = 0.0

    def update(self, done: int, total: int, detail: str = "", *, force: bool = False) -> None:
        now = time.monotonic()
        if not self.tty or (not force and now - self.last_draw < 0.1):
            return
        filled = self.WIDTH * min(done, total) // total if total else self.WIDTH
        bar = "#" * filled + "-" * (self.WIDTH - filled)
        sys.stderr.write(f"\r\033[K{self.label} [{bar}] {done}/{total}" + (f" {detail}" if detail else ""))
        sys.stderr.flush()
        self.last_draw = now

    def done(self) -> None:
        if self.tty and self.last_draw:
            sys.stderr.write("\n")
            sys.stderr.flush()
