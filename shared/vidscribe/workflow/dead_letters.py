"""The dead-letter recorder: where a failure record is written for a message that used up its retry."""

from __future__ import annotations

from ..errors import RETRIES_EXHAUSTED, MalformedMessage
from ..events import transcription_failed
from ..models import VideoMessage
from ..observability import logger
from ..ports import EventPublisher, PartStore, Store
from .outcomes import Outcome, ProcessResult, message_video_id

NO_RECORDED_ERROR = (
    "the message reached the dead-letter queue with no recorded error: "
    "the transcriber timed out, crashed or was throttled"
)


class DeadLetterRecorder:
    def __init__(self, store: Store, parts: PartStore | None = None, *, events: EventPublisher | None = None) -> None:
        """``parts``: where long videos' parts are kept (their dead letters are recorded per part);
        ``events``: where each written failure record is announced (None: nowhere)."""
        self.store = store
        self.parts = parts
        self.events = events

    def record(self, body: str, receive_count: int = 0) -> ProcessResult:
        """Write the persistent failure record for a message that exhausted its retry."""
        try:
            parsed = VideoMessage.parse(body)
            video_id = parsed.video_id
        except MalformedMessage as exc:
            unparsed_id = message_video_id(body)  # None when the id itself is unusable
            self._write(unparsed_id, exc.error_type, str(exc), receive_count, body)
            return ProcessResult(Outcome.FAILED, unparsed_id, reason=str(exc), error_type=exc.error_type)
        if self.store.has_transcript(video_id):
            # A duplicate of this message succeeded: nothing failed.
            return ProcessResult(Outcome.SKIPPED, video_id, reason="already transcribed")
        if parsed.part is not None and self.parts is not None:
            return self._part(video_id, parsed.part, body, receive_count)
        if self.store.in_flight(video_id):
            # A duplicate is being transcribed right now; its own message reports how that ends.
            return ProcessResult(Outcome.SKIPPED, video_id, reason="in flight elsewhere")
        error_type, message, attempts = self.store.job_error(video_id)
        if error_type is None:
            error_type, message = RETRIES_EXHAUSTED, NO_RECORDED_ERROR
        if self._write(video_id, error_type, message or error_type, attempts, body) is None:
            # A redelivery of a dead letter whose failure is already recorded: one failure, once.
            return ProcessResult(Outcome.SKIPPED, video_id, reason="failure already recorded")
        logger.warning("failure recorded", extra={"error_type": error_type, "attempts": attempts})
        return ProcessResult(Outcome.FAILED, video_id, reason=message or "", error_type=error_type)

    def _part(self, video_id: str, index: int, body: str, receive_count: int) -> ProcessResult:
        """A part's dead letter: the part fails (its video's job is held for all its parts, so whether
        the video is in flight says nothing about this part), and the video's record names it; the
        other parts' results stay for retry-failed."""
        assert self.parts is not None
        error_type, message = RETRIES_EXHAUSTED, f"part {index + 1}: {NO_RECORDED_ERROR}"
        self.parts.fail_part(video_id, index, error_type, message)
        if self._write(video_id, error_type, message, receive_count, body) is None:
            return ProcessResult(Outcome.SKIPPED, video_id, reason="failure already recorded")
        logger.warning("failure recorded", extra={"error_type": error_type, "part": index})
        return ProcessResult(Outcome.FAILED, video_id, reason=message, error_type=error_type)

    def _write(self, video_id: str | None, error_type: str, message: str, attempts: int, body: str) -> int | None:
        """The store's record_failure, with a warning when it fails: the dead letter then stays in
        the DLQ for its next delivery, and whoever watches the logs learns why."""
        try:
            recorded = self.store.record_failure(video_id, error_type, message, attempts, body)
        except Exception as exc:
            logger.warning(
                "could not write the failure record; the dead letter stays for its next delivery",
                extra={"error_type": error_type, "error": f"{type(exc).__name__}: {exc}"},
            )
            raise
        if recorded is not None and self.events is not None:  # the model that failed is not known here
            self.events.publish(transcription_failed(video_id, error_type, message))
        return recorded
