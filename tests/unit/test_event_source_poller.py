"""The local runtime's SQS event source: it never sits in a poll a stop cannot cut short, backs off to
one poll a second when idle, and tells the run loop at once when a worker comes back from a handler."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from typing import Any

from vidscribe.local.event_source import IDLE_PAUSES, EventSourcePoller
from vidscribe.local.runtime import StopRequest
from vidscribe.models import ReceivedMessage


class ListQueue:
    """A queue holding a list of messages, recording how it was polled."""

    def __init__(self, messages: Sequence[ReceivedMessage] = ()) -> None:
        self.messages = list(messages)
        self.waits: list[int] = []  # each receive's WaitTimeSeconds
        self.deleted: list[str] = []
        self.lock = threading.Lock()

    def receive(self, max_messages: int = 1, wait_seconds: int = 0) -> list[ReceivedMessage]:
        with self.lock:
            self.waits.append(wait_seconds)
            taken, self.messages = self.messages[:max_messages], self.messages[max_messages:]
            return taken

    def delete(self, receipt_handles: Sequence[str]) -> None:
        self.deleted.extend(receipt_handles)

    def change_visibility(self, receipt_handle: str, seconds: int) -> None:
        raise AssertionError("nothing is given back here")

    def arn(self) -> str:
        return "arn:aws:sqs:local:000000000000:q"

    @property
    def url(self) -> str:
        return "http://sqs.local/q"

    def send(self, bodies: Sequence[str]) -> int:
        raise AssertionError("a poller does not send")

    def depth(self) -> tuple[int, int]:
        return len(self.messages), 0


class CountedStop(threading.Event):
    """A stop event that records each pause a worker asks of it and sets itself after ``pauses``."""

    def __init__(self, pauses: int) -> None:
        super().__init__()
        self.pauses = pauses
        self.asked: list[float | None] = []

    def wait(self, timeout: float | None = None) -> bool:
        self.asked.append(timeout)
        if len(self.asked) >= self.pauses:
            self.set()
        return self.is_set()


def poller(queue: ListQueue, stop: threading.Event, on_idle: threading.Event | None = None) -> EventSourcePoller:
    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        return {"batchItemFailures": []}

    return EventSourcePoller(
        "test", queue, handler, region="local", concurrency=1, batch_size=1, stop=stop, on_idle=on_idle
    )


def message(n: int) -> ReceivedMessage:
    return ReceivedMessage(message_id=f"m{n}", receipt_handle=f"r{n}", body="{}", receive_count=1)


def test_an_idle_worker_short_polls_backing_off_to_one_poll_a_second_and_stops_between_polls() -> None:
    queue, stop = ListQueue(), CountedStop(pauses=len(IDLE_PAUSES) + 3)
    workers = poller(queue, stop)
    workers.start()
    assert workers.join(deadline=time.monotonic() + 30) == 0  # a guard: a busy loop would never end
    assert set(queue.waits) == {0}  # no long poll: the stop is seen at the next pause, not a poll later
    assert stop.asked == [*IDLE_PAUSES, 1.0, 1.0, 1.0]
    assert len(queue.waits) == len(stop.asked)  # and no receive after the stop


def test_work_resets_the_backoff_and_a_worker_back_from_the_handler_wakes_the_run_loop() -> None:
    queue, stop, idle = ListQueue([message(1), message(2)]), CountedStop(pauses=3), threading.Event()
    workers = poller(queue, stop, on_idle=idle)
    workers.start()
    assert workers.join(deadline=time.monotonic() + 30) == 0  # a guard: a busy loop would never end
    assert idle.is_set()
    assert queue.deleted == ["r1", "r2"]
    assert workers.stats.invocations == 2
    assert stop.asked == list(IDLE_PAUSES[:3])  # the pauses start only after the work ran out


def test_a_stop_request_wakes_what_subscribed_before_or_after_it() -> None:
    stop = StopRequest()
    before, after = threading.Event(), threading.Event()
    stop.subscribe(before)
    assert not before.is_set()
    stop.request("SIGTERM")
    stop.subscribe(after)
    assert before.is_set() and after.is_set() and stop.reason == "SIGTERM"
