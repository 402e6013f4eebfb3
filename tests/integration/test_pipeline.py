"""The whole pipeline on one machine: real PostgreSQL, real SQS endpoint, real HTTP media, real model.

Each test drives the local runtime (the Lambda event-source semantics) with the very same handlers
that run in AWS, and asserts on what ends up in the database and the queues.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator

import pytest

from tests.support.backends import CountingBackend
from tests.support.database import PostgresUnderTest
from tests.support.media_server import FaultyMediaServer
from tests.support.text import word_error_rate
from vidscribe.config import Settings
from vidscribe.local.runtime import LocalRuntime
from vidscribe.local.samples import load_manifest, samples_dir
from vidscribe.models import ClaimOutcome, VideoMessage
from vidscribe.services import Services
from vidscribe.workflow import Outcome, Transcriber

MANIFEST = load_manifest()


@pytest.fixture()
def media() -> Iterator[FaultyMediaServer]:
    with FaultyMediaServer(samples_dir()) as server:
        yield server


@pytest.fixture()
def backend(local_backend) -> CountingBackend:
    return CountingBackend(local_backend)


@pytest.fixture()
def services(settings: Settings, store: PostgresUnderTest, backend: CountingBackend) -> Iterator[Services]:
    services = Services(settings, backend=backend)
    try:
        yield services
    finally:
        services.close()


def add_samples(store: PostgresUnderTest, media: FaultyMediaServer, count: int | None = None) -> list[dict]:
    samples = MANIFEST[:count] if count else MANIFEST
    store.add_videos([(s["id"], media.url(s["file"])) for s in samples])
    return samples


def run_once(services: Services, workers: int | None = None):
    return LocalRuntime(services, workers=workers, poll_interval=0.1).run(once=True)


def test_full_flow_transcribes_every_sample_once(services, store, media, backend) -> None:
    # Given the sample videos in the videos table
    samples = add_samples(store, media)

    # When the pipeline runs until the backlog is empty
    report = run_once(services)

    # Then every sample has a transcript close to its reference text, and nothing failed
    transcripts = {t.video_id: t for t in store.transcripts()}
    assert set(transcripts) == {s["id"] for s in samples}
    for sample in samples:
        t = transcripts[sample["id"]]
        assert word_error_rate(sample["text"], t.text) < 0.35, (sample["text"], t.text)
        assert t.backend == "local" and t.model == "tiny.en" and t.language == "en"
        assert t.duration > 1.0
        assert t.segments and all(s.end > s.start for s in t.segments)
    assert store.failures() == []
    assert backend.calls == len(samples)
    assert report.transcriber_max_concurrency <= services.settings.max_workers

    # When it runs again, Then nothing is fetched and the model is not called
    again = run_once(services)
    assert again.transcriber_invocations == 0
    assert backend.calls == len(samples)


def test_concurrency_never_exceeds_max_workers(services, store, media, backend) -> None:
    # Given more videos than workers (the same clips under several ids)
    clip = MANIFEST[0]
    store.add_videos([(f"copy-{i}", media.url(clip["file"])) for i in range(6)])

    report = run_once(services, workers=2)

    assert len(store.transcripts()) == 6
    assert backend.max_active <= 2
    assert report.transcriber_max_concurrency <= 2


def test_duplicate_messages_one_after_the_other_give_one_model_call(services, store, media, backend, queue) -> None:
    # Given the same message sent twice by hand (no row in the videos table)
    body = VideoMessage(video_id="dup", url=media.url(MANIFEST[0]["file"])).body()
    queue.send([body, body])

    run_once(services, workers=1)

    assert [t.video_id for t in store.transcripts()] == ["dup"]
    assert backend.calls == 1


def test_concurrent_duplicate_delivery_is_skipped_while_in_flight(services, store, media, backend) -> None:
    # Given one worker holding the video inside the model
    store.add_videos([("v1", media.url(MANIFEST[0]["file"]))])
    body = VideoMessage(video_id="v1").body()
    transcriber = Transcriber(services.settings, store, None, services.media, backend)
    backend.release = threading.Event()
    first: list = []
    worker = threading.Thread(target=lambda: first.append(transcriber.process(body)))
    worker.start()
    assert backend.entered.wait(60)

    # When a second delivery of the same message arrives meanwhile
    second = transcriber.process(body)
    backend.release.set()
    worker.join()

    # Then it is skipped, and the first one stores the only transcript
    assert second.outcome is Outcome.SKIPPED and "duplicate" in second.reason
    assert first[0].outcome is Outcome.TRANSCRIBED
    assert backend.calls == 1
    assert len(store.transcripts()) == 1


def test_transient_failure_then_success(services, store, media, backend) -> None:
    # Given a media server that answers 503 to the first request for this clip
    sample = MANIFEST[0]
    store.add_videos([("flaky", media.url(sample["file"]))])
    media.fail_first(sample["file"], status=503)

    report = run_once(services)

    # Then the retry transcribed it, no failure record exists, and two attempts were counted
    assert [t.video_id for t in store.transcripts()] == ["flaky"]
    assert store.failures() == []
    assert store.job_error("flaky")[2] == 2
    assert report.record_failures == 1


def test_transient_model_failure_then_success(services, store, media, backend) -> None:
    store.add_videos([("model-flaky", media.url(MANIFEST[0]["file"]))])
    backend.fail_next = 1

    run_once(services)

    assert [t.video_id for t in store.transcripts()] == ["model-flaky"]
    assert backend.calls == 2
    assert store.failures() == []


def test_permanent_failure_gives_one_record_after_two_attempts(services, store, media, backend, dlq) -> None:
    # Given a URL that always answers 503 (retryable, so it gets its one retry)
    media.always_fail("broken.mp4", status=503)
    store.add_videos([("broken", media.url("broken.mp4"))])

    report = run_once(services)

    [record] = store.failures()
    assert record.video_id == "broken"
    assert record.error_type == "FetchError"
    assert record.attempts == 2
    assert json.loads(record.original_message)["video_id"] == "broken"
    assert report.dead_letters == 1
    assert sum(dlq.depth()) == 0  # the DLQ consumer deleted what it recorded
    assert backend.calls == 0
    assert store.claim("broken", None, 60).outcome is ClaimOutcome.FAILED


def test_non_retryable_failure_is_recorded_at_once(services, store, media, backend) -> None:
    # A 404 cannot get better: one attempt, one record, no trip through the DLQ.
    store.add_videos([("gone", media.url("missing.mp4"))])

    report = run_once(services)

    [record] = store.failures()
    assert (record.video_id, record.error_type, record.attempts) == ("gone", "FetchRefused", 1)
    assert report.dead_letters == 0


def test_malformed_messages_become_failure_records(services, store, queue, backend) -> None:
    bodies = [
        "this is not json",
        json.dumps(["a", "list"]),
        json.dumps({"url": "http://127.0.0.1/x.mp4"}),
        json.dumps({"video_id": "", "url": "http://127.0.0.1/x.mp4"}),
        json.dumps({"video_id": 42}),
        json.dumps({"video_id": "unknown-video"}),
    ]
    queue.send(bodies)

    report = run_once(services)

    records = store.failures()
    assert len(records) == len(bodies)
    assert {r.error_type for r in records} == {"MalformedMessage"}
    assert {r.original_message for r in records} == set(bodies)
    assert [r.video_id for r in records if r.video_id] == ["unknown-video"]
    assert report.dead_letters == 0 and backend.calls == 0
    assert sum(queue.depth()) == 0


def test_hand_injected_message_for_a_known_video(services, store, media, queue, backend) -> None:
    # The url is optional when the video is in the table.
    store.add_videos([("known", media.url(MANIFEST[1]["file"]))])
    store.mark_queued("known", None, 3600, queue.url)  # as 'vidscribe enqueue' does, so the fetcher leaves it
    queue.send([VideoMessage(video_id="known").body()])

    run_once(services)

    assert store.transcript("known") is not None
    assert backend.calls == 1
