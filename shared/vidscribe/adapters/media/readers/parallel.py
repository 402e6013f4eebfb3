"""Several requests in flight, in order, within a bounded window ahead of the reader.

:class:`WindowedFetcher` fetches a numbered list of items (byte ranges of one file, or the segments of an
HLS playlist) with ``connections`` worker threads, each with its own kept-alive connection. Workers take
the lowest item not yet fetched, but never more than ``window`` (bytes, or items) ahead of the item the
reader is at: memory stays flat in the file's size while the link carries ``connections`` requests at
once, so the link's latency is paid once per ``connections`` requests instead of once per request.

The reader calls :meth:`get` for the item it needs: it waits for that item only, and moving the reader
moves the window (a demuxer that jumps back re-fetches what was dropped, which costs time, never memory).
A failed request is retried once at once (a dropped connection among hundreds of requests), unless the
fetch's deadline has passed; a second failure stops the workers and is raised to the reader when it
reaches the failed item. The reader's waits end at the deadline too.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Sequence
from typing import Protocol

import numpy as np

from ....errors import FetchError, VidscribeError
from ..deadline import Deadline

_WAIT_STEP = 0.5  # seconds between checks of the deadline while the reader waits


class Worker(Protocol):
    """One connection: fetches item ``i``; raises a VidscribeError on failure."""

    def fetch(self, i: int) -> bytes: ...

    def close(self) -> None: ...


class WindowedFetcher:
    def __init__(
        self,
        weights: Sequence[int] | np.ndarray,
        make_worker: Callable[[], Worker],
        *,
        connections: int,
        window: int,
        keep_behind: int = 0,
        deadline: Deadline | None = None,
    ) -> None:
        """``weights[i]``: what item ``i`` counts against ``window`` (its bytes, or 1 per item);
        ``keep_behind``: how much already read to keep (a demuxer re-reads a little after a seek);
        ``deadline``: the fetch's (none: the reader waits as long as the workers take)."""
        self.n = len(weights)
        self._prefix = np.concatenate([[0], np.cumsum(np.asarray(weights, dtype=np.int64))])
        self._window = max(1, window)
        self._behind = keep_behind
        self._deadline = deadline or Deadline(None, "")
        self._cond = threading.Condition()
        self._state = np.zeros(self.n, dtype=np.int8)  # 0 to fetch, 1 in flight, 2 held
        self._held: dict[int, bytes] = {}
        self._held_weight = 0
        self._read: set[int] = set()  # held items the reader has had
        self._cursor = 0  # the item the reader is at
        self._frontier = 0  # no item below it (and at or after the cursor) is still to fetch
        self._failure: tuple[int, VidscribeError] | None = None
        self._closed = False
        self.retries = 0
        self.peak_held = 0  # the most (in weight) ever held at once: memory stays within window + keep_behind
        self._threads = [
            threading.Thread(target=self._run, args=(make_worker,), name=f"fetch-{i}", daemon=True)
            for i in range(max(1, min(connections, self.n)))
        ]
        for thread in self._threads:
            thread.start()

    # --- the reader's side --------------------------------------------------------------------------
    def get(self, i: int) -> bytes:
        """Item ``i`` (waits for it); raises the error that stopped the workers if it cannot come."""
        with self._cond:
            self._move(i)
            while True:
                data = self._held.get(i)
                if data is not None:
                    self._read.add(i)
                    return data
                if self._failure is not None and (self._failure[0] <= i or self._state[i] == 0):
                    raise self._failure[1]
                if self._closed:
                    raise FetchError("the download was stopped")
                self._cond.wait(_WAIT_STEP)
                if i not in self._held:
                    self._deadline.check()

    def advance(self, i: int) -> None:
        """The reader is about to need item ``i`` (it is reading what lies before it): move the window."""
        with self._cond:
            self._move(min(i, self.n - 1))

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._held.clear()
            self._held_weight = 0
            self._cond.notify_all()
        for thread in self._threads:
            thread.join(timeout=5)

    def _move(self, i: int) -> None:
        if i == self._cursor:
            return
        if i < self._cursor:
            self._frontier = i
        self._cursor = i
        self._evict()
        self._cond.notify_all()

    def _evict(self) -> None:
        """Drop what was read and lies behind ``keep_behind`` or beyond the window; then, while more
        than the window and ``keep_behind`` together is held, what lies farthest from the reader
        (a demuxer that reads a file's last bytes and returns keeps what was fetched at the start)."""
        lo = self._prefix[self._cursor] - self._behind
        hi = self._prefix[self._cursor] + self._window
        stale = [k for k in self._held if k in self._read and (self._prefix[k + 1] <= lo or self._prefix[k] >= hi)]
        for k in stale:
            self._drop(k)
        budget = self._window + self._behind
        if self._held_weight > budget:
            for k in sorted(self._held, key=lambda k: -abs(k - self._cursor)):
                if self._held_weight <= budget or k == self._cursor:
                    break
                self._drop(k)

    def _drop(self, k: int) -> None:
        del self._held[k]
        self._read.discard(k)
        self._state[k] = 0
        self._held_weight -= int(self._prefix[k + 1] - self._prefix[k])
        self._frontier = min(self._frontier, k)

    # --- the workers' side ----------------------------------------------------------------------------
    def _next(self) -> int | None:
        """The lowest item to fetch inside the window (called with the lock held)."""
        start = max(self._frontier, self._cursor)
        limit = self._prefix[self._cursor] + self._window
        j = start
        while j < self.n and self._state[j] != 0:
            j += 1
        self._frontier = j
        if j >= self.n or (j > self._cursor and self._prefix[j + 1] > limit):
            return None
        return j

    def _run(self, make_worker: Callable[[], Worker]) -> None:
        worker: Worker | None = None
        try:
            worker = make_worker()
            while True:
                with self._cond:
                    job = None
                    while not self._closed and self._failure is None and (job := self._next()) is None:
                        self._cond.wait()
                    if self._closed or self._failure is not None or job is None:
                        return
                    j = job
                    self._state[j] = 1
                try:
                    data = self._fetch(worker, j)
                except VidscribeError as exc:
                    with self._cond:
                        self._state[j] = 0
                        if self._failure is None or j < self._failure[0]:
                            self._failure = (j, exc)
                        self._cond.notify_all()
                    return
                with self._cond:
                    if self._closed:
                        return
                    self._held[j] = data
                    self._state[j] = 2
                    self._held_weight += int(self._prefix[j + 1] - self._prefix[j])
                    self.peak_held = max(self.peak_held, self._held_weight)
                    self._evict()  # the reader may have moved away meanwhile
                    self._cond.notify_all()
        except VidscribeError as exc:  # the worker could not even be set up
            with self._cond:
                if self._failure is None:
                    self._failure = (0, exc)
                self._cond.notify_all()
        finally:
            if worker is not None:
                worker.close()

    def _fetch(self, worker: Worker, j: int) -> bytes:
        def retried() -> None:
            with self._cond:
                self.retries += 1

        return retry_once(lambda: worker.fetch(j), self._deadline, retried)


