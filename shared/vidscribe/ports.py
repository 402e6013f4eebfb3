"""The seams of the core: what the workflow needs from a queue, a store, a media source and a backend.

Each protocol declares exactly the calls the workflow (``vidscribe.workflow``) makes, and mypy holds
every adapter to it (``vidscribe.services`` is typed against these protocols):

- ``Queue``, ``PolledQueue``: ``adapters.sqs.SqsQueue``
- ``Store``: ``adapters.postgres.PostgresStore``; ``Reports``: ``adapters.postgres.PostgresReports``
- ``Catalogue`` (the web page's reads): ``adapters.postgres.PostgresCatalogue``
- ``MediaSource``: ``adapters.media.StreamingMediaSource``
- ``TranscriptionBackend``: ``adapters.backends.LocalWhisperBackend`` / ``OpenAIBackend``
- ``EventPublisher``: ``adapters.eventbridge.EventBridgePublisher``

Unit tests use small fakes of these protocols; integration tests use the real adapters.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any, Protocol

from .contract import MAX_ATTEMPTS
from .events import OutcomeEvent
from .models import (
    AudioSink,
    CataloguePage,
    CatalogueQuery,
    CatalogueRow,
    Claim,
    DecodedAudio,
    Dismissed,
    FailureRecord,
    HeldClaim,
    JobError,
    OpenFailure,
    PartClaim,
    PendingVideo,
    ReceivedMessage,
    SearchHit,
    SearchQuery,
    Span,
    Transcript,
    TranscriptFilter,
    TranscriptSummary,
    WriteAccess,
)


class Queue(Protocol):
    """What the workflow does with the work queue."""

    @property
    def url(self) -> str:
        """The queue's URL: what a job records as the queue its message is on."""
        ...

    def send(self, bodies: Sequence[str]) -> int:
        """Send message bodies (batched); returns how many were accepted."""
        ...

    def change_visibility(self, receipt_handle: str, seconds: int) -> None:
        """Make a received message visible again after ``seconds`` (the retry backoff)."""
        ...

    def depth(self) -> tuple[int, int]:
        """(visible, in flight) approximate message counts."""
        ...


class PolledQueue(Queue, Protocol):
    """A queue an event source polls: what Lambda's SQS event source (and the local runtime's
    emulation of it) does besides the workflow's calls."""

    def receive(self, max_messages: int = 1, wait_seconds: int = 0) -> list[ReceivedMessage]: ...

    def delete(self, receipt_handles: Sequence[str]) -> None:
        """Delete received messages (what succeeded, or what was sent again as a fresh copy)."""
        ...

    def arn(self) -> str: ...


