"""Stopping ``run`` and ``demo`` cleanly on SIGTERM, SIGINT and SIGHUP alike.

systemd, Docker and Kubernetes stop a service with SIGTERM, a terminal with SIGINT (Ctrl-C) or
SIGHUP (closed): each starts the same clean stop (``local.runtime.StopRequest``); a second signal
cuts the grace period short. The handlers only set events, which is all a signal handler may do
safely; the runtime's main loop does the rest.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

from ..local.runtime import StopRequest

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)


@contextmanager
def stop_on_signals() -> Iterator[StopRequest]:
    """A StopRequest that the stop signals set while the block runs (the previous handlers are
    put back after it). Outside the main thread, where Python delivers no signals, it is only a
    StopRequest."""
    request = StopRequest()
    if threading.current_thread() is not threading.main_thread():
        yield request
        return

    def handle(signum: int, _frame: FrameType | None) -> None:
        request.request(signal.Signals(signum).name)

    previous = {sig: signal.signal(sig, handle) for sig in STOP_SIGNALS}
    try:
        yield request
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
