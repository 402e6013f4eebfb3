"""What handling one message came to, shared by the transcriber and the dead-letter recorder."""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass

from ..models import clean_video_id


class Outcome(enum.StrEnum):
    TRANSCRIBED = "transcribed"
    SKIPPED = "skipped"
    FAILED = "failed"  # a failure record was written; the message is done with
    RETRY = "retry"  # the attempt failed; the message comes back once
    PART = "part"  # a long video was planned in parts, or one of its parts was stored (not the last)


class Delivery(enum.StrEnum):
    """What one delivery came to, in full: ``Outcome`` plus the two cases it folds in."""

    TRANSCRIBED = "transcribed"
    WITHOUT_SPEECH = "without speech"  # transcribed, nothing to hear: no model call
    SKIPPED = "skipped"  # done, held by another worker, or finally failed: the message is done with
    RETRY = "retry"  # the attempt failed; the message comes back once
    RELEASED = "released"  # its claim was given back before it ended: the message is left alone
    FAILED = "failed"
    PART = "part"  # a long video planned in parts, or one of its parts stored: the message is done with


#: The deliveries whose message must not be deleted: reported in batchItemFailures.
COMES_BACK = frozenset({Delivery.RETRY, Delivery.RELEASED})


@dataclass(frozen=True)
class ProcessResult:
    outcome: Outcome
    video_id: str | None
    reason: str = ""
    error_type: str | None = None
    audio_seconds: float = 0.0
    bytes_streamed: int = 0
    latency_seconds: float = 0.0
    speech_seconds: float = 0.0
    no_speech: bool = False  # transcribed, and there was nothing to hear
    released: bool = False  # skipped because its claim was given back (a stop, a recovery) meanwhile

    @property
    def delivery(self) -> Delivery:
        if self.outcome is Outcome.TRANSCRIBED and self.no_speech:
            return Delivery.WITHOUT_SPEECH
        if self.outcome is Outcome.SKIPPED and self.released:
            return Delivery.RELEASED
        return Delivery(self.outcome.value)

    @property
    def comes_back(self) -> bool:
        """Whether the message must stay on the queue (reported in batchItemFailures)."""
        return self.delivery in COMES_BACK


class AttemptFailed(Exception):
    """Raised by the batch layer (``reporting.handle_record``) for a result that ``comes_back``, so
    that the batch processor reports the record in batchItemFailures. The workflow returns results;
    it never raises this."""

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
