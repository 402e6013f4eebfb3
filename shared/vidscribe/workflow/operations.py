"""The operator's use cases: add videos, queue a video by hand, retry what finally failed.

They decide the job's state and lease and what is sent, exactly as the fetcher does for scheduled
work; the command line only parses arguments and prints the outcome.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Sequence

from ..config import Settings
from ..errors import OperatorError, UrlRejected
from ..models import VideoMessage
from ..ports import Queue, Store


class UnknownVideo(OperatorError):
    """A video to queue is not in the videos table and no URL was given."""


class NoOpenFailure(OperatorError):
    """A video to retry has no open failure record."""


class RefusedUrl(OperatorError):
    """A video to add has a URL the pipeline would refuse (``index``: its position among the rows)."""

    def __init__(self, index: int, video_id: str, reason: str) -> None:
        super().__init__(f"refused {video_id!r}: {reason}")
        self.index, self.video_id, self.reason = index, video_id, reason


class Enqueued(enum.StrEnum):
    ALREADY_DONE = "already_done"  # it has a transcript: nothing to do
    NEXT_RUN = "next_run"  # no queue to send to: the next run's fetcher picks it up
    SENT = "sent"


def _queued_lease(settings: Settings, queue: Queue | None) -> int:
    # Without a queue the video must be eligible for the next run's fetcher at once.
    return settings.queued_lease_seconds if queue is not None else 0


def add_videos(
    store: Store, rows: Iterable[tuple[str, str]], check_url: Callable[[str], None], *, update_urls: bool = False
) -> int:
    """Add (id, url) rows to the videos table; ``check_url`` (the URL guard's checks that need no
    DNS) refuses, before anything is written, a URL the pipeline would refuse. Returns how many
    rows were added."""
    rows = list(rows)
    for index, (video_id, url) in enumerate(rows):
        try:
            check_url(url)
        except UrlRejected as exc:
            raise RefusedUrl(index, video_id, str(exc)) from None
    return store.add_videos(rows, update_urls=update_urls)


def enqueue_video(
    settings: Settings,
    store: Store,
    queue: Queue | None,
    message: VideoMessage,
    check_url: Callable[[str], None],
) -> Enqueued:
    """Queue one video by hand. ``check_url`` (the URL guard's checks that need no DNS) refuses a
    forbidden URL at once; what depends on DNS is checked when the video is fetched."""
    url = message.url or store.video_url(message.video_id)
    if url is None:
        raise UnknownVideo(f"video {message.video_id!r} is not in the videos table: give its --url")
    check_url(url)
    if store.has_transcript(message.video_id):
        return Enqueued.ALREADY_DONE
    store.mark_queued(message.video_id, url, _queued_lease(settings, queue), queue.url if queue else None)
    if queue is None:
        return Enqueued.NEXT_RUN
    queue.send([VideoMessage(video_id=message.video_id, url=url).body()])
    return Enqueued.SENT


def retry_failed(
    settings: Settings,
    store: Store,
    queue: Queue | None,
    video_ids: Sequence[str],
    *,
    error_type: str | None = None,
    every: bool = False,
) -> list[str]:
    """Queue failed videos again: those named, or (``every`` / ``error_type``) all with an open
    failure record. Their records stay open until a retry succeeds. Returns the videos queued."""
    failed = dict(store.failed_video_ids(error_type))
    wanted = list(failed) if (every or error_type) and not video_ids else list(video_ids)
    unknown = [v for v in wanted if v not in failed]
    if unknown:
        raise NoOpenFailure(f"no open failure for: {', '.join(unknown)}")
    bodies = []
    for video_id in wanted:
        url = failed[video_id] or store.video_url(video_id)
        store.mark_queued(video_id, url, _queued_lease(settings, queue), queue.url if queue else None)
        bodies.append(VideoMessage(video_id=video_id, url=url).body())
    if queue is not None and bodies:
        queue.send(bodies)
    return wanted
