"""The workflow: fetch and enqueue, claim and transcribe, record what finally failed.

This module is where the pipeline's decisions live:
- what the fetcher queues (``Fetcher.run``: only videos with no transcript and no live job),
- when a delivery is skipped (``Transcriber.process``: done, in flight elsewhere, or finally failed),
- when an attempt is retried (a retryable error: the job goes back to queued, the message's
  visibility is shortened to the backoff and the record is reported as failed, so SQS redelivers it
  once; the second failure takes it to the dead-letter queue),
- when a failure record is written (at once for malformed messages and permanent errors, from the
  dead-letter queue otherwise: ``DeadLetterRecorder.record``).
"""

from __future__ import annotations

import enum
import json
import time
from dataclasses import dataclass
from typing import NoReturn

from pydantic import ValidationError

from .config import Settings
from .errors import MalformedMessage, describe
from .models import ClaimOutcome, VideoMessage, clean_video_id
from .observability import logger
from .ports import MediaSource, Queue, Store, TranscriptionBackend

# One retry per video, whatever duplicates or crashes happen; the main queue's redrive policy
# (maxReceiveCount, infra/queues.py and queue.create_queue_pair) gives each message the same.
MAX_ATTEMPTS = 2
DEFAULT_QUEUE_HIGH_WATER = 1000


class Outcome(str, enum.Enum):
    TRANSCRIBED = "transcribed"
    SKIPPED = "skipped"
    FAILED = "failed"  # a failure record was written; the message is done with
    RETRY = "retry"  # the attempt failed; the message comes back once


@dataclass(frozen=True)
class ProcessResult:
    outcome: Outcome
    video_id: str | None
    reason: str = ""
    error_type: str | None = None
    audio_seconds: float = 0.0
    bytes_streamed: int = 0
    latency_seconds: float = 0.0


class AttemptFailed(Exception):
    """Raised to the batch processor so that the record is reported in batchItemFailures."""

    def __init__(self, result: ProcessResult) -> None:
        super().__init__(f"{result.error_type}: {result.reason}")
        self.result = result


def message_video_id(body: str) -> str | None:
    """Best effort: the video id of a message that failed validation, for the failure record."""
    try:
        data = json.loads(body)
    except (TypeError, ValueError, RecursionError):  # RecursionError: "[[[[..." nested too deeply
        return None
    value = data.get("video_id") if isinstance(data, dict) else None
    if not isinstance(value, str):
        return None
    try:
        return clean_video_id(value)  # the same rule as VideoMessage: the id the pipeline would use
    except ValueError:
        return None


