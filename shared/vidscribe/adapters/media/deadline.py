"""One deadline for a whole fetch, and what enforces it where a timeout alone cannot.

:class:`Deadline` is the value every step of a fetch is given (DNS, each connect, TLS, each response
head and body, each redirect hop, each segment): the time left, never a fresh timeout per step.

Socket timeouts bound the gap between two reads, not a whole exchange: a server that sends its
status line one byte a second, or ``100 Continue`` for ever, never trips one. So every socket a
fetch opens is also handed to the :class:`SocketWatchdog`, which shuts it down when the deadline
passes; the blocked read then ends at once and the transport reports the deadline. A name lookup
cannot be interrupted at all: :func:`call_within` runs it in a thread that is abandoned at the
deadline (what asyncio's ``getaddrinfo`` does too).
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import math
import socket
import threading
import time
from collections.abc import Callable
from typing import TypeVar

from ...errors import FetchError
from ...redaction import redact

T = TypeVar("T")


class Deadline:
    """The moment a fetch of ``what`` (a URL, shown redacted) must be over; ``seconds`` None: never."""

    __slots__ = ("at", "seconds", "what")

    def __init__(self, seconds: float | None, what: str) -> None:
        self.seconds = seconds
        self.at = math.inf if seconds is None else time.monotonic() + seconds
        self.what = what

    def remaining(self) -> float:
        """Seconds left (``inf`` without a deadline; zero or less once it has passed)."""
        return self.at - time.monotonic()

    @property
    def expired(self) -> bool:
        return time.monotonic() >= self.at

    def error(self, detail: str = "") -> FetchError:
        """The error a step that ran out of time raises (retryable: the next attempt may be quicker)."""
        extra = f" ({detail})" if detail else ""
        return FetchError(
            f"fetching {redact(self.what)!r} took longer than {self.seconds:g} s{extra}: the source is too slow "
            f"(FETCH_TOTAL_TIMEOUT_SECONDS)"
        )

    def check(self, detail: str = "") -> None:
        if self.expired:
            raise self.error(detail)

    def cap(self, timeout: float, detail: str = "") -> float:
        """``timeout`` or the time left, whichever is shorter; the deadline's error once it has passed."""
        left = self.remaining()
        if left <= 0:
            raise self.error(detail)
        return min(timeout, left)


def call_within(deadline: Deadline, call: Callable[[], T], what: str) -> T:
    """``call()`` (a blocking call nothing can interrupt: a name lookup) within the deadline. Past it the
    call is abandoned in its daemon thread, which ends whenever the call returns, and the deadline's
    error is raised with ``what`` in it."""
    if deadline.at == math.inf:
        return call()
    result: list[T] = []
    failure: list[BaseException] = []
    done = threading.Event()

    def run() -> None:
        try:
            result.append(call())
        except BaseException as exc:  # handed to the caller as it is
            failure.append(exc)
        finally:
            done.set()

    threading.Thread(target=run, name="bounded-call", daemon=True).start()
    if not done.wait(max(0.0, deadline.remaining())):
        raise deadline.error(what)
    if failure:
        raise failure[0]
    return result[0]


class Watch:
    """One socket under watch: shut down at the deadline unless :meth:`cancel` came first."""

    __slots__ = ("_dup", "_lock", "fired")

    def __init__(self, sock: socket.socket) -> None:
        # A duplicate of the descriptor: it stays valid when TLS takes the original over (ssl detaches
        # it) and cannot be reused for another socket while we hold it; shutting it down shuts the
        # connection down for every descriptor of it.
        self._dup: socket.socket | None = sock.dup()
        self._lock = threading.Lock()
        self.fired = False

    def fire(self) -> None:
        with self._lock:
            if self._dup is None:
                return
            self.fired = True
            with contextlib.suppress(OSError):  # already closed by the peer
                self._dup.shutdown(socket.SHUT_RDWR)
            self._dup.close()
            self._dup = None

    def cancel(self) -> None:
        with self._lock:
            if self._dup is not None:
                self._dup.close()
                self._dup = None

    @property
    def active(self) -> bool:
        return self._dup is not None


class SocketWatchdog:
    """One daemon thread that shuts sockets down at their deadlines (lazily started, process-wide)."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._heap: list[tuple[float, int, Watch]] = []
        self._order = itertools.count()
        self._thread: threading.Thread | None = None

    def watch(self, sock: socket.socket, deadline: Deadline) -> Watch | None:
        """Shut ``sock`` down when ``deadline`` passes (None without a deadline); cancel it on close."""
        if deadline.at == math.inf:
            return None
        entry = Watch(sock)
        with self._cond:
            heapq.heappush(self._heap, (deadline.at, next(self._order), entry))
            self._compact()
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="fetch-watchdog", daemon=True)
                self._thread.start()
            self._cond.notify()
        return entry

    def _compact(self) -> None:
        """Drop cancelled watches once they are most of the heap (kept-alive connections of long fetches)."""
        if len(self._heap) > 256:
            live = [item for item in self._heap if item[2].active]
            if len(live) < len(self._heap) // 2:
                heapq.heapify(live)
                self._heap = live

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._heap or self._heap[0][0] > time.monotonic():
                    wait = None if not self._heap else self._heap[0][0] - time.monotonic()
                    self._cond.wait(wait)
                _, _, entry = heapq.heappop(self._heap)
            entry.fire()


WATCHDOG = SocketWatchdog()
