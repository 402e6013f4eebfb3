"""Exactly one transcript per video in parts, whatever the deliveries do (issue 22): duplicate part
messages, two parts completing at once, a worker that died mid-part, a database restart, and a part
that always fails until ``retry-failed``. Real PostgreSQL and SQS endpoint, media over HTTP, the
minute-mark backend stand-in; the transcriber is called with the messages a queue would deliver."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
import requests
from pydantic import SecretStr

from tests.integration.test_parts import assert_covers_in_order, one_hertz_wav, rows
from tests.support.database import PostgresUnderTest
from tests.support.faults import PrivatePostgres
from tests.support.media_server import FaultyMediaServer
from tests.support.part_backends import MinuteBackend, minute_marks
from tests.support.web import running_web
from vidscribe.config import Settings
from vidscribe.models import Span, VideoMessage
from vidscribe.services import Services
from vidscribe.workflow import Outcome, Transcriber
from vidscribe.workflow.operations import retry_failed
from vidscribe.workflow.parts import assemble, on_video_timeline

HOUR = 3600.0


@pytest.fixture()
def media() -> Iterator[FaultyMediaServer]:
    with FaultyMediaServer() as server:
        yield server


@pytest.fixture()
def lecture(store: PostgresUnderTest, media: FaultyMediaServer) -> str:
    """An hour of 1 Hz audio on the media server, in the videos table as 'lecture'."""
    media.add_bytes("lecture.wav", one_hertz_wav(HOUR), "audio/wav")
    store.add_videos([("lecture", media.url("lecture.wav"))])
    return media.url("lecture.wav")


def transcriber(settings: Settings, backend: MinuteBackend) -> Iterator[tuple[Services, Transcriber]]:
    services = Services(settings.replace(vad="off", part_seconds=900), backend=backend)
    try:
        yield services, services.transcriber()
    finally:
        services.close()


@pytest.fixture()
def backend() -> MinuteBackend:
    return MinuteBackend()


@pytest.fixture()
def worker(settings: Settings, backend: MinuteBackend) -> Iterator[Transcriber]:
    for _, t in transcriber(settings, backend):
        yield t


def part_body(index: int) -> str:
    return VideoMessage(video_id="lecture", part=index).body()


def plan(worker: Transcriber, store: PostgresUnderTest) -> int:
    """Deliver the video's own message: it is planned in parts. Returns how many."""
    result = worker.process(VideoMessage(video_id="lecture").body())
    assert result.outcome is Outcome.PART, result
    return int(rows(store, "SELECT part_count FROM video_part_plans WHERE video_id = 'lecture'")[0][0])


def test_duplicate_part_messages_end_in_one_transcript(
    worker: Transcriber, store: PostgresUnderTest, lecture: str, backend: MinuteBackend
) -> None:
    # Given an hour planned in 4 parts of 15 minutes
    assert plan(worker, store) == 4
    # When every part message is delivered twice, the copies interleaved, and once more afterwards
    outcomes = [worker.process(part_body(i)).outcome for i in (0, 1, 0, 2, 1, 3, 2, 3)]
    late = worker.process(part_body(2)).outcome
    # Then each part was transcribed once, the last first delivery assembled, the copies were skipped
    assert outcomes == [Outcome.PART, Outcome.PART, Outcome.SKIPPED, Outcome.PART, Outcome.SKIPPED,
                        Outcome.TRANSCRIBED, Outcome.SKIPPED, Outcome.SKIPPED]  # fmt: skip
    assert late is Outcome.SKIPPED
    assert backend.audio_seconds == pytest.approx(HOUR, abs=0.05)
    (transcript,) = store.transcripts()
    assert_covers_in_order(transcript, HOUR)
    assert store.status()["parts"] == {"videos": 0, "by_state": {}, "in_flight": 0}
    # And the video's own message delivered again finds it done
    assert worker.process(VideoMessage(video_id="lecture").body()).outcome is Outcome.SKIPPED


