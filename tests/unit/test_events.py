"""The outcome events' shape: no transcript text, no secrets, always under EventBridge's entry limit."""

from __future__ import annotations

import json

from vidscribe.events import (
    MAX_ENTRY_BYTES,
    MAX_ERROR_CHARS,
    TRANSCRIPTION_FAILED,
    fitted_event,
    transcript_ready,
    transcription_failed,
)
from vidscribe.models import MAX_VIDEO_ID_LENGTH, Segment, Transcript
from vidscribe.redaction import register_secret

LONGEST_ARN = "arn:aws:events:eu-west-1:123456789012:event-bus/" + "b" * 256


def test_a_ready_event_carries_the_figures_never_the_text() -> None:
    transcript = Transcript(
        text="the refund policy is thirty days",
        segments=[Segment(0.0, 2.5, "the refund policy is thirty days")],
        language="en", duration=12.3456, backend="openai", model="gpt-transcribe",
        speech_seconds=2.5, model_audio_seconds=2.5, cost_usd=0.0001875,
    )  # fmt: skip
    event = transcript_ready("v1", transcript)
    assert event.detail["duration_seconds"] == 12.346 and event.detail["estimated_cost_usd"] == 0.0001875
    assert event.detail["outcome"] == "transcribed" and event.detail["error_type"] is None
    assert "refund" not in event.detail_json and "segments" not in event.detail


def test_a_failure_message_is_scrubbed_of_a_urls_secrets_and_registered_secrets() -> None:
    register_secret("sk-unit-events-0123456789")
    event = transcription_failed(
        "v1",
        "FetchRefused",
        "https://user:pw@cdn.example/v.mp4?X-Amz-Signature=abcdef123456 answered 403; key sk-unit-events-0123456789",
    )
    assert event.detail_type == TRANSCRIPTION_FAILED
    for secret in ("abcdef123456", "pw@", "sk-unit-events-0123456789"):
        assert secret not in event.detail_json, secret
    assert "cdn.example/v.mp4" in event.detail["error"]


def test_an_over_long_message_and_id_are_cut_to_their_bounds_and_say_so() -> None:
    # Given a megabyte of 4-byte characters as the message and an id over the id limit
    huge_message = "\U0001f600" * (1024 * 1024)
    long_id = "\U0001f600" * (MAX_VIDEO_ID_LENGTH + 50)

    event = transcription_failed(long_id, "BackendPermanent", huge_message)

    # Then both are cut (the id to the longest id the pipeline accepts), the event names them, and
    # the entry fits with the longest bus ARN there is
    assert len(event.detail["error"]) == MAX_ERROR_CHARS and event.detail["error"].endswith("…")
    assert len(event.detail["video_id"]) == MAX_VIDEO_ID_LENGTH
    assert event.detail["truncated"] == ["video_id", "error"]
    assert event.entry_bytes(LONGEST_ARN) <= MAX_ENTRY_BYTES
    assert json.loads(event.detail_json)["error_type"] == "BackendPermanent"


def test_an_entry_still_too_big_drops_the_message_then_the_id_rather_than_be_refused() -> None:
    detail = {"video_id": "v" * 200, "error": "e" * 900, "error_type": "FetchError"}
    full = fitted_event(TRANSCRIPTION_FAILED, detail)
    assert "omitted" not in full.detail

    # A limit that the message alone breaks: the message goes, the id stays
    limit = full.entry_bytes("x" * 1600) - 100
    without_message = fitted_event(TRANSCRIPTION_FAILED, detail, limit=limit)
    assert without_message.detail["omitted"] == ["error"] and without_message.detail["video_id"] == "v" * 200
    assert without_message.entry_bytes("x" * 1600) <= limit

    # A limit that needs both gone
    limit = without_message.entry_bytes("x" * 1600) - 50
    bare = fitted_event(TRANSCRIPTION_FAILED, detail, limit=limit)
    assert bare.detail["omitted"] == ["error", "video_id"] and bare.detail["video_id"] is None
    assert bare.detail["error_type"] == "FetchError"


def test_control_characters_in_an_id_stay_inert_json() -> None:
    event = transcription_failed("a\x1b[31mred\u2028b", "MalformedMessage", "bad\x00")
    decoded = json.loads(event.detail_json)
    assert "\x1b" not in decoded["video_id"] and "\x00" not in decoded["error"]
