"""The Lambda handlers, called with the sample events kept beside them (the shape Lambda delivers)."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest

from tests.support.backends import CountingBackend
from tests.support.media_server import FaultyMediaServer
from vidscribe.handlers import dlq_consumer_handler, fetcher_handler, transcriber_handler
from vidscribe.local.lambda_emulation import LocalLambdaContext
from vidscribe.local.samples import load_manifest, samples_dir
from vidscribe.services import Services

FUNCTIONS = Path(__file__).resolve().parents[2] / "functions"


def event(path: str) -> dict:
    return json.loads((FUNCTIONS / path).read_text())


@pytest.fixture()
def media() -> Iterator[FaultyMediaServer]:
    with FaultyMediaServer(samples_dir()) as server:
        yield server


@pytest.fixture()
def services(settings, store, local_backend) -> Iterator[Services]:
    services = Services(settings, backend=CountingBackend(local_backend))
    try:
        yield services
    finally:
        services.close()


@pytest.fixture()
def lambdas(services) -> SimpleNamespace:
    """The handlers functions/*/app.py bind to the Lambda environment's services, around this test's."""

    def ours() -> Services:
        return services

    return SimpleNamespace(
        fetcher=fetcher_handler(ours), transcriber=transcriber_handler(ours), dlq=dlq_consumer_handler(ours)
    )


def test_transcriber_reports_only_the_failed_record(lambdas, store, media) -> None:
    # Given the sample SQS batch: one good video, one whose server keeps failing
    sample = load_manifest()[0]
    media.always_fail("down.mp4", status=500)
    store.add_videos([("sample-1", media.url(sample["file"]))])
    batch = copy.deepcopy(event("transcriber/events/sqs_batch.json"))
    batch["Records"][1]["body"] = json.dumps({"video_id": "sample-2", "url": media.url("down.mp4")})

    # When the handler runs
    response = lambdas.transcriber(batch, LocalLambdaContext("transcriber"))

    # Then only the failed record is named, and the good one has its transcript
    assert response == {"batchItemFailures": [{"itemIdentifier": batch["Records"][1]["messageId"]}]}
    assert store.transcript("sample-1") is not None
    assert store.job_error("sample-2")[0] == "FetchError"


def test_transcriber_batch_where_every_record_fails_returns_failures_not_an_exception(lambdas, store) -> None:
    batch = copy.deepcopy(event("transcriber/events/sqs_batch.json"))
    for record in batch["Records"]:
        record["body"] = json.dumps({"video_id": record["messageId"], "url": "http://127.0.0.1:9/nothing-listens.mp4"})

    response = lambdas.transcriber(batch, LocalLambdaContext("transcriber"))

    assert len(response["batchItemFailures"]) == 2


def test_fetcher_enqueues_from_a_scheduled_event(lambdas, store, queue) -> None:
    store.add_videos([("a", "http://127.0.0.1/a.mp4"), ("b", "http://127.0.0.1/b.mp4")])

    first = lambdas.fetcher(event("fetcher/events/scheduled.json"), LocalLambdaContext("fetcher"))
    second = lambdas.fetcher(event("fetcher/events/scheduled.json"), LocalLambdaContext("fetcher"))

    assert first["enqueued"] == 2 and second["enqueued"] == 0
    bodies = sorted(json.loads(m.body)["video_id"] for m in queue.receive(10))
    assert bodies == ["a", "b"]


def test_dlq_consumer_writes_one_record_per_message(lambdas, store) -> None:
    dlq_event = event("dlq_consumer/events/sqs_dlq.json")

    response = lambdas.dlq(dlq_event, LocalLambdaContext("dlq"))
    again = lambdas.dlq(dlq_event, LocalLambdaContext("dlq"))  # SQS delivers at least once

    assert response == again == {"batchItemFailures": []}
    records = store.failures()
    assert sorted(r.video_id for r in records) == ["sample-1", "sample-2"]
    assert {r.error_type for r in records} == {"RetriesExhausted"}
