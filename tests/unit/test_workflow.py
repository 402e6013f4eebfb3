"""The workflow's decisions, with small in-memory fakes of the ports (fakes over mocks)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import numpy as np
import pytest

from vidscribe.config import Settings
from vidscribe.errors import BackendTransient, FetchError, FetchRefused, NotMedia
from vidscribe.models import (
    Claim,
    ClaimOutcome,
    DecodedAudio,
    HeldClaim,
    PendingVideo,
    ReceivedMessage,
    Segment,
    Span,
    Transcript,
    VideoMessage,
)
from vidscribe.workflow import (
    AttemptFailed,
    DeadLetterRecorder,
    Delivery,
    Fetcher,
    Outcome,
    ProcessResult,
    Transcriber,
    operations,
    recover_abandoned,
    release_unfinished,
)
from vidscribe.workflow.reporting import handle_record

SETTINGS = Settings.from_env({}, RETRY_BACKOFF_SECONDS=7, QUEUE_HIGH_WATER=5, FETCH_BATCH_SIZE=3)
AUDIO = DecodedAudio(np.zeros(16_000 * 2, dtype=np.float32), source_bytes=1234)


@dataclass
class FakeStore:
    urls: dict[str, str] = field(default_factory=dict)
    claim_outcome: ClaimOutcome = ClaimOutcome.CLAIMED
    saved: dict[str, Transcript] = field(default_factory=dict)
    failures: list[tuple] = field(default_factory=list)
    released: list[tuple] = field(default_factory=list)
    pending: list[PendingVideo] = field(default_factory=list)
    reservations_released: list[str] = field(default_factory=list)
    job: tuple = (None, None, 0)
    transcribed: set[str] = field(default_factory=set)
    claims: list[dict] = field(default_factory=list)  # the keyword arguments of each claim
    token_released: bool = False  # the claim was given back while the attempt ran
    already_recorded: bool = False  # a failure record is open and the job is failed
    held: list[HeldClaim] = field(default_factory=list)
    claims_released: list[tuple] = field(default_factory=list)
    reserved_on: list[str] = field(default_factory=list)
    added: list[tuple] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)  # each record's message, in order
    refused: list[tuple] = field(default_factory=list)  # rows recorded under a stand-in id

    def video_url(self, video_id):
        return self.urls.get(video_id)

    def has_video(self, video_id):
        return video_id in self.urls

    def claim(self, video_id, url, lease, max_attempts, *, queue_url=None, claimed_by=None):
        self.claims.append({"queue_url": queue_url, "claimed_by": claimed_by})
        if self.claim_outcome is ClaimOutcome.CLAIMED:
            return Claim(self.claim_outcome, attempts=1, token=41)
        return Claim(self.claim_outcome, attempts=max_attempts)

    def save_transcript(self, video_id, transcript):
        self.saved[video_id] = transcript
        return True

    def record_failure(self, video_id, error_type, message, attempts, original, *, claim_token=None):
        if (claim_token is not None and self.token_released) or self.already_recorded:
            return None
        self.failures.append((video_id, error_type, attempts, original))
        self.messages.append(message)
        return len(self.failures)

    def record_refused_row(self, stand_in_id, error_type, message, original):
        self.refused.append((stand_in_id, error_type, message, original))
        return len(self.refused)

    def release_for_retry(self, video_id, error_type, message, queued_lease_seconds, *, claim_token=None):
        if claim_token is not None and self.token_released:
            return False
        self.released.append((video_id, error_type))
        return True

    def release_claim(self, video_id, claimed_by, lease, *, refund_attempt):
        self.claims_released.append((video_id, claimed_by, refund_attempt))
        return True

    def held_claims(self, prefix):
        return [c for c in self.held if c.claimed_by.startswith(prefix)]

    def reserve_pending(self, limit, lease, *, queue_url):
        self.reserved_on.append(queue_url)
        taken, self.pending = self.pending[:limit], self.pending[limit:]
        return taken

    def add_videos(self, rows, *, update_urls=False):
        self.added.extend(rows)
        return len(rows)

    def release_reservation(self, ids):
        self.reservations_released.extend(ids)

    def job_error(self, video_id):
        return self.job

    def has_transcript(self, video_id):
        return video_id in self.transcribed

    def in_flight(self, video_id):
        return self.claim_outcome is ClaimOutcome.IN_FLIGHT


@dataclass
class FakeQueue:
    url: str = "fake"
    visible: int = 0
    sent: list[str] = field(default_factory=list)
    visibility: list[tuple] = field(default_factory=list)
    refuse_after: int | None = None
    deleted: list[str] = field(default_factory=list)

    def send(self, bodies):
        if self.refuse_after is not None and len(self.sent) + len(bodies) > self.refuse_after:
            raise RuntimeError("endpoint down")
        self.sent.extend(bodies)
        return len(bodies)

    def depth(self):
        return self.visible, 0

    def change_visibility(self, handle, seconds):
        self.visibility.append((handle, seconds))

    def delete(self, handles):
        self.deleted.extend(handles)


class FakeMedia:
    def __init__(self, error: Exception | None = None) -> None:
        self.error = error
        self.urls: list[str] = []

    def fetch_audio(self, url, sink=None):
        self.urls.append(url)
        if self.error:
            raise self.error
        return AUDIO.stream_into(sink)


class FakeBackend:
    name, model = "fake", "fake-1"

    def __init__(self, error: Exception | None = None) -> None:
        self.error = error
        self.calls = 0

    def seconds_for(self, audio_seconds):
        return 0.0

    def transcribe(self, audio, speech=None):
        self.calls += 1
        if self.error:
            raise self.error
        return Transcript("hi", [Segment(0, 1, "hi")], "en", audio.duration, self.name, self.model)


class FakeVad:
    """Finds speech from ``start`` to the end of the audio, or nowhere (``start=None``)."""

    lookback_seconds = 0.0

    def __init__(self, start: float | None = 0.0) -> None:
        self.start = start

    def detector(self):
        return FakeDetector(self.start)


class FakeDetector:
    def __init__(self, start: float | None) -> None:
        self.start, self.fed, self.speech_seconds = start, 0.0, 0.0

    def feed(self, block):
        self.fed += len(block) / 16_000
        return []

    def open_since(self):
        return self.start

    def cut(self, at_seconds):
        return []

    def finish(self):
        if self.start is None:
            return []
        self.speech_seconds = self.fed - self.start
        return [Span(self.start, self.fed)]


def make(store=None, media=None, backend=None, queue=None, vad=None):
    store = store or FakeStore(urls={"v1": "http://media/v1.mp4"})
    queue = queue or FakeQueue()
    transcriber = Transcriber(
        SETTINGS, store, queue, media or FakeMedia(), backend or FakeBackend(), vad=vad or FakeVad()
    )
    return transcriber, store, queue


def test_transcribes_and_stores() -> None:
    transcriber, store, _ = make()
    result = transcriber.process(VideoMessage(video_id="v1").body(), "rh")
    assert result.outcome is Outcome.TRANSCRIBED
    assert store.saved["v1"].text == "hi"
    assert result.audio_seconds == 2.0 and result.bytes_streamed == 1234


def test_a_video_without_speech_is_stored_as_such_without_calling_the_model() -> None:
    # Given a detector that finds no speech in the video
    backend = FakeBackend()
    transcriber, store, _ = make(backend=backend, vad=FakeVad(start=None))
    # When it is processed
    result = transcriber.process(VideoMessage(video_id="v1").body(), "rh")
    # Then it is transcribed, as a transcript without speech, and the model was never called
    assert result.outcome is Outcome.TRANSCRIBED and result.no_speech and result.speech_seconds == 0
    saved = store.saved["v1"]
    assert (saved.text, saved.segments, saved.no_speech, saved.speech_seconds) == ("", [], True, 0.0)
    assert (saved.model_audio_seconds, saved.cost_usd, saved.duration) == (0.0, 0.0, 2.0)
    assert backend.calls == 0 and store.failures == []


def test_only_the_speech_reaches_the_model_and_times_come_back() -> None:
    # Given speech from 1.5 s of a 2 s video, and a model that times its words on what it hears
    heard: list[float] = []

    class TimingBackend(FakeBackend):
        def transcribe(self, audio, speech=None):
            heard.append(audio.duration)
            return Transcript("hi", [Segment(0.0, 0.4, "hi")], "en", audio.duration, "fake", "fake-1",
                              model_audio_seconds=audio.duration, cost_usd=0.0)

    transcriber, store, _ = make(backend=TimingBackend(), vad=FakeVad(start=1.5))
    result = transcriber.process(VideoMessage(video_id="v1").body(), "rh")
    # Then the model heard half a second, and the segment sits where the speech is in the video
    assert heard == [0.5] and result.speech_seconds == 0.5 and not result.no_speech
    [segment] = store.saved["v1"].segments
    assert (segment.start, segment.end) == (1.5, 1.9)
    assert store.saved["v1"].model_audio_seconds == 0.5


def test_message_url_wins_over_the_table() -> None:
    media = FakeMedia()
    transcriber, _, _ = make(media=media)
    transcriber.process(VideoMessage(video_id="v1", url="http://other/x.webm").body())
    assert media.urls == ["http://other/x.webm"]


@pytest.mark.parametrize("outcome", [ClaimOutcome.ALREADY_DONE, ClaimOutcome.IN_FLIGHT, ClaimOutcome.FAILED])
def test_skips_without_touching_media_or_model(outcome) -> None:
    media, backend = FakeMedia(), FakeBackend()
    transcriber, store, _ = make(store=FakeStore(urls={"v1": "u"}, claim_outcome=outcome), media=media, backend=backend)
    result = transcriber.process(VideoMessage(video_id="v1").body())
    assert result.outcome is Outcome.SKIPPED
    assert media.urls == [] and backend.calls == 0


@pytest.mark.parametrize(
    "body",
    ["not json", "[]", '{"url": "http://x"}', '{"video_id": ""}', '{"video_id": 7}', '{"video_id": "a\\u0000b"}'],
)
def test_malformed_message_is_recorded_not_raised(body) -> None:
    transcriber, store, _ = make()
    result = transcriber.process(body, "rh")
    assert result.outcome is Outcome.FAILED
    [(video_id, error_type, _, original)] = store.failures
    assert error_type == "MalformedMessage" and original == body and video_id is None


def test_unknown_video_without_url_is_malformed() -> None:
    transcriber, store, _ = make()
    result = transcriber.process(VideoMessage(video_id="nobody").body())
    assert result.outcome is Outcome.FAILED
    assert store.failures[0][:2] == ("nobody", "MalformedMessage")


@pytest.mark.parametrize("error", [FetchError("503"), BackendTransient("429"), ConnectionResetError("reset")])
def test_retryable_error_releases_shortens_visibility_and_raises(error) -> None:
    media = FakeMedia(error) if not isinstance(error, BackendTransient) else FakeMedia()
    backend = FakeBackend(error) if isinstance(error, BackendTransient) else FakeBackend()
    transcriber, store, queue = make(media=media, backend=backend)
    failed = transcriber.process(VideoMessage(video_id="v1").body(), "receipt-1")
    assert failed.comes_back  # its message stays on the queue: reported in batchItemFailures
    assert failed.outcome is Outcome.RETRY
    assert store.released == [("v1", type(error).__name__)]
    assert queue.visibility == [("receipt-1", 7)]
    assert store.failures == []


@pytest.mark.parametrize("error", [FetchRefused("404"), NotMedia("html")])
def test_permanent_error_is_recorded_at_once(error) -> None:
    transcriber, store, queue = make(media=FakeMedia(error))
    result = transcriber.process(VideoMessage(video_id="v1").body(), "rh")
    assert result.outcome is Outcome.FAILED and result.error_type == type(error).__name__
    assert store.failures[0][:3] == ("v1", type(error).__name__, 1)
    assert queue.visibility == [] and store.released == []


# --- the time budget ---------------------------------------------------------------------------------
class SlowBackend(FakeBackend):
    def seconds_for(self, audio_seconds):
        return audio_seconds * 100  # far slower than the time an invocation has


def test_a_video_that_cannot_finish_in_time_fails_at_once_without_calling_the_model() -> None:
    # Given a backend that would need 200 s for the 2 s video, and 60 s left in the invocation
    backend = SlowBackend()
    transcriber, store, queue = make(backend=backend)
    # When the video is processed
    result = transcriber.process(VideoMessage(video_id="v1").body(), "rh", remaining_seconds=lambda: 60.0)
    # Then it is a permanent failure that names the fix, recorded on the first attempt; no model call
    assert result.outcome is Outcome.FAILED and result.error_type == "TimeBudgetExceeded"
    assert "TRANSCRIBER_TIMEOUT_SECONDS" in result.reason
    assert store.failures[0][:3] == ("v1", "TimeBudgetExceeded", 1)
    assert backend.calls == 0 and queue.visibility == []


def test_time_running_out_mid_video_releases_it_for_the_retry() -> None:
    # Given an invocation whose time runs out once the audio is streaming (1 s left, 30 s margin)
    clock = iter([900.0] + [1.0] * 100)
    transcriber, store, queue = make()
    # When the video is processed
    failed = transcriber.process(VideoMessage(video_id="v1").body(), "rh", remaining_seconds=lambda: next(clock))
    assert failed.comes_back  # its message stays on the queue: reported in batchItemFailures
    # Then the attempt is given back (retryable), the message comes back after the backoff
    assert failed.error_type == "TimeRunningOut"
    assert store.released == [("v1", "TimeRunningOut")] and queue.visibility == [("rh", 7)]
    assert store.failures == [] and store.saved == {}


def test_fetcher_tops_the_queue_up_to_high_water() -> None:
    store = FakeStore(pending=[PendingVideo(f"v{i}", f"u{i}") for i in range(10)])
    queue = FakeQueue(visible=3)
    result = Fetcher(SETTINGS, store, queue).run()
    assert result.enqueued == 2  # high water 5, three already visible
    assert [VideoMessage.parse(b).video_id for b in queue.sent] == ["v0", "v1"]


def test_fetcher_releases_what_it_could_not_send() -> None:
    store = FakeStore(pending=[PendingVideo(f"v{i}", f"u{i}") for i in range(3)])
    with pytest.raises(RuntimeError):
        Fetcher(SETTINGS, store, FakeQueue(refuse_after=0)).run()
    assert store.reservations_released == ["v0", "v1", "v2"]


def test_fetcher_records_rows_no_message_can_carry_and_sends_the_others() -> None:
    # Given a batch with a good row, a row whose url is NULL, and one whose id is too long to be a key
    long_id = "x" * 3000
    store = FakeStore(
        pending=[
            PendingVideo("good", "https://m/good.mp4"),
            PendingVideo("no-url", None),
            PendingVideo(long_id, "https://m/long.mp4", stand_in_id="xxx…#md5"),
        ]
    )
    queue = FakeQueue()
    # When the fetcher runs
    result = Fetcher(SETTINGS, store, queue).run()
    # Then the good row is sent, and each bad one has its own record that says what is true
    assert result.enqueued == 1 and [VideoMessage.parse(b).video_id for b in queue.sent] == ["good"]
    assert [f[:2] for f in store.failures] == [("no-url", "MalformedMessage")]
    assert store.messages == ["the videos table row cannot be queued: its url is NULL"]
    [(stand_in, error_type, message, original)] = store.refused
    assert (stand_in, error_type) == ("xxx…#md5", "MalformedMessage")
    assert "video_id is 3,000 characters long (at most 256)" in message and "'xxx…#md5'" in message
    assert json.loads(original) == {"video_id": long_id, "url": "https://m/long.mp4"}
    assert store.reservations_released == []  # nothing reserved is left hanging


def test_a_message_for_a_row_whose_url_is_null_says_so() -> None:
    transcriber, store, _ = make(store=FakeStore(urls={"v-null": None}))
    transcriber.process(VideoMessage(video_id="v-null").body())
    assert store.messages == ["video 'v-null' has no url in the videos table (it is NULL) and the message has no url"]
    transcriber.process(VideoMessage(video_id="nobody").body())
    assert store.messages[1] == "video 'nobody' is not in the videos table and the message has no url"


def test_dead_letter_uses_the_last_recorded_error() -> None:
    store = FakeStore(job=("FetchError", "server said 503", 2))
    result = DeadLetterRecorder(store).record(VideoMessage(video_id="v1").body(), receive_count=3)
    assert result.outcome is Outcome.FAILED
    assert store.failures == [("v1", "FetchError", 2, '{"video_id":"v1"}')]


def test_a_dead_letter_whose_record_cannot_be_written_says_why_and_stays(caplog) -> None:
    # Given a store that refuses the write (the database is away, or cannot hold what it is given)
    class RefusingStore(FakeStore):
        def record_failure(self, *args, **kwargs):
            raise UnicodeEncodeError("utf-8", "\ud800", 0, 1, "surrogates not allowed")

    # When the dead letter is handled, it fails (the message stays in the DLQ), with a warning
    with pytest.raises(UnicodeEncodeError):
        DeadLetterRecorder(RefusingStore()).record('{"video_id": 7}')
    [warning] = [r for r in caplog.records if r.levelname == "WARNING"]
    assert warning.getMessage() == "could not write the failure record; the dead letter stays for its next delivery"


def test_dead_letter_without_a_recorded_error_says_so() -> None:
    store = FakeStore(job=(None, None, 0))
    result = DeadLetterRecorder(store).record(VideoMessage(video_id="v1").body())
    assert result.error_type == "RetriesExhausted"
    assert "no recorded error" in result.reason


def test_dead_letter_of_a_video_transcribed_meanwhile_is_not_a_failure() -> None:
    store = FakeStore(transcribed={"v1"})
    result = DeadLetterRecorder(store).record(VideoMessage(video_id="v1").body())
    assert result.outcome is Outcome.SKIPPED and store.failures == []


def test_exhausted_attempts_record_the_last_error() -> None:
    # A duplicate delivery spent the retry: the next delivery records the failure, no third attempt.
    store = FakeStore(urls={"v1": "u"}, claim_outcome=ClaimOutcome.EXHAUSTED, job=("FetchError", "503", 2))
    media = FakeMedia()
    transcriber, _, _ = make(store=store, media=media)
    result = transcriber.process(VideoMessage(video_id="v1").body())
    assert result.outcome is Outcome.FAILED and result.error_type == "FetchError"
    assert store.failures == [("v1", "FetchError", 2, '{"video_id":"v1"}')]
    assert media.urls == []


def test_permanent_error_with_the_database_gone_keeps_the_message() -> None:
    class DownStore(FakeStore):
        def record_failure(self, *args):
            raise ConnectionError("database is gone")

    transcriber, _, _ = make(store=DownStore(urls={"v1": "u"}), media=FakeMedia(NotMedia("html")))
    assert transcriber.process(VideoMessage(video_id="v1").body(), "rh").comes_back


def test_dead_letter_of_a_video_in_flight_elsewhere_is_not_recorded() -> None:
    store = FakeStore(claim_outcome=ClaimOutcome.IN_FLIGHT, job=("FetchError", "503", 1))
    result = DeadLetterRecorder(store).record(VideoMessage(video_id="v1").body())
    assert result.outcome is Outcome.SKIPPED and store.failures == []


# --- claims, fences and giving work back --------------------------------------------------------------
def test_the_claim_names_the_queue_and_the_process() -> None:
    store = FakeStore(urls={"v1": "u"})
    transcriber = Transcriber(
        SETTINGS, store, FakeQueue(url="q-url"), FakeMedia(), FakeBackend(), claimed_by="me", vad=FakeVad()
    )
    transcriber.process(VideoMessage(video_id="v1").body(), "rh")
    assert store.claims == [{"queue_url": "q-url", "claimed_by": "me"}]


def test_fetcher_reserves_for_its_own_queue() -> None:
    store = FakeStore(pending=[PendingVideo("v0", "u0")])
    Fetcher(SETTINGS, store, FakeQueue(url="q-url")).run()
    assert store.reserved_on == ["q-url"]


def test_a_failed_attempt_whose_claim_was_released_decides_nothing() -> None:
    # Given an attempt that fails after a shutdown gave its video back
    store = FakeStore(urls={"v1": "u"}, token_released=True)
    transcriber, _, queue = make(store=store, media=FakeMedia(FetchError("503")))

    # When it reports the failure, Then nothing changes: no retry state, no visibility change
    failed = transcriber.process(VideoMessage(video_id="v1").body(), "rh")
    assert failed.comes_back  # its message stays on the queue: reported in batchItemFailures
    assert failed.outcome is Outcome.SKIPPED
    assert store.released == [] and queue.visibility == []


def test_a_permanent_failure_whose_claim_was_released_records_nothing() -> None:
    store = FakeStore(urls={"v1": "u"}, token_released=True)
    transcriber, _, _ = make(store=store, media=FakeMedia(NotMedia("html")))
    failed = transcriber.process(VideoMessage(video_id="v1").body(), "rh")
    assert failed.comes_back  # its message stays on the queue: reported in batchItemFailures
    assert failed.outcome is Outcome.SKIPPED and store.failures == []


def test_a_dead_letter_already_recorded_is_not_counted_again() -> None:
    store = FakeStore(job=("FetchError", "503", 2), already_recorded=True)
    result = DeadLetterRecorder(store).record(VideoMessage(video_id="v1").body())
    assert result.outcome is Outcome.SKIPPED and "already recorded" in result.reason


def _message(video_id: str, handle: str) -> ReceivedMessage:
    return ReceivedMessage(f"m-{video_id}", handle, VideoMessage(video_id=video_id).body(), 1)


def test_release_unfinished_gives_claims_and_fresh_messages_back() -> None:
    # Given two deliveries still in the workers' hands at the end of the grace period
    store, queue = FakeStore(), FakeQueue()
    held = [_message("v1", "h1"), _message("v2", "h2")]

    # When they are released
    released = release_unfinished(SETTINGS, store, queue, held, "me")

    # Then each claim is given back without spending an attempt, and each message is sent again
    # (a fresh copy keeps its whole receive budget) and the received one deleted
    assert store.claims_released == [("v1", "me", True), ("v2", "me", True)]
    assert [VideoMessage.parse(b).video_id for b in queue.sent] == ["v1", "v2"]
    assert queue.deleted == ["h1", "h2"] and queue.visibility == []
    assert (released.videos, released.messages, released.lost_messages) == (2, 2, 0)


def test_release_unfinished_makes_the_message_visible_when_it_cannot_be_sent() -> None:
    store, queue = FakeStore(), FakeQueue(refuse_after=0)
    released = release_unfinished(SETTINGS, store, queue, [_message("v1", "h1")], "me")
    assert queue.visibility == [("h1", 0)] and queue.deleted == []
    assert released.messages == 1


def test_recover_abandoned_gives_back_only_the_dead_processes_claims() -> None:
    store = FakeStore(
        held=[HeldClaim("v1", "host:1:dead"), HeldClaim("v2", "host:2:alive"), HeldClaim("v3", "other:3:dead")]
    )
    recovered = recover_abandoned(SETTINGS, store, "host:", lambda owner: owner.endswith("dead"))
    assert recovered == ["v1"]
    assert store.claims_released == [("v1", "host:1:dead", False)]  # a crash spends its attempt


def test_add_videos_refuses_at_the_door_before_writing_anything() -> None:
    from vidscribe.adapters.media.urlguard import check_url_without_dns
    from vidscribe.errors import UrlRejected

    store = FakeStore()
    rows = [("ok", "https://example.com/a.mp4"), ("bad", "ftp://example.com/b.mp4")]
    with pytest.raises(operations.RefusedUrl) as refused:
        operations.add_videos(store, rows, lambda url: check_url_without_dns(url, False))
    assert (refused.value.index, refused.value.video_id) == (1, "bad")
    assert "scheme" in refused.value.reason and store.added == []
    assert isinstance(refused.value, operations.OperatorError) and not isinstance(refused.value, UrlRejected)


def test_metrics_count_videos_without_speech_and_the_speech_seconds() -> None:
    from vidscribe.contract import MetricName
    from vidscribe.observability import metrics
    from vidscribe.workflow.reporting import transcription_metrics

    metrics.clear_metrics()
    try:
        transcription_metrics(ProcessResult(Outcome.TRANSCRIBED, "quiet", audio_seconds=20.0, no_speech=True))
        transcription_metrics(ProcessResult(Outcome.TRANSCRIBED, "talk", audio_seconds=10.0, speech_seconds=6.5))
        recorded = {name: entry["Value"] for name, entry in metrics.metric_set.items()}
    finally:
        metrics.clear_metrics()
    assert recorded[MetricName.TRANSCRIBED] == [1.0, 1.0]
    assert recorded[MetricName.WITHOUT_SPEECH] == [1.0]  # only the video without speech
    assert recorded[MetricName.SPEECH_SECONDS] == [0.0, 6.5]


# --- one typed result per delivery; the batch layer maps it to batchItemFailures -------------------
@pytest.mark.parametrize(
    ("result", "delivery", "comes_back"),
    [
        (ProcessResult(Outcome.TRANSCRIBED, "v1"), Delivery.TRANSCRIBED, False),
        (ProcessResult(Outcome.TRANSCRIBED, "v1", no_speech=True), Delivery.WITHOUT_SPEECH, False),
        (ProcessResult(Outcome.SKIPPED, "v1"), Delivery.SKIPPED, False),
        (ProcessResult(Outcome.RETRY, "v1"), Delivery.RETRY, True),
        (ProcessResult(Outcome.SKIPPED, "v1", released=True), Delivery.RELEASED, True),
        (ProcessResult(Outcome.FAILED, "v1"), Delivery.FAILED, False),
    ],
)
def test_each_delivery_has_one_result_and_the_batch_layer_keeps_what_comes_back(
    result: ProcessResult, delivery: Delivery, comes_back: bool
) -> None:
    assert result.delivery is delivery and result.comes_back is comes_back
    reported: list[ProcessResult] = []
    body = VideoMessage(video_id="v1").body()
    if comes_back:
        with pytest.raises(AttemptFailed) as failed:
            handle_record(body, "m1", lambda: result, reported.append)
        assert failed.value.result is result
    else:
        assert handle_record(body, "m1", lambda: result, reported.append) == result.outcome.value
    assert reported == [result]