def test_two_last_parts_completing_at_once_store_one_transcript(store: PostgresUnderTest) -> None:
    # Given a video planned in two parts, both claimed
    store.execute("INSERT INTO video_jobs (video_id, url, state, attempts) VALUES ('v', 'http://x', 'processing', 1)")
    assert store.plan_parts("v", 20.0, [Span(0, 10), Span(10, 20)], lease_seconds=60) == [0, 1]
    claims = [store.claim_part("v", i, 60) for i in (0, 1)]
    results = [on_video_timeline(minute_marks(10.0), 10.0 * i, 10.0) for i in (0, 1)]
    # When both results are stored at the same moment, from two threads, many times over
    barrier = threading.Barrier(2)
    assembled: list[bool] = []  # whether each call stored the transcript

    def save(i: int) -> None:
        barrier.wait()
        assembled.append(store.save_part("v", i, results[i], assemble) is not None)

    threads = [threading.Thread(target=save, args=(i,)) for i in (0, 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # Then exactly one of them assembled the transcript, and the plan is gone
    assert sorted(assembled) == [False, True] and all(c.part is not None for c in claims)
    (transcript,) = store.transcripts()
    assert [s.text for s in transcript.segments] == ["m0", "m0"] and transcript.duration == 20.0
    assert rows(store, "SELECT count(*) FROM video_part_plans") == [(0,)]


def test_a_part_whose_worker_died_is_taken_again_after_its_lease(
    worker: Transcriber, store: PostgresUnderTest, lecture: str
) -> None:
    # Given a planned video whose part 1 a worker claimed and then died with (SIGKILL: it never
    # stored, released or failed anything)
    plan(worker, store)
    assert store.claim_part("lecture", 1, lease_seconds=900).part is not None
    assert store.status()["parts"] == {"videos": 1, "by_state": {"queued": 3, "processing": 1}, "in_flight": 1}
    # When its redelivery comes while the lease is live, it is skipped; once the lease has ended
    # (made so here rather than waited for), the redelivery takes the part
    assert worker.process(part_body(1)).outcome is Outcome.SKIPPED
    store.execute("UPDATE video_parts SET lease_expires_at = now() WHERE video_id = 'lecture' AND part_index = 1")
    outcomes = [worker.process(part_body(i)).outcome for i in (0, 1, 2, 3)]
    # Then the video is one transcript, the dead worker's attempt counted against the part's retry
    assert outcomes[-1] is Outcome.TRANSCRIBED
    (transcript,) = store.transcripts()
    assert_covers_in_order(transcript, HOUR)


def test_a_part_that_always_fails_is_one_failure_record_then_retry_failed_finishes_the_video(
    settings: Settings, store: PostgresUnderTest, lecture: str
) -> None:
    # Given a video planned in 4 parts, and a backend that is down whenever part 3 (index 2) comes
    backend = MinuteBackend()
    for _, worker in transcriber(settings, backend):
        plan(worker, store)
        # When the other parts are delivered once, and part 3 twice (its one retry), failing both times
        results = [worker.process(part_body(i)).outcome for i in (0, 1, 3)]
        backend.failing = True
        first, second = worker.process(part_body(2)), worker.process(part_body(2))
    assert results == [Outcome.PART] * 3
    assert (first.outcome, second.outcome) == (Outcome.RETRY, Outcome.FAILED)
    # Then one failure record names the part, and the other parts' results are kept
    (record,) = store.failures()
    assert record.video_id == "lecture" and record.message.startswith("part 3 ")
    assert rows(store, "SELECT part_index, state FROM video_parts ORDER BY part_index") == [
        (0, "done"), (1, "done"), (2, "failed"), (3, "done")]  # fmt: skip
    # And status shows the video in parts, and where its parts are
    assert store.status()["parts"] == {"videos": 1, "by_state": {"done": 3, "failed": 1}, "in_flight": 0}
    # When the operator retries it and the backend works again
    healthy = MinuteBackend()
    for services, worker in transcriber(settings, healthy):
        assert retry_failed(services.settings, store, services.queue, ["lecture"]).queued == ["lecture"]
        assert worker.process(VideoMessage(video_id="lecture").body()).outcome is Outcome.PART
        assert worker.process(part_body(2)).outcome is Outcome.TRANSCRIBED
    # Then only the missing part was transcribed again (the two backends together heard the hour
    # once), and the record is resolved
    assert 900.0 - 60 < healthy.audio_seconds < 900.0 + 60
    assert backend.audio_seconds + healthy.audio_seconds == pytest.approx(HOUR, abs=0.05)
    (transcript,) = store.transcripts()
    assert_covers_in_order(transcript, HOUR)
    assert store.failures() == []


def test_a_database_restart_between_parts_still_ends_in_one_transcript(
    settings: Settings, media: FaultyMediaServer
) -> None:
    # Given a database this test may restart, and a video planned in parts with two parts stored
    server = PrivatePostgres().start()
    try:
        url = server.create_database("parts")
        own = PostgresUnderTest(url)
        own.migrate()
        media.add_bytes("lecture.wav", one_hertz_wav(HOUR), "audio/wav")
        own.add_videos([("lecture", media.url("lecture.wav"))])
        backend = MinuteBackend()
        for _, worker in transcriber(settings.replace(database_url=SecretStr(url)), backend):
            plan(worker, own)
            assert [worker.process(part_body(i)).outcome for i in (0, 1)] == [Outcome.PART, Outcome.PART]
            # When PostgreSQL restarts (every session is cut), and the remaining parts come
            server.restart()
            assert [worker.process(part_body(i)).outcome for i in (2, 3)] == [Outcome.PART, Outcome.TRANSCRIBED]
        # Then there is one transcript over the whole hour and no part left
        (transcript,) = own.transcripts()
        assert_covers_in_order(transcript, HOUR)
        assert rows(own, "SELECT count(*) FROM video_parts") == [(0,)]
        own.close()
    finally:
        server.stop()


def test_the_status_page_shows_the_videos_in_parts(
    worker: Transcriber, store: PostgresUnderTest, lecture: str, database_url: str
) -> None:
    # Given a video planned in 4 parts, one of them done and one held by a worker
    plan(worker, store)
    assert worker.process(part_body(0)).outcome is Outcome.PART
    assert store.claim_part("lecture", 1, lease_seconds=900).part is not None
    # When the status page is asked for
    with running_web(database_url) as web:
        page = requests.get(web.page("status"), timeout=10).text
    # Then it says so
    assert '<td class="num" id="count-in-parts">1</td><td>1 of 4 parts done, 1 in flight</td>' in page


def test_a_part_whose_message_reaches_the_dead_letter_queue_fails_that_part_and_retry_failed_finishes(
    settings: Settings, store: PostgresUnderTest, lecture: str
) -> None:
    # Given a video in 4 parts, three of them done, and part 3's message in the DLQ (its two
    # deliveries crashed or timed out: nothing was recorded), while the video's job is held for its parts
    for services, worker in transcriber(settings, MinuteBackend()):
        plan(worker, store)
        assert [worker.process(part_body(i)).outcome for i in (0, 1, 3)] == [Outcome.PART] * 3
        recorder = services.dead_letters()
        # When the DLQ consumer gets it, twice (SQS delivers at least once)
        first, again = recorder.record(part_body(2), 2), recorder.record(part_body(2), 2)
        assert (first.outcome, again.outcome) == (Outcome.FAILED, Outcome.SKIPPED)
    # Then the video has one failure record naming the part, and the part is failed
    (record,) = store.failures()
    assert (record.video_id, record.error_type) == ("lecture", "RetriesExhausted")
    assert record.message.startswith("part 3: ")
    assert rows(store, "SELECT state FROM video_parts WHERE part_index = 2") == [("failed",)]
    # And retry-failed then finishes the video with that part alone
    healthy = MinuteBackend()
    for services, worker in transcriber(settings, healthy):
        retry_failed(services.settings, store, services.queue, ["lecture"])
        assert worker.process(VideoMessage(video_id="lecture").body()).outcome is Outcome.PART
        assert worker.process(part_body(2)).outcome is Outcome.TRANSCRIBED
    assert 900.0 - 60 < healthy.audio_seconds < 900.0 + 60
    (transcript,) = store.transcripts()
    assert_covers_in_order(transcript, HOUR)