class Transcriber:
    def __init__(
        self,
        settings: Settings,
        store: Store,
        queue: Queue | None,
        media: MediaSource,
        backend: TranscriptionBackend,
    ) -> None:
        self.settings = settings
        self.store = store
        self.queue = queue
        self.media = media
        self.backend = backend

    def process(self, body: str, receipt_handle: str | None = None, receive_count: int = 1) -> ProcessResult:
        """Handle one queue message. Raises AttemptFailed when the message should come back."""
        try:
            message = VideoMessage.parse(body)
        except MalformedMessage as exc:
            return self._record_now(message_video_id(body), exc, body, attempts=receive_count)

        video_id = message.video_id
        try:
            url = message.url or self.store.video_url(video_id)
            if url is None:
                raise MalformedMessage(f"video {video_id!r} is not in the videos table and the message has no url")
            claim = self.store.claim(video_id, url, self.settings.processing_lease_seconds, MAX_ATTEMPTS)
        except MalformedMessage as exc:
            return self._record_now(video_id, exc, body, attempts=receive_count)
        except Exception as exc:  # the database is unreachable: let the message come back
            return self._retry(video_id, exc, receipt_handle, release=False)

        if claim.outcome is ClaimOutcome.EXHAUSTED:
            # Its one retry is spent (a duplicate or a crashed worker used it): record the failure.
            return self._record_exhausted(video_id, body)
        if claim.outcome is not ClaimOutcome.CLAIMED:
            reason = {
                ClaimOutcome.ALREADY_DONE: "already transcribed",
                ClaimOutcome.IN_FLIGHT: "another worker holds this video (duplicate delivery)",
                ClaimOutcome.FAILED: "finally failed; use 'vidscribe retry-failed' to try again",
            }[claim.outcome]
            logger.info("skipped", extra={"reason": reason, "outcome": claim.outcome.value})
            return ProcessResult(Outcome.SKIPPED, video_id, reason=reason)

        started = time.monotonic()
        try:
            audio = self.media.fetch_audio(url)  # enforces the size, duration and time limits
            transcript = self.backend.transcribe(audio)
            self.store.save_transcript(video_id, transcript)
        except Exception as exc:
            error_type, reason, retryable = describe(exc)
            if not retryable:
                return self._record_now(video_id, exc, body, attempts=claim.attempts)
            return self._retry(video_id, exc, receipt_handle, release=True)
        latency = time.monotonic() - started
        logger.info(
            "transcribed",
            extra={"audio_seconds": round(audio.duration, 2), "latency_seconds": round(latency, 2), "attempt": claim.attempts},
        )
        return ProcessResult(
            Outcome.TRANSCRIBED,
            video_id,
            audio_seconds=audio.duration,
            bytes_streamed=audio.source_bytes,
            latency_seconds=latency,
        )

    def _record_now(self, video_id: str | None, exc: Exception, body: str, attempts: int) -> ProcessResult:
        """A failure a retry cannot fix: write the failure record now and let the message go."""
        error_type, reason, _ = describe(exc)
        logger.warning("failed permanently", extra={"error_type": error_type, "error": reason})
        try:
            self.store.record_failure(video_id, error_type, reason, attempts, body)
        except Exception as store_exc:
            # The database is gone: keep the message. Its redelivery finds the video held until the
            # lease expires, after which the fetcher queues it again: nothing is lost.
            logger.warning("could not record the failure", extra={"error": str(store_exc)})
            raise AttemptFailed(ProcessResult(Outcome.RETRY, video_id, reason=reason, error_type=error_type)) from None
        return ProcessResult(Outcome.FAILED, video_id, reason=reason, error_type=error_type)

    def _record_exhausted(self, video_id: str, body: str) -> ProcessResult:
        error_type, message, attempts = self.store.job_error(video_id)
        error_type = error_type or "RetriesExhausted"
        message = message or "its attempts were used up by deliveries that never finished"
        logger.warning("attempts used up", extra={"error_type": error_type, "attempts": attempts})
        self.store.record_failure(video_id, error_type, message, attempts, body)
        return ProcessResult(Outcome.FAILED, video_id, reason=message, error_type=error_type)

    def _retry(self, video_id: str, exc: Exception, receipt_handle: str | None, *, release: bool) -> NoReturn:
        error_type, reason, _ = describe(exc)
        logger.warning("attempt failed; the message will come back", extra={"error_type": error_type, "error": reason})
        backoff = self.settings.retry_backoff_seconds
        if release:
            try:
                # Until the redelivery the job counts as queued, so the fetcher leaves it alone.
                self.store.release_for_retry(video_id, error_type, reason, self.settings.queued_lease_seconds)
            except Exception as store_exc:  # the lease will expire on its own
                logger.warning("could not record the failed attempt", extra={"error": str(store_exc)})
        if self.queue is not None and receipt_handle:
            try:
                # Retry after the backoff rather than the full visibility timeout.
                self.queue.change_visibility(receipt_handle, backoff)
            except Exception as queue_exc:  # the visibility timeout still brings it back
                logger.warning("could not shorten the message's visibility", extra={"error": str(queue_exc)})
        raise AttemptFailed(ProcessResult(Outcome.RETRY, video_id, reason=reason, error_type=error_type))


@dataclass(frozen=True)
class FetchResult:
    enqueued: int
    queue_depth: int


class Fetcher:
    def __init__(self, settings: Settings, store: Store, queue: Queue) -> None:
        self.settings = settings
        self.store = store
        self.queue = queue

    def run(self) -> FetchResult:
        """Queue one batch of videos that need a transcript, topping the queue up to QUEUE_HIGH_WATER."""
        visible, in_flight = self.queue.depth()
        room = max(0, (self.settings.queue_high_water or DEFAULT_QUEUE_HIGH_WATER) - visible)
        limit = min(self.settings.fetch_batch_size, room)
        if limit == 0:
            return FetchResult(0, visible)
        pending = self.store.reserve_pending(limit, self.settings.queued_lease_seconds)
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


class DeadLetterRecorder:
    def __init__(self, store: Store) -> None:
        self.store = store

    def record(self, body: str, receive_count: int = 0) -> ProcessResult:
        """Write the persistent failure record for a message that exhausted its retry."""
        try:
            video_id: str | None = VideoMessage.parse(body).video_id
        except MalformedMessage as exc:
            video_id = message_video_id(body)
            self.store.record_failure(video_id, exc.error_type, str(exc), receive_count, body)
            return ProcessResult(Outcome.FAILED, video_id, reason=str(exc), error_type=exc.error_type)
        if self.store.has_transcript(video_id):
            # A duplicate of this message succeeded: nothing failed.
            return ProcessResult(Outcome.SKIPPED, video_id, reason="already transcribed")
        if self.store.in_flight(video_id):
            # A duplicate is being transcribed right now; its own message reports how that ends.
            return ProcessResult(Outcome.SKIPPED, video_id, reason="in flight elsewhere")
        error_type, message, attempts = self.store.job_error(video_id)
        if error_type is None:
            error_type = "RetriesExhausted"
            message = (
                "the message reached the dead-letter queue with no recorded error: "
                "the transcriber timed out, crashed or was throttled"
            )
        self.store.record_failure(video_id, error_type, message or error_type, attempts, body)
        logger.warning("failure recorded", extra={"error_type": error_type, "attempts": attempts})
        return ProcessResult(Outcome.FAILED, video_id, reason=message or "", error_type=error_type)


__all__ = [
    "AttemptFailed",
    "DeadLetterRecorder",
    "Fetcher",
    "MAX_ATTEMPTS",
    "Outcome",
    "ProcessResult",
    "Transcriber",
]
