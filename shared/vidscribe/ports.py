"""The seams of the core: what the workflow needs from a queue, a store, a media source and a backend.

Adapters: ``queue.SqsQueue``, ``store.PostgresStore``, ``media.HttpMediaSource``,
``backends.local.LocalWhisperBackend`` / ``backends.openai_backend.OpenAIBackend``.
Unit tests use small fakes of these protocols; integration tests use the real adapters.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from .models import Claim, DecodedAudio, FailureRecord, Transcript


@dataclass(frozen=True)
class ReceivedMessage:
    message_id: str
    receipt_handle: str
    body: str
    receive_count: int


class Queue(Protocol):
    url: str

    def send(self, bodies: Sequence[str]) -> int:
        """Send message bodies (batched); returns how many were accepted."""

    def receive(self, max_messages: int = 1, wait_seconds: int = 0) -> list[ReceivedMessage]: ...

    def delete(self, receipt_handles: Sequence[str]) -> None: ...

    def change_visibility(self, receipt_handle: str, seconds: int) -> None: ...

    def depth(self) -> tuple[int, int]:
        """(visible, in flight) approximate message counts."""


@dataclass(frozen=True)
class PendingVideo:
    video_id: str
    url: str


class Store(Protocol):
    def migrate(self) -> list[str]: ...

    def add_videos(self, rows: Iterable[tuple[str, str]]) -> int: ...

    def video_url(self, video_id: str) -> str | None: ...

    def reserve_pending(self, limit: int, queued_lease_seconds: int) -> list[PendingVideo]:
        """Pick videos with no transcript and no live job, mark them queued, return them.
        Concurrent callers never get the same video."""

    def release_reservation(self, video_ids: Sequence[str]) -> None:
        """Undo reserve_pending for videos that could not be sent to the queue."""

    def mark_queued(self, video_id: str, url: str | None, queued_lease_seconds: int) -> None:
        """Record a hand-enqueued video as queued (so the fetcher does not queue it again)."""

    def claim(self, video_id: str, url: str | None, processing_lease_seconds: int) -> Claim: ...

    def save_transcript(self, video_id: str, transcript: Transcript) -> None: ...

    def release_for_retry(self, video_id: str, error_type: str, message: str, retry_after_seconds: int) -> None: ...

    def record_failure(
        self, video_id: str | None, error_type: str, message: str, attempts: int | None, original_message: str | None
    ) -> int: ...

    def job_error(self, video_id: str) -> tuple[str | None, str | None, int]:
        """(last error type, last error message, attempts) of a video's job."""

    def failures(self, include_resolved: bool = False) -> list[FailureRecord]: ...


class MediaSource(Protocol):
    def fetch_audio(self, url: str) -> DecodedAudio:
        """Stream the media at ``url`` and return its audio track as 16 kHz mono samples."""


class TranscriptionBackend(Protocol):
    name: str
    model: str

    def transcribe(self, audio: DecodedAudio) -> Transcript: ...
