"""The fetcher's decisions: which videos are queued, and how many at a time."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass

from ..config import Settings
from ..errors import MalformedMessage, NotConfigured
from ..models import PendingVideo, VideoMessage, video_row_problem
from ..observability import logger
from ..ports import Queue, Store

DEFAULT_QUEUE_HIGH_WATER = 1000


@dataclass(frozen=True)
class FetchResult:
    enqueued: int
    queue_depth: int
    configured: bool = True


class NotConfiguredNotice:
    """A scheduled run before the deployment is complete (the database secret not set yet): said
    once by the handler that holds this notice (one per Lambda environment), clearly, and nothing is
    fetched -- it is not an error for every schedule tick."""

    def __init__(self) -> None:
        self._said = False
        self._lock = threading.Lock()

    def report(self, problem: NotConfigured) -> FetchResult:
        with self._lock:
            first, self._said = not self._said, True
        if first:
            logger.warning("not configured yet; nothing fetched until it is", extra={"reason": str(problem)})
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
                problem = video_row_problem(video.video_id, video.url)
                if problem is None:
                    bodies.append(VideoMessage(video_id=video.video_id, url=video.url).body())
                else:
                    # A row no message can carry (a control character in its id, no url, an id too
                    # long to be a key): its own failure record, and the rest of the batch goes on.
                    self._record_row(video, problem)
                    recorded.add(video.video_id)
            sent = self.queue.send(bodies)
        finally:
            # Whatever did not reach the queue becomes eligible again at once.
            unsent = [v.video_id for v in pending if v.video_id not in recorded][sent:]
            if unsent:
                self.store.release_reservation(unsent)
        logger.info("enqueued", extra={"enqueued": sent, "queue_visible": visible, "queue_in_flight": in_flight})
        return FetchResult(sent, visible + sent)

    def _record_row(self, video: PendingVideo, problem: str) -> None:
        """The failure record of a videos-table row that cannot be queued, with the row (the whole
        id) as its original message. A row whose id cannot be a key is recorded under its stand-in."""
        error = MalformedMessage(f"the videos table row cannot be queued: {problem}")
        original = json.dumps({"video_id": video.video_id, "url": video.url})
        name = video.stand_in_id or video.video_id
        logger.warning("videos table row cannot be queued", extra={"video_id": name, "reason": problem})
        if video.stand_in_id is None:
            self.store.record_failure(video.video_id, error.error_type, str(error), 0, original)
        else:
            message = f"{error}; recorded as {video.stand_in_id!r} (the whole id is in the original message)"
            self.store.record_refused_row(video.stand_in_id, error.error_type, message, original)
