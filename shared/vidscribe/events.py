"""What a final outcome announces on EventBridge (``EVENT_BUS_NAME``): the event's shape and size.

One event per final outcome, source ``vidscribe``:

- ``Transcript Ready``: a transcript was stored (``no_speech`` says whether it holds any words);
- ``Transcription Failed``: a failure record was written (at once, or by the dead-letter consumer).

The detail says what a downstream step needs to decide whether to act (ids, language, durations,
model, cost, error type) and never the transcript's text: a consumer reads that from the database.
Every string in it is scrubbed (``redaction.scrub``: a URL's credentials, query and fragment, the
registered secrets) and cut to a bound, so an entry always fits EventBridge's 256 KB.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from .models import MAX_VIDEO_ID_LENGTH, Transcript
from .redaction import scrub

SOURCE = "vidscribe"
TRANSCRIPT_READY = "Transcript Ready"
TRANSCRIPTION_FAILED = "Transcription Failed"

#: PutEvents refuses an entry over 256 KB, counted as the UTF-8 bytes of Source, DetailType, Detail,
#: EventBusName and Resources, plus 14 for Time (EventBridge's "Calculating PutEvents entry size").
MAX_ENTRY_BYTES = 256 * 1024
_TIME_BYTES = 14
#: An error message says why in a line or two; the failure record keeps the whole of it.
MAX_ERROR_CHARS = 1000
_TRUNCATED = "…"
# EventBusName may be a bus's ARN: at most 1,600 characters (the API's bound), all ASCII.
_LONGEST_BUS_NAME = "x" * 1600


@dataclass(frozen=True)
class OutcomeEvent:
    """One PutEvents entry, bus aside: the adapter adds the bus it was configured with."""

    detail_type: str
    detail: dict[str, Any]

    @property
    def detail_json(self) -> str:
        return json.dumps(self.detail, ensure_ascii=False, separators=(",", ":"))

    def entry_bytes(self, bus_name: str) -> int:
        """The entry's size as EventBridge counts it against ``MAX_ENTRY_BYTES``."""
        parts = (SOURCE, self.detail_type, self.detail_json, bus_name)
        return sum(len(part.encode("utf-8")) for part in parts) + _TIME_BYTES


def transcript_ready(video_id: str, transcript: Transcript) -> OutcomeEvent:
    """The event of a stored transcript: its figures, never its text."""
    return fitted_event(
        TRANSCRIPT_READY,
        {
            "video_id": video_id,
            "outcome": "without_speech" if transcript.no_speech else "transcribed",
            "no_speech": transcript.no_speech,
            "language": transcript.language,
            "duration_seconds": round(transcript.duration, 3),
            "speech_seconds": _rounded(transcript.speech_seconds),
            "model": transcript.model,
            "backend": transcript.backend,
            "estimated_cost_usd": transcript.cost_usd,
            "error_type": None,
            "error": None,
        },
    )


def transcription_failed(
    video_id: str | None, error_type: str, message: str, *, backend: str | None = None, model: str | None = None
) -> OutcomeEvent:
    """The event of a written failure record. ``video_id`` None: a message with no usable id;
    ``backend``/``model`` None: not known where the failure was recorded (the dead-letter consumer)."""
    return fitted_event(
        TRANSCRIPTION_FAILED,
        {
            "video_id": video_id,
            "outcome": "failed",
            "no_speech": None,
            "language": None,
            "duration_seconds": None,
            "speech_seconds": None,
            "model": model,
            "backend": backend,
            "estimated_cost_usd": None,
            "error_type": error_type,
            "error": message,
        },
    )


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


# Strings cut to a bound, by field; any other string field is cut to the error's bound.
_FIELD_CHARS = {"video_id": MAX_VIDEO_ID_LENGTH, "error": MAX_ERROR_CHARS}
# What goes first if an entry were still too big: the fields a consumer can do without.
_OMITTABLE = ("error", "video_id")


def fitted_event(detail_type: str, detail: dict[str, Any], *, limit: int = MAX_ENTRY_BYTES) -> OutcomeEvent:
    """The event with every string scrubbed and cut to its bound (``truncated`` names what was cut),
    and, should it still exceed ``limit`` with the longest bus name, the omittable fields dropped
    (``omitted`` names them) — an event that says less, never one EventBridge refuses."""
    fitted: dict[str, Any] = {}
    truncated: list[str] = []
    for key, value in detail.items():
        if isinstance(value, str):
            value = scrub(value)
            bound = _FIELD_CHARS.get(key, MAX_ERROR_CHARS)
            if len(value) > bound:
                value = value[: bound - len(_TRUNCATED)] + _TRUNCATED
                truncated.append(key)
        fitted[key] = value
    if truncated:
        fitted["truncated"] = truncated
    event = OutcomeEvent(detail_type, fitted)
    omitted: list[str] = []
    for key in _OMITTABLE:
        if event.entry_bytes(_LONGEST_BUS_NAME) <= limit:
            break
        fitted[key] = None
        omitted.append(key)
        event = OutcomeEvent(detail_type, {**fitted, "omitted": omitted})
    return event
