"""The local runtime: the Lambda SQS event source, reproduced on one machine with the same handlers.

``MAX_WORKERS`` worker threads (:mod:`event_source`) each receive a batch from the main queue, invoke
the transcriber handler with a Lambda-shaped SQS event, delete the records that succeeded and leave the ones named in
``batchItemFailures`` to come back (after the backoff the handler set, or the visibility timeout);
SQS's redrive moves a message to the dead-letter queue on its third receive, where a DLQ thread
invokes the DLQ-consumer handler. The fetcher handler runs on a timer, or until the backlog is empty
with ``once``.

Stopping (:class:`StopRequest`, set by the command line's signal handlers): the pollers stop
receiving, the transcriptions in flight get ``SHUTDOWN_GRACE_SECONDS`` to finish, and what is still
unfinished then is given back (``workflow.stopping.release_unfinished``) from this thread: worker
threads cannot be interrupted inside a model call, so they are left behind, and whatever they
finish later cannot undo the release (their writes carry their claim's token, and their messages
are no longer theirs to delete).
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from ..handlers import dlq_consumer_handler, fetcher_handler, transcriber_handler
from ..observability import logger
from ..services import Services
from ..workflow import Outcome, ProcessResult, Released, recover_abandoned, release_unfinished
from .event_source import EventSourcePoller
from .lambda_emulation import Handler, WarmFunctions, invoke, scheduled_event
from .process_identity import is_dead, machine_prefix, process_identity


class StopRequest:
    """A request to stop a run: the first :meth:`request` starts a clean stop, a second one cuts the
    grace period short. Safe to call from a signal handler."""

    def __init__(self) -> None:
        self.requested = threading.Event()
        self.hurry = threading.Event()
        self.reason: str | None = None
        self._listeners: list[threading.Event] = []

    def subscribe(self, event: threading.Event) -> None:
        """Set ``event`` too when a stop is requested (a run loop that waits on more than the stop)."""
        self._listeners.append(event)
        if self.requested.is_set():
            event.set()

    def request(self, reason: str) -> None:
        if self.requested.is_set():
            self.hurry.set()
            return
        self.reason = reason
        self.requested.set()
        for event in self._listeners:
            event.set()


@dataclass
class RunTally:
    """What this run's handlers did, counted from their own results (not from the database, which
    other processes write too and where an old failure keeps its old time)."""

    transcribed: int = 0
    without_speech: int = 0  # transcribed, and found to hold no speech (the model was not called)
    audio_seconds: float = 0.0
    speech_seconds: float = 0.0
    failed_by_type: Counter[str] = field(default_factory=Counter)
    retried: int = 0
    skipped: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, result: ProcessResult) -> None:
        with self.lock:
            if result.outcome is Outcome.TRANSCRIBED:
                self.transcribed += 1
                self.without_speech += result.no_speech
                self.audio_seconds += result.audio_seconds
                self.speech_seconds += result.speech_seconds
            elif result.outcome is Outcome.FAILED:
                self.failed_by_type[result.error_type or "Unknown"] += 1
            elif result.outcome is Outcome.RETRY:
                self.retried += 1
            else:
                self.skipped += 1

    @property
    def failed(self) -> int:
        with self.lock:
            return sum(self.failed_by_type.values())


@dataclass
class RuntimeReport:
    transcriber_invocations: int
    transcriber_max_concurrency: int
    record_failures: int
    dead_letters: int
    wall_seconds: float
    tally: RunTally = field(default_factory=RunTally)
    stopped_by: str | None = None  # the reason of the StopRequest that ended the run
    released: Released | None = None  # what a stop gave back
    abandoned_threads: int = 0  # workers still inside a handler when the run returned


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
        stop_request: StopRequest | None = None,
        on_grace: Callable[[int, float], None] | None = None,
    ) -> None:
        """``on_grace(busy, seconds)`` is told when a stop starts waiting for busy workers."""
        self.services = services
        self.settings = services.settings
        self.workers = workers or self.settings.max_workers
        self.batch_size = batch_size
        self.poll_interval = poll_interval
        self.on_tick = on_tick
        self.on_grace = on_grace
        self.stop_request = stop_request or StopRequest()
        self.stop_event = threading.Event()  # the pollers' own: stop receiving
        self._wake = threading.Event()  # the main loop's: a stop request, or a worker back from a handler
        self.stop_request.subscribe(self._wake)
        self.tally = RunTally()

    def run(self, *, once: bool) -> RuntimeReport:
        region = self.settings.aws_region
        started = time.monotonic()
        claimed_by = process_identity()
        observing = threading.Event()  # outcomes count for this run until it returns
        observing.set()

        def observe(result: ProcessResult) -> None:
            if observing.is_set():
                self.tally.add(result)

        warm = WarmFunctions()  # this run's functions: each one's first invocation is its cold start
        fetcher, pollers = self._handlers(claimed_by, observe, warm)
        transcribers, dead_letters = pollers
        report = RuntimeReport(0, 0, 0, 0, 0.0, tally=self.tally)
        try:
            next_fetch = 0.0
            started_pollers = False
            try:
                while not self.stop_request.requested.is_set():
                    self._wake.clear()  # before looking: what happens from here on wakes the wait below
                    now = time.monotonic()
                    enqueued = -1  # no fetch this time: not a sign that the backlog is empty
                    idle = not (transcribers.busy or dead_letters.busy)
                    # Once: fetch on every tick, and as soon as the last busy worker comes back.
                    if now >= next_fetch or (once and idle):
                        self._recover_abandoned()
                        try:
                            enqueued = invoke(
                                fetcher, scheduled_event(region), "vidscribe-fetcher", warm=warm
                            )["enqueued"]
                        except Exception as exc:  # as in AWS, a failed scheduled run is only that run
                            logger.warning("fetch failed", extra={"error_type": type(exc).__name__, "error": str(exc)})
                        next_fetch = now + (self.poll_interval if once else self.settings.fetch_interval_seconds)
                    # After the first fetch, so that the workers find work at once; not if a stop came meanwhile.
                    if not started_pollers and not self.stop_request.requested.is_set():
                        for poller in pollers:
                            poller.start()
                        started_pollers = True
                    if self.on_tick:
                        self.on_tick()
                    if once and enqueued == 0 and self._drained(transcribers, dead_letters):
                        break
                    self._wake.wait(self.poll_interval)
            finally:
                self.stop_event.set()
                report.stopped_by = self.stop_request.reason
                report.abandoned_threads, report.released = self._wind_down(pollers, claimed_by)
        finally:
            observing.clear()  # a worker still inside a handler no longer counts for this run
        report.transcriber_invocations = transcribers.stats.invocations
        report.transcriber_max_concurrency = transcribers.stats.max_busy
        report.record_failures = transcribers.stats.record_failures
        report.dead_letters = dead_letters.stats.records
        report.wall_seconds = time.monotonic() - started
        return report

    def _handlers(
        self, claimed_by: str, observe: Callable[[ProcessResult], None], warm: WarmFunctions
    ) -> tuple[Handler, list[EventSourcePoller]]:
        """The handlers Lambda runs, around this run's services: its claims, its tally of outcomes;
        the fetcher's, and the pollers that invoke the other two."""
        services = self.services

        def ours() -> Services:
            return services

        # Warm up before the workers start, as a cold start would: the database, the queues, the model.
        _ = services.store, services.queue, services.dlq, services.backend
        region = self.settings.aws_region
        pollers = [
            EventSourcePoller(
                "vidscribe-transcriber",
                services.queue,
                transcriber_handler(ours, claimed_by=claimed_by, observe=observe),
                region=region,
                concurrency=self.workers,
                batch_size=self.batch_size,
                stop=self.stop_event,
                timeout_seconds=self.settings.transcriber_timeout_seconds,
                on_idle=self._wake,
                warm=warm,
            ),
            EventSourcePoller(
                "vidscribe-dlq-consumer",
                services.dlq,
                dlq_consumer_handler(ours, observe=observe),
                region=region,
                concurrency=1,
                batch_size=10,
                stop=self.stop_event,
                on_idle=self._wake,
                warm=warm,
            ),
        ]
        return fetcher_handler(ours), pollers

    def _wind_down(self, pollers: list[EventSourcePoller], claimed_by: str) -> tuple[int, Released | None]:
        """Let the workers finish: for ever after a normal end; within the grace period after a stop
        request, then give back what is unfinished. Returns (workers left running, what was given back)."""
        if not self.stop_request.requested.is_set():
            for poller in pollers:
                poller.join()
            return 0, None
        grace = self.settings.shutdown_grace_seconds
        busy = sum(p.busy for p in pollers)
        if busy and self.on_grace:
            self.on_grace(busy, grace)
        deadline = time.monotonic() + grace
        for poller in pollers:
            poller.join(deadline, self.stop_request.hurry)
        transcribers, dead_letters = pollers
        unfinished, letters = transcribers.release_held(), dead_letters.release_held()
        for poller in pollers:
            poller.join_idle(1.5)
        running = sum(p.busy for p in pollers)
        if not unfinished and not letters:
            return running, None
        released = release_unfinished(
            self.settings,
            self.services.store,
            self.services.queue,
            unfinished,
            claimed_by,
            dlq=self.services.dlq,
            dead_letters=letters,
        )
        logger.warning(
            "stopped with work unfinished: given back",
            extra={"videos": released.videos, "messages": released.messages, "lost_messages": released.lost_messages},
        )
        return running, released

    def _recover_abandoned(self) -> None:
        prefix = machine_prefix()
        if prefix is None:
            return
        try:
            recover_abandoned(self.settings, self.services.store, prefix, is_dead)
        except Exception as exc:  # the database is away: the next tick tries again
            logger.warning("could not look for abandoned claims", extra={"error": str(exc)})

    def _drained(self, transcribers: EventSourcePoller, dead_letters: EventSourcePoller) -> bool:
        if transcribers.busy or dead_letters.busy:
            return False
        # In-flight messages count too: a failed attempt waits out its backoff invisible.
        return sum(self.services.queue.depth()) == 0 and sum(self.services.dlq.depth()) == 0

    def stop(self, reason: str = "stop()") -> None:
        self.stop_request.request(reason)
