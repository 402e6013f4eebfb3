"""Run independent calls on a few threads, stopping at the first failure."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import FIRST_EXCEPTION, CancelledError, Future, ThreadPoolExecutor, wait
from typing import Any


def map_failing_fast(fn: Callable[..., Any], items: list[tuple[Any, ...]], workers: int) -> list[Any]:
    """``[fn(*item) for item in items]`` on ``workers`` threads, results in order. After the first
    failure no further item starts (no point paying for chunks of a transcript that will not be
    stored); the earliest failing item's exception is raised."""
    stop = threading.Event()

    def guarded(*item: Any) -> Any:
        if stop.is_set():
            raise CancelledError()
        try:
            return fn(*item)
        except BaseException:
            stop.set()
            raise

    executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="openai-chunk")
    try:
        futures: list[Future[Any]] = [executor.submit(guarded, *item) for item in items]
        wait(futures, return_when=FIRST_EXCEPTION)
        if stop.is_set():
            for future in futures:
                future.cancel()
            wait(futures)  # let the uploads in flight finish before reporting
            for future in futures:
                if not future.cancelled():
                    error = future.exception()
                    if error is not None and not isinstance(error, CancelledError):
                        raise error
        return [future.result() for future in futures]
    finally:
        executor.shutdown(wait=True, cancel_futures=True)