class Store(Protocol):
    """Videos and their job state: what the fetcher, the transcriber, the dead-letter recorder and
    the operator's use cases read and write."""

    # --- videos ------------------------------------------------------------------------------------
    def add_videos(self, rows: Iterable[tuple[str, str]], *, update_urls: bool = False) -> int:
        """Insert (id, url) rows; returns how many were inserted (or changed, with ``update_urls``)."""
        ...

    def video_url(self, video_id: str) -> str | None: ...

    def has_video(self, video_id: str) -> bool:
        """Whether the videos table has a row with this id (its url may be NULL)."""
        ...

    def has_transcript(self, video_id: str) -> bool:
        """Whether the video has a transcript that no requested re-transcription is to replace."""
        ...

    def request_retranscription(
        self,
        video_ids: Sequence[str] | None,
        queued_lease_seconds: int,
        *,
        model: str | None = None,
        before: datetime | None = None,
    ) -> list[str]:
        """Queue transcribed videos (those named, None: every one; with a transcript by ``model`` /
        created before ``before``) again for the next fetcher, as
        re-transcriptions (the transcript stays readable until the new one is stored, then is kept
        as a numbered version); returns their ids."""
        ...

    # --- the fetcher -------------------------------------------------------------------------------
    def reserve_pending(self, limit: int, queued_lease_seconds: int, *, queue_url: str) -> list[PendingVideo]:
        """Pick videos with no transcript and no live job on ``queue_url``, mark them queued there,
        return them. Concurrent callers never get the same video."""
        ...

    def release_reservation(self, video_ids: Sequence[str]) -> None:
        """Undo reserve_pending for videos that could not be sent to the queue."""
        ...

    # --- the transcriber ---------------------------------------------------------------------------
    def claim(
        self,
        video_id: str,
        url: str | None,
        processing_lease_seconds: int,
        max_attempts: int = MAX_ATTEMPTS,
        *,
        queue_url: str | None = None,
        claimed_by: str | None = None,
    ) -> Claim:
        """Take ownership of a video for one attempt (see ``ClaimOutcome`` for why it may not)."""
        ...

    def save_transcript(self, video_id: str, transcript: Transcript) -> bool:
        """Store the transcript and mark the job done; False if another worker stored one first."""
        ...

    def release_for_retry(
        self, video_id: str, error_type: str, message: str, queued_lease_seconds: int, *, claim_token: int | None = None
    ) -> bool:
        """After a failed attempt: the job is queued again (its message comes back) for at most
        ``queued_lease_seconds``, with the error kept; only while it is under ``claim_token``."""
        ...

    def in_flight(self, video_id: str) -> bool:
        """Whether a worker holds a live processing lease on the video right now."""
        ...

    # --- claims that will not finish ---------------------------------------------------------------
    def release_claim(self, video_id: str, claimed_by: str, queued_lease_seconds: int, *, refund_attempt: bool) -> bool:
        """Give back ``claimed_by``'s claim of a video: queued again, no claim (a shutdown, a dead
        process). ``refund_attempt``: the stopped attempt does not count against the budget."""
        ...

    def held_claims(self, claimed_by_prefix: str) -> list[HeldClaim]:
        """The live processing claims of the processes whose ``claimed_by`` starts with the prefix."""
        ...

    # --- failures ----------------------------------------------------------------------------------
    def record_failure(
        self,
        video_id: str | None,
        error_type: str,
        message: str,
        attempts: int | None,
        original_message: str | None,
        *,
        claim_token: int | None = None,
    ) -> int | None:
        """Write the persistent failure record (one open record per video, describing its latest
        failure); returns its id, or None when nothing new was recorded (already recorded, or the
        claim ``claim_token`` was released)."""
        ...

    def record_refused_row(self, stand_in_id: str, error_type: str, message: str, original_message: str) -> int | None:
        """The failure record of a videos-table row whose id cannot be a key, under ``stand_in_id``
        (the fetcher passes the row over from then on); None when it was recorded before."""
        ...

    def job_error(self, video_id: str) -> JobError:
        """The last error and the attempts of a video's job."""
        ...

    # --- the operator ------------------------------------------------------------------------------
    def mark_queued(self, video_id: str, url: str | None, queued_lease_seconds: int, queue_url: str | None) -> None:
        """Record a hand-enqueued video as queued on ``queue_url`` (None: for the next fetcher)."""
        ...

    def open_failures(self, error_type: str | None = None) -> list[OpenFailure]:
        """The open failure records (optionally of one type), each with the url its video's job knows."""
        ...

    def dismiss_failures(self, record_ids: Sequence[int] = (), error_type: str | None = None) -> Dismissed:
        """Resolve open records as dismissed: those named (none if one of them is not open), or
        every open one of ``error_type``."""
        ...

    def recorded_error_types(self) -> list[str]:
        """Every error type a failure record carries."""
        ...


class PartStore(Protocol):
    """The parts of videos planned in parts (issue 22): ``adapters.postgres.PostgresStore`` (its
    ``parts`` module)."""

    def plan_parts(self, video_id: str, duration: float, ranges: Sequence[Span], *, lease_seconds: int) -> list[int]:
        """Record the plan unless the video has one, and hold the video's job for its parts (its
        lease renewed, the planning attempt refunded); returns the parts that need a message now:
        every part of a new plan, else those neither done nor held by a live claim (failed parts
        start afresh)."""
        ...

    def claim_part(self, video_id: str, index: int, lease_seconds: int, max_attempts: int = MAX_ATTEMPTS) -> PartClaim:
        """Take one part for one attempt (the video's job lease is renewed with it)."""
        ...

    def agree_cut(self, video_id: str, index: int, proposed: float) -> float:
        """Where part ``index`` starts: ``proposed`` if no neighbour recorded a cut yet, else theirs."""
        ...

    def save_part(
        self, video_id: str, index: int, result: Transcript, assemble: Callable[[list[Transcript]], Transcript]
    ) -> Transcript | None:
        """Store one part's result; when it completes the set (decided under the plan's row lock, in
        the same transaction) store ``assemble(results in order)`` as the video's transcript and
        remove the plan and its parts. Returns the transcript when this call stored it, else None."""
        ...

    def release_part(
        self, video_id: str, index: int, error_type: str, message: str, *, claim_token: int | None
    ) -> bool:
        """A failed attempt of one part: queued again (its message comes back), the error kept."""
        ...

    def fail_part(self, video_id: str, index: int, error_type: str, message: str) -> None:
        """One part failed finally: the other parts' results stay for a retry."""
        ...


