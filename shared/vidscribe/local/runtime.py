"""The local runtime: the Lambda SQS event source, reproduced on one machine with the same handlers.

``MAX_WORKERS`` worker threads each receive a batch from the main queue, invoke the transcriber
handler with a Lambda-shaped SQS event, delete the records that succeeded and leave the ones named in
``batchItemFailures`` to come back (after the backoff the handler set, or the visibility timeout);
SQS's redrive moves a message to the dead-letter queue on its third receive, where a DLQ thread
invokes the DLQ-consumer handler. The fetcher handler runs on a timer, or until the backlog is empty
with ``once``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from ..models import ReceivedMessage
from ..observability import logger
from ..ports import PolledQueue
from ..services import Services, use_services
from .lambda_emulation import Handler, invoke, scheduled_event, sqs_event


@dataclass
class WorkerStats:
    invocations: int = 0
    records: int = 0
    record_failures: int = 0
    busy: int = 0
    max_busy: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


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
    ) -> None:
        self.name = name
        self.queue = queue
        self.handler = handler
        self.region = region
        self.concurrency = concurrency
        self.batch_size = batch_size
        self.stop = stop
        self.stats = WorkerStats()
        self._arn = queue.arn()
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        for i in range(self.concurrency):
            thread = threading.Thread(target=self._loop, name=f"{self.name}-{i}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def join(self) -> None:
        for thread in self._threads:
            thread.join()

    @property
    def busy(self) -> int:
        return self.stats.busy

    def _loop(self) -> None:
        while not self.stop.is_set():
            try:
                messages = self.queue.receive(self.batch_size, wait_seconds=1)
            except Exception as exc:  # the endpoint is down: keep the worker, try again
                logger.warning("receive failed", extra={"queue": self.name, "error": str(exc)})
                self.stop.wait(1.0)
                continue
            if messages:
                self._invoke(messages)

    def _invoke(self, messages: list[ReceivedMessage]) -> None:
        with self.stats.lock:
            self.stats.busy += 1
            self.stats.max_busy = max(self.stats.max_busy, self.stats.busy)
            self.stats.invocations += 1
            self.stats.records += len(messages)
        try:
            try:
                response = invoke(self.handler, sqs_event(messages, self._arn, self.region), self.name)
            except Exception as exc:
                # As in Lambda: a handler that raises fails the whole batch; the messages come back.
                logger.exception("handler raised", extra={"queue": self.name, "error": str(exc)})
                return
            failed = {item["itemIdentifier"] for item in (response or {}).get("batchItemFailures", [])}
            done = [m.receipt_handle for m in messages if m.message_id not in failed]
            with self.stats.lock:
                self.stats.record_failures += len(failed)
            if done:
                try:
                    self.queue.delete(done)
                except Exception as exc:  # they come back and are skipped as already done
                    logger.warning("delete failed", extra={"queue": self.name, "error": str(exc)})
        finally:
            with self.stats.lock:
                self.stats.busy -= 1


@dataclass
class RuntimeReport:
    transcriber_invocations: int
    transcriber_max_concurrency: int
    record_failures: int
    dead_letters: int
    wall_seconds: float


class LocalRuntime:
    """Runs the fetcher, the transcriber and the DLQ consumer handlers against real queues."""

    def __init__(
        self,
        services: Services,
        *,
        workers: int | None = None,
        batch_size: int = 1,
        poll_interval: float = 0.5,
        on_tick: Callable[[], None] | None = None,
    ) -> None:
        self.services = services
        self.settings = services.settings
        self.workers = workers or self.settings.max_workers
        self.batch_size = batch_size
        self.poll_interval = poll_interval
        self.on_tick = on_tick
        self.stop_event = threading.Event()

    def run(self, *, once: bool) -> RuntimeReport:
        # The handlers find their adapters through get_services(): give them ours.
        use_services(self.services)
        from functions.dlq_consumer.app import handler as dlq_handler
        from functions.fetcher.app import handler as fetcher_handler
        from functions.transcriber.app import handler as transcriber_handler

        region = self.settings.aws_region
        started = time.monotonic()
        # Warm up before the workers start, as a cold start would: the database, the queues, the model.
        _ = self.services.store, self.services.queue, self.services.dlq, self.services.backend
        transcribers = EventSourcePoller(
            "vidscribe-transcriber",
            self.services.queue,
            transcriber_handler,
            region=region,
            concurrency=self.workers,
            batch_size=self.batch_size,
            stop=self.stop_event,
        )
        dead_letters = EventSourcePoller(
            "vidscribe-dlq-consumer",
            self.services.dlq,
            dlq_handler,
            region=region,
            concurrency=1,
            batch_size=10,
            stop=self.stop_event,
        )
        transcribers.start()
        dead_letters.start()
        next_fetch = 0.0
        try:
            while not self.stop_event.is_set():
                now = time.monotonic()
                enqueued = 0
                if once or now >= next_fetch:
                    try:
                        enqueued = invoke(fetcher_handler, scheduled_event(region), "vidscribe-fetcher")["enqueued"]
                    except Exception as exc:  # as in AWS, a failed scheduled run is only that run
                        logger.warning("fetch failed", extra={"error_type": type(exc).__name__, "error": str(exc)})
                        enqueued = -1  # not a sign that the backlog is empty
                    next_fetch = now + self.settings.fetch_interval_seconds
                if self.on_tick:
                    self.on_tick()
                if once and enqueued == 0 and self._drained(transcribers, dead_letters):
                    break
                self.stop_event.wait(self.poll_interval)
        finally:
            self.stop_event.set()
            transcribers.join()
            dead_letters.join()
        return RuntimeReport(
            transcriber_invocations=transcribers.stats.invocations,
            transcriber_max_concurrency=transcribers.stats.max_busy,
            record_failures=transcribers.stats.record_failures,
            dead_letters=dead_letters.stats.records,
            wall_seconds=time.monotonic() - started,
        )

    def _drained(self, transcribers: EventSourcePoller, dead_letters: EventSourcePoller) -> bool:
        if transcribers.busy or dead_letters.busy:
            return False
        # In-flight messages count too: a failed attempt waits out its backoff invisible.
        return sum(self.services.queue.depth()) == 0 and sum(self.services.dlq.depth()) == 0

    def stop(self) -> None:
        self.stop_event.set()