def retry_once(fetch: Callable[[], bytes], deadline: Deadline, on_retry: Callable[[], None] | None = None) -> bytes:
    """``fetch()``, once more at once if it failed in a way a retry may fix (not past the deadline)."""
    try:
        return fetch()
    except VidscribeError as exc:
        if not may_retry(exc, deadline):
            raise
        if on_retry is not None:
            on_retry()
        return fetch()


def may_retry(exc: VidscribeError, deadline: Deadline) -> bool:
    """Whether one more try may help: a retryable error, with time left (past the deadline, whatever the
    error, the retry would only meet the deadline)."""
    return exc.retryable and not deadline.expired


# --- items streamed in order (HLS segments) ------------------------------------------------------------
class StreamWorker(Protocol):
    """One connection: streams item ``i`` into ``emit`` chunk by chunk; raises a VidscribeError on failure."""

    def stream(self, i: int, emit: Callable[[bytes], None]) -> None: ...

    def close(self) -> None: ...


class _Stopped(Exception):
    """The fetcher was closed, or failed before this item: the worker stops."""


class StreamingFetcher:
    """Items of unknown size (HLS segments, their init section) fetched ``connections`` at a time and read
    in order as one stream, chunk by chunk, within ``window`` bytes.

    The item the reader is at streams through: its worker hands over chunks as they arrive and waits
    while an eighth of the window of them is unread. The items ahead share the window: a worker whose
    item is ahead waits (its connection paused: TCP holds the server back) while that much is buffered,
    and no new item starts. So memory stays within the window and its eighth, whatever an item's size:
    a 1 GiB segment streams through like a small one. A failed item is retried once at once if the
    reader has had none of it; a failure is raised to the reader when it reaches that item.
    """

    def __init__(
        self,
        n: int,
        make_worker: Callable[[], StreamWorker],
        *,
        connections: int,
        window: int,
        deadline: Deadline | None = None,
    ) -> None:
        self.n = n
        self._window = max(1, window)
        self._streaming = max(1, window // 8)  # what the item being read may have buffered
        self._deadline = deadline or Deadline(None, "")
        self._cond = threading.Condition()
        self._chunks: dict[int, deque[bytes]] = {}
        self._buffered: dict[int, int] = {}
        self._total = 0  # bytes buffered, all items
        self._offset = 0  # bytes of the cursor's first chunk already read
        self._done: set[int] = set()
        self._touched: set[int] = set()  # items the reader has had bytes of (no retry from scratch then)
        self._next = 0  # the next item a worker starts
        self._cursor = 0  # the item the reader is at
        self._failure: tuple[int, VidscribeError] | None = None
        self._closed = False
        self.retries = 0
        self.peak_buffered = 0  # the most bytes ever buffered at once
        self._threads = [
            threading.Thread(target=self._run, args=(make_worker,), name=f"stream-{i}", daemon=True)
            for i in range(max(1, min(connections, n)))
        ]
        for thread in self._threads:
            thread.start()

    # --- the reader's side --------------------------------------------------------------------------
    def read(self, n: int) -> bytes:
        """Up to ``n`` next bytes of the stream (waits for them); b"" at its end."""
        with self._cond:
            while self._cursor < self.n:
                queue = self._chunks.get(self._cursor)
                if queue:
                    return self._take(queue, max(1, n))
                if self._cursor in self._done:
                    self._cursor += 1
                    self._cond.notify_all()
                    continue
                if self._failure is not None and self._failure[0] <= self._cursor:
                    raise self._failure[1]
                if self._closed:
                    raise FetchError("the download was stopped")
                self._cond.wait(_WAIT_STEP)
                self._deadline.check()
            return b""

    def _take(self, queue: deque[bytes], n: int) -> bytes:
        chunk = queue[0]
        piece = chunk[self._offset : self._offset + n]
        self._offset += len(piece)
        if self._offset >= len(chunk):
            queue.popleft()
            self._offset = 0
        self._buffered[self._cursor] -= len(piece)
        self._total -= len(piece)
        self._touched.add(self._cursor)
        self._cond.notify_all()
        return piece

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._chunks.clear()
            self._total = 0
            self._cond.notify_all()
        for thread in self._threads:
            thread.join(timeout=5)

    # --- the workers' side ----------------------------------------------------------------------------
    def _stopped_for(self, i: int) -> bool:
        return self._closed or (self._failure is not None and self._failure[0] < i)

    def _may_start(self) -> bool:
        if self._next >= self.n or self._stopped_for(self._next):
            return False
        return self._next == self._cursor or self._total < self._window

    def _full(self, i: int) -> bool:
        if i == self._cursor:
            return self._buffered.get(i, 0) >= self._streaming
        return self._total >= self._window

    def _emit(self, i: int, chunk: bytes) -> None:
        if not chunk:
            return
        with self._cond:
            while not self._stopped_for(i) and self._full(i):
                self._cond.wait()
            if self._stopped_for(i):
                raise _Stopped
            self._chunks.setdefault(i, deque()).append(chunk)
            self._buffered[i] = self._buffered.get(i, 0) + len(chunk)
            self._total += len(chunk)
            self.peak_buffered = max(self.peak_buffered, self._total)
            self._cond.notify_all()

    def _run(self, make_worker: Callable[[], StreamWorker]) -> None:
        worker: StreamWorker | None = None
        try:
            worker = make_worker()
            while True:
                with self._cond:
                    while not self._may_start():
                        if self._next >= self.n or self._stopped_for(self._next):
                            return
                        self._cond.wait()  # the window is full: wait for the reader
                    i = self._next
                    self._next += 1
                if not self._fetch(worker, i):
                    return
        except VidscribeError as exc:  # the worker could not even be set up
            self._fail(0, exc)
        finally:
            if worker is not None:
                worker.close()

    def _fetch(self, worker: StreamWorker, i: int) -> bool:
        """Stream item ``i`` (once more at once if it failed before the reader had any of it)."""
        for attempt in (1, 2):
            try:
                worker.stream(i, lambda chunk: self._emit(i, chunk))
            except _Stopped:
                return False
            except VidscribeError as exc:
                with self._cond:
                    if attempt == 1 and may_retry(exc, self._deadline) and i not in self._touched and not self._closed:
                        self._forget(i)
                        self.retries += 1
                        continue
                self._fail(i, exc)
                return False
            with self._cond:
                self._done.add(i)
                self._cond.notify_all()
            return True
        return False

    def _forget(self, i: int) -> None:
        """Drop what item ``i`` buffered (called with the lock held)."""
        self._total -= self._buffered.pop(i, 0)
        self._chunks.pop(i, None)
        self._cond.notify_all()

    def _fail(self, i: int, exc: VidscribeError) -> None:
        with self._cond:
            if self._failure is None or i < self._failure[0]:
                self._failure = (i, exc)
            self._cond.notify_all()
