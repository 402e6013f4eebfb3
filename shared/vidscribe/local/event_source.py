"""One SQS event source mapping, reproduced: ``concurrency`` threads polling a queue into a handler.

As in Lambda: each worker receives a batch, invokes the handler with a Lambda-shaped SQS event, deletes
the records that succeeded and leaves the ones named in ``batchItemFailures`` to come back; a handler
that raises fails the whole batch. For a clean stop it also knows which messages are in its workers'
hands (:meth:`EventSourcePoller.release_held`).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from ..models import ReceivedMessage
from ..observability import logger
from ..ports import PolledQueue
from .lambda_emulation import Handler, WarmFunctions, invoke, sqs_event


@dataclass
class WorkerStats:
    invocations: int = 0
    records: int = 0
    record_failures: int = 0
    busy: int = 0
    max_busy: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


# An idle worker polls again after these pauses (seconds), doubling up to the last. Short polls with
# an interruptible pause, not SQS long polls: a long poll cannot be cut short, so every stop (the end
# of a `run --once`, a SIGTERM) waited out up to a second of it. Idle, it is one request a second per
# worker, as the one-second long poll was.
IDLE_PAUSES = (0.02, 0.05, 0.1, 0.2, 0.5, 1.0)


class EventSourcePoller:
    """One SQS event source mapping: ``concurrency`` threads polling ``queue`` into ``handler``."""

    def __init__(
        self,
        name: str,
        queue: PolledQueue,
        handler: Handler,
        *,
        region: str,
        concurrency: int,
        batch_size: int,
        stop: threading.Event,
        timeout_seconds: int = 900,
        on_idle: threading.Event | None = None,
        warm: WarmFunctions | None = None,
    ) -> None:
        """``on_idle`` is set whenever a worker comes back from the handler; ``warm``: the run's
        started functions (Lambda's cold-start flag)."""
        self.name = name
        self.queue = queue
        self.handler = handler
        self.region = region
        self.concurrency = concurrency
        self.batch_size = batch_size
        self.stop = stop
        self.timeout_seconds = timeout_seconds  # each invocation's emulated Lambda timeout
        self.on_idle = on_idle
        self.warm = warm or WarmFunctions()
        self.stats = WorkerStats()
        self._arn = queue.arn()
        self._threads: list[threading.Thread] = []
        self._held: dict[str, list[ReceivedMessage]] = {}  # messages in each worker's hands
        self._in_handler: set[str] = set()  # the workers inside a handler right now
        self._released: set[str] = set()  # message ids given back: their late outcome is not ours

    def start(self) -> None:
        for i in range(self.concurrency):
            thread = threading.Thread(target=self._loop, name=f"{self.name}-{i}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def join(self, deadline: float | None = None, hurry: threading.Event | None = None) -> int:
        """Wait for the workers until ``deadline`` (monotonic; None: for ever) or ``hurry``; returns
        how many are still running."""
        for thread in self._threads:
            while thread.is_alive():
                left = None if deadline is None else deadline - time.monotonic()
                if (left is not None and left <= 0) or (hurry is not None and hurry.is_set()):
                    break
                thread.join(0.1 if left is None else min(0.1, left))
        return sum(thread.is_alive() for thread in self._threads)

    def join_idle(self, timeout: float) -> None:
        """Wait up to ``timeout`` for the workers that are not inside a handler (they are at most a
        poll away from noticing the stop)."""
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            with self.stats.lock:
                busy = thread.name in self._in_handler
            if not busy:
                thread.join(max(0.0, deadline - time.monotonic()))

    def release_held(self) -> list[ReceivedMessage]:
        """Take back the messages still in the workers' hands; a worker that finishes one of them
        later neither deletes it nor reports on it to the queue."""
        with self.stats.lock:
            held = [m for messages in self._held.values() for m in messages]
            self._released.update(m.message_id for m in held)
            self._held.clear()
        return held

    @property
    def busy(self) -> int:
        return self.stats.busy

    def _loop(self) -> None:
        empty_polls = 0
        while not self.stop.is_set():
            try:
                messages = self.queue.receive(self.batch_size, wait_seconds=0)
            except Exception as exc:  # the endpoint is down: keep the worker, try again
                logger.warning("receive failed", extra={"queue": self.name, "error": str(exc)})
                self.stop.wait(1.0)
                continue
            if messages and self.stop.is_set():
                # Received while stopping: not ours to start. Put it straight back.
                self._give_back(messages)
            elif messages:
                empty_polls = 0
                self._invoke(messages)
            else:
                self.stop.wait(IDLE_PAUSES[min(empty_polls, len(IDLE_PAUSES) - 1)])
                empty_polls += 1

    def _give_back(self, messages: list[ReceivedMessage]) -> None:
        for message in messages:
            try:
                self.queue.change_visibility(message.receipt_handle, 0)
            except Exception:  # its visibility timeout brings it back
                logger.warning("could not give a message back", extra={"queue": self.name})

    def _invoke(self, messages: list[ReceivedMessage]) -> None:
        me = threading.current_thread().name
        with self.stats.lock:
            self.stats.busy += 1
            self.stats.max_busy = max(self.stats.max_busy, self.stats.busy)
            self.stats.invocations += 1
            self.stats.records += len(messages)
            self._held[me] = messages
            self._in_handler.add(me)
        try:
            try:
                response = invoke(
                    self.handler, sqs_event(messages, self._arn, self.region), self.name, self.timeout_seconds,
                    self.warm,
                )
            except Exception as exc:
                # As in Lambda: a handler that raises fails the whole batch; the messages come back.
                logger.exception("handler raised", extra={"queue": self.name, "error": str(exc)})
                return
            failed = {item["itemIdentifier"] for item in (response or {}).get("batchItemFailures", [])}
            with self.stats.lock:
                self.stats.record_failures += len(failed)
                not_ours = failed | self._released
                done = [m.receipt_handle for m in messages if m.message_id not in not_ours]
            if done:
                try:
                    self.queue.delete(done)
                except Exception as exc:  # they come back and are skipped as already done
                    logger.warning("delete failed", extra={"queue": self.name, "error": str(exc)})
        finally:
            with self.stats.lock:
                self.stats.busy -= 1
                self._held.pop(me, None)
                self._in_handler.discard(me)
            if self.on_idle is not None:
                self.on_idle.set()
