"""The transcriber's decisions: when a delivery is skipped, where the retry is decided.

- A delivery is skipped when its video is done, held by another worker's live lease (SQS delivers
  at least once), or finally failed (``Transcriber.process``, from the store's ``claim``).
- A retryable error sends the job back to queued, shortens the message's visibility to the backoff
  and reports the record as failed, so SQS redelivers it once; the second failure takes it to the
  dead-letter queue (``Transcriber._retry``).
- A permanent error, a malformed message or a spent attempt budget writes the failure record at
  once (``Transcriber._record_now``, ``_record_exhausted``).
- What an attempt writes about its own outcome (a failed attempt, a permanent failure) carries its
  claim's token: when the claim was released meanwhile (a shutdown gave the video back, a recovery
  took a dead process's video back), the outcome no longer decides anything and the delivery ends
  as skipped. A transcript is always stored: it is the video's, whoever asked for it.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from ..config import Settings
from ..contract import MAX_ATTEMPTS
from ..errors import RETRIES_EXHAUSTED, MalformedMessage, describe
from ..events import transcript_ready, transcription_failed
from ..models import ClaimOutcome, DecodedAudio, PartRange, Transcript, VideoMessage
from ..observability import logger
from ..ports import EventPublisher, MediaSource, PartStore, Queue, Store, TranscriptionBackend
from ..speech import SpeechFinder
from .budget import TimeBudget, margin_for, monotonic_deadline
from .one_source import SourceTranscriber
from .operations import no_url_reason
from .outcomes import Outcome, ProcessResult, message_video_id
from .parts import SplitInstead, assemble, plan_ranges

_SKIP_REASONS = {
    ClaimOutcome.ALREADY_DONE: "already transcribed",
    ClaimOutcome.IN_FLIGHT: "another worker holds this video (duplicate delivery)",
    ClaimOutcome.FAILED: "finally failed; use 'vidscribe retry-failed' to try again",
}


class Transcriber:
    def __init__(
        self,
        settings: Settings,
        store: Store,
        queue: Queue | None,
        media: MediaSource,
        backend: TranscriptionBackend,
        *,
        claimed_by: str | None = None,
        vad: SpeechFinder | None = None,
        events: EventPublisher | None = None,
        parts: PartStore | None = None,
    ) -> None:
        """``parts``: where the parts of long videos are kept (None: every video goes whole).
        ``claimed_by``: who claims (the local runtime names its process, so that its claims can be
        given back when it stops or dies); None in Lambda, where a claim ends with its lease.
        ``vad``: where the speech is; by default the detector VAD names (none with VAD=off).
        ``events``: where each final outcome is announced once it is stored (None: nowhere)."""
        self.settings = settings
        self.store = store
        self.queue = queue
        self.media = media
        self.backend = backend
        self.claimed_by = claimed_by
        self.events = events
        self.source = SourceTranscriber(settings, media, backend, vad=vad)  # the one path (one_source.py)
        # Long videos in parts (parts.py), where the store keeps parts.
        self.parts = parts

    def process(
        self,
        body: str,
        receipt_handle: str | None = None,
        receive_count: int = 1,
        remaining_seconds: Callable[[], float] | None = None,
    ) -> ProcessResult:
        """Handle one queue message: what it came to (``ProcessResult.delivery``); a result that
        ``comes_back`` leaves its message on the queue. ``remaining_seconds``: the time the
        invocation has left (Lambda's context; :mod:`.budget`). None: TRANSCRIBER_TIMEOUT_SECONDS."""
        try:
            message = VideoMessage.parse(body)
        except MalformedMessage as exc:
            return self._record_now(message_video_id(body), exc, body, attempts=receive_count)

        video_id = message.video_id
        try:
            url = message.url or self.store.video_url(video_id)
            if url is None:
                raise MalformedMessage(f"{no_url_reason(self.store, video_id)} and the message has no url")
            if message.part is not None and self.parts is not None:
                return self._part(message.part, video_id, url, body, receipt_handle, remaining_seconds)
            claim = self.store.claim(
                video_id,
                url,
                self.settings.processing_lease_seconds,
                MAX_ATTEMPTS,
                queue_url=self.queue.url if self.queue is not None else None,
                claimed_by=self.claimed_by,
            )
        except MalformedMessage as exc:
            return self._record_now(video_id, exc, body, attempts=receive_count)
        except Exception as exc:  # the database is unreachable: let the message come back
            return self._retry(video_id, exc, receipt_handle, release=False)

        if claim.outcome is ClaimOutcome.EXHAUSTED:
            # Its one retry is spent (a duplicate or a crashed worker used it): record the failure.
            return self._record_exhausted(video_id, body)
        if claim.outcome is not ClaimOutcome.CLAIMED:
            reason = _SKIP_REASONS[claim.outcome]
            logger.info(
                "skipped", extra={"delivery": Outcome.SKIPPED.value, "reason": reason, "outcome": claim.outcome.value}
            )
            return ProcessResult(Outcome.SKIPPED, video_id, reason=reason)

        started = time.monotonic()
        budget = self._budget(remaining_seconds)
        # A long video goes in parts: only where their messages can be sent and their results kept.
        split_over = self.settings.part_seconds if self.queue is not None and self.parts is not None else None
        try:
            # Decoded, searched for speech and transcribed piece by piece as it streams in; the
            # media source enforces the size, duration and fetch-time limits, the budget Lambda's.
            transcript, audio = self.source.transcribe(url, budget, split_over=split_over)
            stored = self.store.save_transcript(video_id, transcript)
        except SplitInstead as split:
            return self._split(video_id, url, split, receipt_handle)
        except Exception as exc:
            if not describe(exc).retryable:  # permanent: a retry cannot help
                return self._record_now(video_id, exc, body, attempts=claim.attempts, claim_token=claim.token)
            return self._retry(video_id, exc, receipt_handle, release=True, claim_token=claim.token)
        return self._transcribed(video_id, transcript, audio, stored=stored, started=started, attempt=claim.attempts)

    def _transcribed(
        self, video_id: str, transcript: Transcript, audio: DecodedAudio, *, stored: bool, started: float, attempt: int
    ) -> ProcessResult:
        """A whole video's transcript is stored: announce it (when this worker stored it), log, report."""
        latency = time.monotonic() - started
        if stored and self.events is not None:  # False: another worker stored (and announced) one first
            self.events.publish(transcript_ready(video_id, transcript))
        logger.info(
            "transcribed",
            extra={
                "audio_seconds": round(audio.duration, 2),
                "speech_seconds": transcript.speech_seconds,
                "no_speech": transcript.no_speech,
                "latency_seconds": round(latency, 2),
                "attempt": attempt,
            },
        )
        return ProcessResult(
            Outcome.TRANSCRIBED,
            video_id,
            audio_seconds=audio.duration,
            bytes_streamed=audio.source_bytes,
            latency_seconds=latency,
            speech_seconds=transcript.speech_seconds or 0.0,
            no_speech=transcript.no_speech,
        )

    # --- long videos in parts (parts.py) -----------------------------------------------------------
    def _split(self, video_id: str, url: str, split: SplitInstead, receipt_handle: str | None) -> ProcessResult:
        """Plan the video in parts (or find its plan) and send a message for each part that needs one."""
        assert self.parts is not None and self.queue is not None
        try:
            ranges = plan_ranges(split.duration, split.part_seconds)
            # The parts may wait on the queue as long as any queued video (QUEUED_LEASE_SECONDS): the
            # video's job is held that long, so the fetcher does not send it again meanwhile.
            wanted = self.parts.plan_parts(
                video_id, split.duration, ranges, lease_seconds=self.settings.queued_lease_seconds
            )
            self.queue.send([VideoMessage(video_id=video_id, url=url, part=i).body() for i in wanted])
        except Exception as exc:  # the message comes back, and planning again finds what is missing
            return self._retry(video_id, exc, receipt_handle, release=True)
        logger.info(
            "planned in parts", extra={"parts": len(ranges), "sent": len(wanted), "audio_seconds": split.duration}
        )
        return ProcessResult(Outcome.PART, video_id, reason=f"in {len(ranges)} parts; {len(wanted)} sent")

    def _part(
        self,
        index: int,
        video_id: str,
        url: str,
        body: str,
        receipt_handle: str | None,
        remaining_seconds: Callable[[], float] | None,
    ) -> ProcessResult:
        """One part of a video in parts: claimed, transcribed, stored; the last one assembles."""
        assert self.parts is not None
        parts = self.parts
        claim = parts.claim_part(video_id, index, self.settings.processing_lease_seconds, MAX_ATTEMPTS)
        if claim.outcome is ClaimOutcome.EXHAUSTED:
            parts.fail_part(video_id, index, RETRIES_EXHAUSTED, "its attempts were used up")
            return self._record_part(video_id, index, None, RETRIES_EXHAUSTED, "its attempts were used up", body)
        if claim.outcome is not ClaimOutcome.CLAIMED or claim.part is None:
            reason = (
                "this part is done or held elsewhere"
                if claim.outcome is not ClaimOutcome.FAILED
                else _SKIP_REASONS[claim.outcome]
            )
            logger.info("skipped", extra={"reason": reason, "outcome": claim.outcome.value, "part": index})
            return ProcessResult(Outcome.SKIPPED, video_id, reason=reason)
        part = claim.part
        started = time.monotonic()
        try:
            result, audio = self.source.transcribe_part(
                url, part, lambda i, at: parts.agree_cut(video_id, i, at), self._budget(remaining_seconds)
            )
            # the assembled transcript, when this part completed the set
            assembled = parts.save_part(video_id, index, result, assemble)
        except Exception as exc:
            error = describe(exc)
            error_type, reason = error.error_type, error.message
            if not error.retryable or claim.attempts >= MAX_ATTEMPTS:
                parts.fail_part(video_id, index, error_type, reason)
                return self._record_part(video_id, index, part, error_type, reason, body)
            parts.release_part(video_id, index, error_type, reason, claim_token=claim.token)
            return self._retry(video_id, exc, receipt_handle, release=False)
        if assembled is not None and self.events is not None:
            self.events.publish(transcript_ready(video_id, assembled))
        logger.info("part stored", extra={"part": index, "parts": part.count, "assembled": assembled is not None,
                                           "audio_seconds": round(audio.duration, 2)})  # fmt: skip
        return ProcessResult(
            Outcome.TRANSCRIBED if assembled is not None else Outcome.PART,
            video_id,
            reason=f"part {index + 1} of {part.count}",
            audio_seconds=audio.duration,
            bytes_streamed=audio.source_bytes,
            latency_seconds=time.monotonic() - started,
            speech_seconds=result.speech_seconds or 0.0,
        )

    def _record_part(
        self, video_id: str, index: int, part: PartRange | None, error_type: str, reason: str, body: str
    ) -> ProcessResult:
        """A part failed finally: the video's failure record names it; the other parts' results stay."""
        where = f" ({part.start:.0f}-{part.end:.0f} s of {part.count} parts)" if part is not None else ""
        message = f"part {index + 1}{where}: {reason}"
        logger.warning("part failed", extra={"error_type": error_type, "error": reason, "part": index})
        try:
            self.store.record_failure(video_id, error_type, message, None, body)
        except Exception as store_exc:  # the database is gone: the message comes back
            logger.warning("could not record the failure", extra={"error": str(store_exc)})
            return ProcessResult(Outcome.RETRY, video_id, reason=reason, error_type=error_type)
        self._announce_failure(video_id, error_type, message)
        return ProcessResult(Outcome.FAILED, video_id, reason=message, error_type=error_type)

    def _budget(self, remaining_seconds: Callable[[], float] | None) -> TimeBudget:
        timeout = self.settings.transcriber_timeout_seconds
        return TimeBudget(
            remaining_seconds or monotonic_deadline(timeout),
            margin_seconds=margin_for(timeout, self.settings.time_budget_margin_seconds),
            seconds_for=self.backend.seconds_for,
            timeout_seconds=timeout,
        )

    def _record_now(
        self, video_id: str | None, exc: Exception, body: str, attempts: int, claim_token: int | None = None
    ) -> ProcessResult:
        """A failure a retry cannot fix: write the failure record now and let the message go."""
        error = describe(exc)
        error_type, reason = error.error_type, error.message
        logger.warning("failed permanently", extra={"error_type": error_type, "error": reason})
        try:
            recorded = self.store.record_failure(video_id, error_type, reason, attempts, body, claim_token=claim_token)
        except Exception as store_exc:
            # The database is gone: keep the message. Its redelivery finds the video held until the
            # lease expires, after which the fetcher queues it again: nothing is lost.
            logger.warning("could not record the failure", extra={"error": str(store_exc)})
            return ProcessResult(Outcome.RETRY, video_id, reason=reason, error_type=error_type)
        if recorded is None and claim_token is not None:
            return _released(video_id)
        if recorded is not None:
            self._announce_failure(video_id, error_type, reason)
        return ProcessResult(Outcome.FAILED, video_id, reason=reason, error_type=error_type)

    def _record_exhausted(self, video_id: str, body: str) -> ProcessResult:
        error_type, message, attempts = self.store.job_error(video_id)
        error_type = error_type or RETRIES_EXHAUSTED
        message = message or "its attempts were used up by deliveries that never finished"
        logger.warning("attempts used up", extra={"error_type": error_type, "attempts": attempts})
        if self.store.record_failure(video_id, error_type, message, attempts, body) is not None:
            self._announce_failure(video_id, error_type, message)
        return ProcessResult(Outcome.FAILED, video_id, reason=message, error_type=error_type)

    def _announce_failure(self, video_id: str | None, error_type: str, message: str) -> None:
        if self.events is not None:
            backend, model = self.backend.name, self.backend.model
            self.events.publish(transcription_failed(video_id, error_type, message, backend=backend, model=model))

    def _retry(
        self,
        video_id: str,
        exc: Exception,
        receipt_handle: str | None,
        *,
        release: bool,
        claim_token: int | None = None,
    ) -> ProcessResult:
        """A retryable failure: the message comes back once, unless the claim was released meanwhile."""
        error = describe(exc)
        error_type, reason = error.error_type, error.message
        backoff = self.settings.retry_backoff_seconds
        if release:
            try:
                # Until the redelivery the job counts as queued, so the fetcher leaves it alone.
                released = self.store.release_for_retry(
                    video_id, error_type, reason, self.settings.queued_lease_seconds, claim_token=claim_token
                )
            except Exception as store_exc:  # the lease will expire on its own
                logger.warning("could not record the failed attempt", extra={"error": str(store_exc)})
            else:
                if not released and claim_token is not None:
                    return _released(video_id)
        logger.warning(
            "attempt failed; the message will come back",
            extra={"delivery": Outcome.RETRY.value, "error_type": error_type, "error": reason},
        )
        if self.queue is not None and receipt_handle:
            try:
                # Retry after the backoff rather than the full visibility timeout.
                self.queue.change_visibility(receipt_handle, backoff)
            except Exception as queue_exc:  # the visibility timeout still brings it back
                logger.warning("could not shorten the message's visibility", extra={"error": str(queue_exc)})
        return ProcessResult(Outcome.RETRY, video_id, reason=reason, error_type=error_type)


def _released(video_id: str | None) -> ProcessResult:
    """The attempt ended after its claim was given back: what it found decides nothing now. The
    message is left alone (reported failed, not deleted): whoever holds the video now, or the
    message's redelivery, decides."""
    reason = "its claim was released (a shutdown or a recovery) before the attempt ended"
    logger.info("skipped", extra={"delivery": Outcome.SKIPPED.value, "reason": reason, "outcome": "released"})
    return ProcessResult(Outcome.SKIPPED, video_id, reason=reason, released=True)
