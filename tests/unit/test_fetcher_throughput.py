"""A simulated drain: does the fetcher keep every worker busy, whatever the schedule?

The real ``Fetcher`` runs against an in-memory queue and store on a simulated clock: every 900 s
(the default schedule) it tops the queue up; between runs 200 workers each take a message, spend
30 s on it and take the next. With the high-water mark from ``vidscribe.contract.queue_high_water``
the workers never wait for the schedule; with the old fixed defaults (100 per run, up to 100 queued)
the same backlog drains at 400 videos an hour.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from vidscribe.config import Settings
from vidscribe.contract import queue_high_water
from vidscribe.models import PendingVideo
from vidscribe.workflow import Fetcher

SCHEDULE_SECONDS = 900  # rate(15 minutes)
WORKERS = 200
VIDEO_SECONDS = 30


@dataclass
class Backlog:
    """The store's side of a backlog: reserve_pending hands out the next untouched videos."""

    total: int
    reserved: int = 0

    def reserve_pending(self, limit: int, queued_lease_seconds: int, *, queue_url: str) -> list[PendingVideo]:
        count = min(limit, self.total - self.reserved)
        videos = [PendingVideo(f"v{i}", f"https://media/v{i}.mp4") for i in range(self.reserved, self.reserved + count)]
        self.reserved += count
        return videos

    def release_reservation(self, video_ids: list[str]) -> None:
        raise AssertionError("every message was accepted")

    def record_failure(self, *args: object) -> int:
        raise AssertionError("every row is a valid message")


@dataclass
class SimulatedQueue:
    url: str = "simulated"
    visible: int = 0
    in_flight: int = 0
    sent: list[str] = field(default_factory=list)

    def send(self, bodies: list[str]) -> int:
        self.visible += len(bodies)
        self.sent.extend(bodies)
        return len(bodies)

    def depth(self) -> tuple[int, int]:
        return self.visible, self.in_flight

    def change_visibility(self, receipt_handle: str, seconds: int) -> None:
        raise AssertionError("nothing fails in this simulation")


def drain(settings: Settings, backlog: int, hours: float) -> tuple[int, float]:
    """(videos finished, share of worker time spent busy) after ``hours`` of simulated time."""
    store, queue = Backlog(backlog), SimulatedQueue()
    fetcher = Fetcher(settings, store, queue)  # duck-typed fakes of the ports
    free_at = [0.0] * settings.max_workers  # when each worker finishes its current video
    finished, busy, now, end = 0, 0.0, 0.0, hours * 3600
    next_fetch = 0.0
    while now < end:
        if now >= next_fetch:
            fetcher.run()
            next_fetch += SCHEDULE_SECONDS
        for worker, free in enumerate(free_at):
            if free <= now and queue.visible:
                queue.visible -= 1
                free_at[worker] = now + VIDEO_SECONDS
                finished += 1
                busy += VIDEO_SECONDS
        now += 1.0  # a worker polls at least once a second, as SQS long polling would wake it
    return finished, busy / (settings.max_workers * end)


@pytest.mark.parametrize("hours", [2])
def test_the_derived_high_water_keeps_200_workers_busy(hours: float) -> None:
    # Given 200 workers, 30 s per video, the default 15-minute schedule and a big backlog
    high_water = queue_high_water(WORKERS, SCHEDULE_SECONDS, VIDEO_SECONDS)
    settings = Settings.from_env({}, MAX_WORKERS=WORKERS, QUEUE_HIGH_WATER=high_water, FETCH_BATCH_SIZE=high_water)
    # When two hours pass
    finished, utilisation = drain(settings, backlog=100_000, hours=hours)
    # Then the backlog drains at the workers' pace (200 / 30 s = 24,000 an hour), not the schedule's
    assert high_water == 6000
    assert finished >= 0.99 * WORKERS * hours * 3600 / VIDEO_SECONDS
    assert utilisation >= 0.99


def test_the_old_fixed_defaults_starve_the_same_workers() -> None:
    # The control: 100 per run, at most 100 queued, caps the drain at 4 runs x 100 = 400 an hour.
    settings = Settings.from_env({}, MAX_WORKERS=WORKERS, QUEUE_HIGH_WATER=100, FETCH_BATCH_SIZE=100)
    finished, utilisation = drain(settings, backlog=100_000, hours=2)
    assert finished == 800
    assert utilisation < 0.05


@pytest.mark.parametrize(
    "workers, seconds, per_video, expected",
    [(2, 900, 30, 60), (200, 900, 30, 6000), (10, 60, 30, 20), (2, 60, 3600, 2)],
)
def test_the_formula(workers: int, seconds: int, per_video: int, expected: int) -> None:
    # ceil(workers x interval / seconds per video), and never fewer than one message per worker
    assert queue_high_water(workers, seconds, per_video) == expected


def test_the_formula_refuses_nonsense() -> None:
    with pytest.raises(ValueError):
        queue_high_water(0, 900, 30)
