"""The operator's use cases: add videos, queue a video by hand, retry what finally failed, dismiss
failure records.

They decide the job's state and lease and what is sent, exactly as the fetcher does for scheduled
work; the command line only parses arguments and prints the outcome.
"""

from __future__ import annotations

import difflib
import enum
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from ..config import Settings
from ..errors import OperatorError, UrlRejected, error_vocabulary
from ..models import VideoMessage
from ..ports import Queue, Store


class UnknownVideo(OperatorError):
    """A video to queue is not in the videos table and no URL was given."""


class NoOpenFailure(OperatorError):
    """A video to retry, or a record to dismiss, has no open failure record."""


class UnknownErrorType(OperatorError):
    """An error type no failure record can carry (a typo): the message names those that exist."""


class NothingToRetry(OperatorError):
    """A video named for a retry has no url anywhere: its row must be fixed first."""


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
        raise UnknownVideo(f"{no_url_reason(store, message.video_id)}: give its --url")
    check_url(url)
    if store.has_transcript(message.video_id):
        return Enqueued.ALREADY_DONE
    store.mark_queued(message.video_id, url, _queued_lease(settings, queue), queue.url if queue else None)
    if queue is None:
        return Enqueued.NEXT_RUN
    queue.send([VideoMessage(video_id=message.video_id, url=url).body()])
    return Enqueued.SENT


def no_url_reason(store: Store, video_id: str) -> str:
    """Why a video has no url to fetch, truthfully: no row, or a row whose url is NULL."""
    if store.has_video(video_id):
        return f"video {video_id!r} has no url in the videos table (it is NULL)"
    return f"video {video_id!r} is not in the videos table"


def check_error_type(store: Store, error_type: str) -> None:
    """UnknownErrorType, naming the types that exist, unless a failure record can carry
    ``error_type``: one of the vocabulary's, or one recorded (an unexpected exception's name)."""
    known = sorted(set(error_vocabulary()) | set(store.recorded_error_types()))
    if error_type in known:
        return
    by_case = {t.lower(): t for t in known}
    close = [by_case[error_type.lower()]] if error_type.lower() in by_case else []
    close = close or difflib.get_close_matches(error_type, known, n=1)
    hint = f" (did you mean {close[0]}?)" if close else ""
    raise UnknownErrorType(f"unknown error type {error_type!r}{hint}; the error types are: {', '.join(known)}")


@dataclass(frozen=True)
class Retried:
    """What ``retry_failed`` did: the videos queued again, and the open records it left alone
    because there is nothing to fetch: records that name no video (a malformed message), and
    videos with no url anywhere. Dismissing is what clears those."""

    queued: list[str]
    without_video: int = 0
    without_url: tuple[str, ...] = ()


def retry_failed(
    settings: Settings,
    store: Store,
    queue: Queue | None,
    video_ids: Sequence[str],
    *,
    error_type: str | None = None,
    every: bool = False,
) -> Retried:
    """Queue failed videos again: those named, or (``every`` / ``error_type``) all with an open
    failure record. Their records stay open until a retry succeeds. A named video must have an open
    record and a url; with ``every`` or ``error_type`` what cannot be retried is counted instead."""
    if error_type is not None:
        check_error_type(store, error_type)
    records = store.open_failures(error_type)
    failed = {r.video_id: r.url for r in records if r.video_id is not None}
    named = bool(video_ids) or not (every or error_type)
    wanted = list(video_ids) if named else list(failed)
    unknown = [v for v in wanted if v not in failed]
    if unknown:
        raise NoOpenFailure(f"no open failure for: {', '.join(unknown)}")
    urls = {video_id: failed[video_id] or store.video_url(video_id) for video_id in wanted}
    without_url = tuple(v for v, url in urls.items() if url is None)
    if named and without_url:
        raise NothingToRetry(
            "; ".join(f"{no_url_reason(store, v)}, nor has its job a url" for v in without_url)
            + ": fix the row, or dismiss the record ('vidscribe failures dismiss ID')"
        )
    bodies = []
    for video_id, url in urls.items():
        if url is not None:
            store.mark_queued(video_id, url, _queued_lease(settings, queue), queue.url if queue else None)
            bodies.append(VideoMessage(video_id=video_id, url=url).body())
    if queue is not None and bodies:
        queue.send(bodies)
    without_video = 0 if named else sum(r.video_id is None for r in records)
    return Retried([v for v in wanted if urls[v] is not None], without_video, without_url)


def request_retranscription(
    settings: Settings,
    store: Store,
    video_ids: Sequence[str] | None,
    *,
    model: str | None = None,
    before: datetime | None = None,
) -> list[str]:
    """Queue transcribed videos again with the current model and settings: those named (None: every
    one) whose transcript was made by ``model`` / before ``before``. Each keeps its transcript until
    the new one is stored (then kept as a numbered version); the next fetcher run sends them."""
    return store.request_retranscription(video_ids, settings.queued_lease_seconds, model=model, before=before)


def dismiss_failures(store: Store, record_ids: Sequence[int] = (), error_type: str | None = None) -> list[int]:
    """Resolve open failure records as dismissed (the operator has seen them; nothing is retried):
    those named by id, or every open one of ``error_type``. Returns the records dismissed."""
    if error_type is not None:
        check_error_type(store, error_type)
    done = store.dismiss_failures(record_ids, error_type)
    if done.not_open:
        raise NoOpenFailure(
            "no open failure record: " + ", ".join(f"#{i}" for i in done.not_open) + " (nothing was dismissed)"
        )
    return done.dismissed
