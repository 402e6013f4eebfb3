"""The fetcher's decisions: which videos are queued, and how many at a time."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import ValidationError

from ..config import Settings
from ..errors import MalformedMessage, NotConfigured
from ..models import VideoMessage
from ..observability import logger
from ..ports import Queue, Store

DEFAULT_QUEUE_HIGH_WATER = 1000


@dataclass(frozen=True)
class FetchResult:
    enqueued: int
    queue_depth: int
    configured: bool = True


_reported_not_configured = False


def not_configured_yet(problem: NotConfigured) -> FetchResult:
    """A scheduled run before the deployment is complete (the database secret not set yet): say so
    once per process, clearly, and fetch nothing -- it is not an error for every schedule tick."""
    global _reported_not_configured
    if not _reported_not_configured:
        logger.warning("not configured yet; nothing fetched until it is", extra={"reason": str(problem)})
        _reported_not_configured = True
    return FetchResult(0, 0, configured=False)


class Fetcher:
    def __init__(self, settings: Settings, store: Store, queue: Queue) -> None:
        self.settings = settings
        self.store = store
        self.queue = queue

    def run(self) -> FetchResult:
        """Queue one batch of videos that need a transcript, topping the queue up to QUEUE_HIGH_WATER.

        Only videos with no transcript and no live job on this queue are reserved (the store's
        ``reserve_pending``), so reruns and concurrent fetchers on one queue never queue a video
        twice, and work left queued on another queue (an earlier run's embedded queue, another
        QUEUE_URL) is sent again at once instead of waiting out its lease."""
        visible, in_flight = self.queue.depth()
        room = max(0, (self.settings.queue_high_water or DEFAULT_QUEUE_HIGH_WATER) - visible)
        limit = min(self.settings.fetch_batch_size, room)
        if limit == 0:
            return FetchResult(0, visible)
        pending = self.store.reserve_pending(limit, self.settings.queued_lease_seconds, queue_url=self.queue.url)
        bodies: list[str] = []
        recorded: set[str] = set()
        sent = 0
        try:
            for video in pending:
                try:
                    bodies.append(VideoMessage(video_id=video.video_id, url=video.url).body())
                except ValidationError as exc:
                    # A row no message can carry (a control character in its id, say): record it
                    # rather than let it stop the rest of the batch.
                    problem = MalformedMessage(f"the videos table row cannot be queued: {exc.errors()[0]['msg']}")
                    self.store.record_failure(video.video_id, problem.error_type, str(problem), 0, None)
                    recorded.add(video.video_id)
            sent = self.queue.send(bodies)
        finally:
            # Whatever did not reach the queue becomes eligible again at once.
            unsent = [v.video_id for v in pending if v.video_id not in recorded][sent:]
            if unsent:
                self.store.release_reservation(unsent)
        logger.info("enqueued", extra={"enqueued": sent, "queue_visible": visible, "queue_in_flight": in_flight})
        return FetchResult(sent, visible + sent)