class Reports(Protocol):
    """What the command line reads to report on the pipeline."""

    def now(self) -> datetime:
        """The database's clock, so that reports never compare two machines' clocks."""
        ...

    def status(self) -> dict[str, Any]: ...

    def run_report(self, since: datetime) -> dict[str, Any]: ...

    def failures(self, include_resolved: bool = False) -> list[FailureRecord]: ...

    def queued_jobs(self) -> int:
        """How many videos are queued, for a run to pick up."""
        ...

    def transcript(self, video_id: str) -> Transcript | None: ...

    def transcripts(self, video_ids: Sequence[str] | None = None) -> list[Transcript]: ...

    def transcript_version(self, video_id: str, version: int) -> Transcript | None:
        """Transcript number ``version`` of a video (1: the first; the highest: the current one)."""
        ...

    def transcript_versions(self, video_id: str) -> list[Transcript]:
        """Every transcript of a video, version 1 first, the current one last."""
        ...

    def search(self, query: SearchQuery) -> list[SearchHit]:
        """The segments that match ``query``, best first (issue 23's engine)."""
        ...

    def transcript_summaries(
        self, selection: TranscriptFilter, after: str | None, limit: int
    ) -> list[TranscriptSummary]:
        """Up to ``limit`` selected transcripts' figures in video id order, after the id ``after``."""
        ...

    def transcript_page(self, selection: TranscriptFilter, after: str | None, limit: int) -> list[Transcript]:
        """Up to ``limit`` selected whole transcripts in video id order, after the id ``after``."""
        ...

    def transcript_count(self, selection: TranscriptFilter) -> int: ...


class ExportTarget(Protocol):
    """Where ``vidscribe export`` writes its files: a directory or an S3 prefix."""

    def is_current(self, name: str, data: bytes) -> bool:
        """Whether ``name`` already holds exactly ``data`` (a resumed export skips it)."""
        ...

    def write(self, name: str, data: bytes) -> None:
        """Store ``data`` as ``name`` atomically: a reader sees the old file or the new, never a part."""
        ...


class Catalogue(Protocol):
    """What the web page reads besides the reports: every video with its state, a page at a time,
    and whether the database role may make the operator's writes."""

    def page(self, query: CatalogueQuery) -> CataloguePage:
        """The videos that pass the filters, in id order, one keyset page (no OFFSET)."""
        ...

    def video(self, video_id: str) -> CatalogueRow | None: ...

    def choices(self) -> tuple[list[str], list[str]]:
        """The languages and the models the transcripts carry (for the filters)."""
        ...

    def open_failures(self, limit: int) -> list[FailureRecord]:
        """The newest ``limit`` open failure records."""
        ...

    def write_access(self) -> WriteAccess: ...


class MediaSource(Protocol):
    def fetch_audio(self, url: str, sink: AudioSink | None = None) -> DecodedAudio:
        """Stream the media at ``url`` and return its audio track as 16 kHz mono samples; with a
        ``sink``, hand it the samples as they are decoded instead (the result holds only the
        duration and the bytes fetched)."""
        ...


class TranscriptionBackend(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def model(self) -> str: ...

    def seconds_for(self, audio_seconds: float) -> float:
        """The wall time this backend should need for ``audio_seconds`` of audio, at the speed it
        measured so far (for the time budget)."""
        ...

    def transcribe(self, audio: DecodedAudio, speech: Sequence[Span] | None = None) -> Transcript:
        """Transcribe ``audio``; times relative to it. ``speech``: where in it the speech regions
        are (the packed audio of ``vidscribe.speech``), None for "all of it". The transcript says
        how many seconds of audio the model was sent and what that cost (``model_audio_seconds``,
        ``cost_usd``)."""
        ...


class EventPublisher(Protocol):
    """Where a final outcome is announced (``EVENT_BUS_NAME``): after it is stored, never instead."""

    def publish(self, event: OutcomeEvent) -> bool:
        """Put ``event``; False when it could not be put after the retries (logged and counted):
        publishing never raises, so an event can never lose or fail the outcome it announces."""
        ...
