"""Outcome events on moto's EventBridge, received the way a consumer receives them: through a rule
whose target is an SQS queue (issue 23, item 3)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from tests.support import nonspeech
from tests.support.eventbridge import BusToQueue, PutEventsFaultFront, bus_to_queue
from tests.support.media_factory import make_video
from tests.support.media_server import FaultyMediaServer
from vidscribe.adapters.eventbridge import ENTRY_ATTEMPTS, EventBridgePublisher, events_client
from vidscribe.adapters.media import StreamingMediaSource
from vidscribe.config import Settings
from vidscribe.contract import MetricName
from vidscribe.errors import FetchRefused
from vidscribe.events import transcription_failed
from vidscribe.local.samples import load_manifest, samples_dir
from vidscribe.models import VideoMessage
from vidscribe.observability import metrics
from vidscribe.services import Services
from vidscribe.workflow import DeadLetterRecorder, Outcome, Transcriber

SECRET_TOKEN = "tok-5f1e2d3c4b5a69788796a5b4"


@pytest.fixture()
def media() -> Iterator[FaultyMediaServer]:
    with FaultyMediaServer(samples_dir()) as server:
        yield server


@pytest.fixture()
def consumer(settings: Settings) -> BusToQueue:
    return bus_to_queue(settings)


@pytest.fixture()
def clean_metrics() -> Iterator[None]:
    """No metric recorded before the test; none left after it."""
    metrics.clear_metrics()
    yield
    metrics.clear_metrics()


def metric_values() -> dict[str, list[float]]:
    return {name: entry["Value"] for name, entry in metrics.metric_set.items()}


def transcriber(settings: Settings, store, backend, publisher: EventBridgePublisher) -> Transcriber:
    return Transcriber(settings, store, None, StreamingMediaSource(settings), backend, events=publisher)


def test_each_final_outcome_puts_one_event_that_the_rule_delivers(settings, store, media, local_backend, consumer):
    # Given the transcriber and the dead-letter recorder publishing to a bus whose rule targets a queue
    publisher = EventBridgePublisher(events_client(settings), consumer.bus_name)
    worker = transcriber(settings, store, local_backend, publisher)
    sample = load_manifest()[0]
    media.add_bytes("quiet.mp4", make_video(6.0, audio_from=nonspeech.silence(6.0)))
    media.always_fail("gone.mp4", status=404)
    media.always_fail("down.mp4", status=503)
    store.add_videos(
        [
            ("spoken", media.url(sample["file"])),
            ("quiet", media.url("quiet.mp4")),
            ("gone", media.url("gone.mp4") + f"?token={SECRET_TOKEN}"),
            ("down", media.url("down.mp4")),
        ]
    )

    # When one is transcribed, one holds no speech, one is refused (permanent) and one keeps failing
    # until its dead letter is recorded
    assert worker.process(VideoMessage(video_id="spoken").body()).outcome is Outcome.TRANSCRIBED
    assert worker.process(VideoMessage(video_id="quiet").body()).outcome is Outcome.TRANSCRIBED
    assert worker.process(VideoMessage(video_id="gone").body()).outcome is Outcome.FAILED
    for _ in range(2):
        assert worker.process(VideoMessage(video_id="down").body()).comes_back
    dead_letters = DeadLetterRecorder(store, events=publisher)
    assert dead_letters.record(VideoMessage(video_id="down").body()).outcome is Outcome.FAILED
    # (a redelivered dead letter records nothing new, and so announces nothing)
    assert dead_letters.record(VideoMessage(video_id="down").body()).outcome is Outcome.SKIPPED

    # Then the consumer's queue receives exactly one event per final outcome
    events = {event["detail"]["video_id"]: event for event in consumer.received(4)}
    assert sorted(events) == ["down", "gone", "quiet", "spoken"] and consumer.nothing_more()
    assert {event["source"] for event in events.values()} == {"vidscribe"}

    spoken, stored = events["spoken"], store.transcript("spoken")
    assert stored is not None and stored.text.strip()
    assert spoken["detail-type"] == "Transcript Ready"
    assert spoken["detail"] == {
        "video_id": "spoken", "outcome": "transcribed", "no_speech": False, "language": "en",
        "duration_seconds": round(stored.duration, 3), "speech_seconds": round(stored.speech_seconds or 0, 3),
        "model": "tiny.en", "backend": "local", "estimated_cost_usd": 0.0, "error_type": None, "error": None,
    }  # fmt: skip
    assert stored.text.strip() not in json.dumps(spoken)  # never the transcript's text

    quiet = events["quiet"]["detail"]
    assert events["quiet"]["detail-type"] == "Transcript Ready"
    assert (quiet["outcome"], quiet["no_speech"], quiet["speech_seconds"]) == ("without_speech", True, 0.0)

    gone = events["gone"]
    assert gone["detail-type"] == "Transcription Failed"
    assert (gone["detail"]["error_type"], gone["detail"]["model"]) == (FetchRefused.__name__, "tiny.en")
    assert "404" in gone["detail"]["error"] and SECRET_TOKEN not in json.dumps(gone)  # the URL's secret scrubbed

    down = events["down"]
    assert down["detail-type"] == "Transcription Failed"
    assert down["detail"]["error_type"] == "FetchError"
    assert (down["detail"]["model"], down["detail"]["backend"]) == (None, None)  # unknown to the DLQ consumer


def test_a_transcript_is_stored_when_put_events_keeps_failing(
    settings, store, media, local_backend, consumer, clean_metrics
):
    # Given a bus whose PutEvents refuses every entry (partial failure: HTTP 200, FailedEntryCount 1)
    sample = load_manifest()[0]
    store.add_videos([("v1", media.url(sample["file"]))])
    with PutEventsFaultFront(settings.aws_endpoint_url or "") as front:
        front.fail_next(1000)
        publisher = EventBridgePublisher(
            events_client(settings.replace(aws_endpoint_url=front.endpoint_url)), consumer.bus_name
        )

        # When the video is transcribed
        result = transcriber(settings, store, local_backend, publisher).process(VideoMessage(video_id="v1").body())

        # Then the transcript is stored and the delivery succeeds; the entry was tried a bounded
        # number of times, and the lost event is counted
        assert result.outcome is Outcome.TRANSCRIBED
        assert store.transcript("v1") is not None
        assert front.put_events_calls == ENTRY_ATTEMPTS
    assert metric_values()[MetricName.EVENTS_NOT_PUBLISHED] == [1.0]
    assert consumer.nothing_more()


def test_a_refused_entry_is_sent_again_and_arrives_once(settings, consumer, clean_metrics):
    # Given a bus that refuses the next entry once (InternalFailure), then takes it
    with PutEventsFaultFront(settings.aws_endpoint_url or "") as front:
        front.fail_next(1)
        publisher = EventBridgePublisher(
            events_client(settings.replace(aws_endpoint_url=front.endpoint_url)), consumer.bus_name
        )

        # When an outcome is published
        published = publisher.publish(transcription_failed("v2", "FetchError", "the server answered 503"))

        # Then the second send put it, and the consumer receives it once
        assert published and front.put_events_calls == 2
    assert [event["detail"]["video_id"] for event in consumer.received(1)] == ["v2"]
    assert consumer.nothing_more()
    assert MetricName.EVENTS_NOT_PUBLISHED not in metric_values()


def test_an_entry_error_a_retry_cannot_fix_is_not_sent_again(settings, consumer, clean_metrics):
    with PutEventsFaultFront(settings.aws_endpoint_url or "") as front:
        front.fail_next(1, error_code="AccessDeniedException")
        publisher = EventBridgePublisher(
            events_client(settings.replace(aws_endpoint_url=front.endpoint_url)), consumer.bus_name
        )
        assert not publisher.publish(transcription_failed("v3", "FetchError", "503"))
        assert front.put_events_calls == 1
    assert metric_values()[MetricName.EVENTS_NOT_PUBLISHED] == [1.0]


def test_a_bus_that_does_not_exist_loses_the_event_not_the_outcome(settings, clean_metrics):
    # PutEvents to a missing bus fails the whole call (moto: ResourceNotFoundException)
    publisher = EventBridgePublisher(events_client(settings), "no-such-bus")
    assert publisher.publish(transcription_failed("v4", "FetchError", "503")) is False
    assert metric_values()[MetricName.EVENTS_NOT_PUBLISHED] == [1.0]


def test_services_build_the_publisher_from_event_bus_name(settings, consumer):
    assert Services(settings).events is None  # EVENT_BUS_NAME unset: no events
    services = Services(settings.replace(event_bus_name=consumer.bus_name))
    try:
        publisher = services.events
        assert isinstance(publisher, EventBridgePublisher) and publisher.bus_name == consumer.bus_name
        assert services.dead_letters().events is publisher
    finally:
        services.close()
