"""Re-transcription with history (issue 23, item 4), on the real PostgreSQL and the real local model:
the current transcript stays readable until a new one is stored, and is then kept as a numbered
version; a failed re-transcription leaves it untouched and records the failure as usual."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta

import pytest

from tests.support.media_server import FaultyMediaServer
from vidscribe.adapters.media import StreamingMediaSource
from vidscribe.local.samples import load_manifest, samples_dir
from vidscribe.models import ClaimOutcome, Segment, Transcript, VideoMessage
from vidscribe.workflow import Outcome, Transcriber

LEASE = 3600


@pytest.fixture()
def media() -> Iterator[FaultyMediaServer]:
    with FaultyMediaServer(samples_dir()) as server:
        yield server


@pytest.fixture()
def transcribed(settings, store, media, local_backend) -> tuple[Transcriber, str]:
    """A sample video with its first transcript, and the transcriber that made it."""
    store.add_videos([("talk", media.url(load_manifest()[0]["file"]))])
    worker = Transcriber(settings, store, None, StreamingMediaSource(settings), local_backend)
    assert worker.process(VideoMessage(video_id="talk").body()).outcome is Outcome.TRANSCRIBED
    return worker, "talk"


def test_a_requested_re_transcription_replaces_the_transcript_and_keeps_the_old_one(store, queue, transcribed):
    worker, video_id = transcribed
    first = store.transcript(video_id)
    assert first is not None
    # Given a re-transcription requested for it (and a video never transcribed, for comparison)
    store.add_videos([("never", "http://127.0.0.1:9/never.mp4")])
    assert store.request_retranscription([video_id, "never", "nowhere"], LEASE) == [video_id]

    # Then the current transcript stays readable, the fetcher picks the video up again, and
    # status tells the re-transcription from the video never transcribed
    assert store.transcript(video_id) == first and not store.has_transcript(video_id)
    reserved = {v.video_id for v in store.reserve_pending(10, LEASE, queue_url=queue.url)}
    assert reserved == {video_id, "never"}
    queued = store.status()["jobs"]["queued"]
    assert (queued["count"], queued["retranscription"]) == (2, 1)

    # When the transcriber processes it
    assert worker.process(VideoMessage(video_id=video_id).body()).outcome is Outcome.TRANSCRIBED

    # Then the new transcript is current as version 2, the first is kept as version 1, and a
    # duplicate delivery finds the video done
    current, kept = store.transcript(video_id), store.reports.transcript_version(video_id, 1)
    assert current is not None and kept is not None
    assert current.created_at is not None and first.created_at is not None and current.created_at > first.created_at
    assert (kept.text, kept.created_at, kept.segments) == (first.text, first.created_at, first.segments)
    assert store.reports.transcript_version(video_id, 2) == current
    assert store.reports.transcript_version(video_id, 3) is None
    assert store.has_transcript(video_id)
    assert store.claim(video_id, None, LEASE).outcome is ClaimOutcome.ALREADY_DONE
    assert store.status()["jobs"]["done"]["retranscription"] == 0

    # And a second re-transcription keeps both earlier ones
    assert store.request_retranscription([video_id], LEASE) == [video_id]
    assert worker.process(VideoMessage(video_id=video_id).body()).outcome is Outcome.TRANSCRIBED
    assert store.reports.transcript_version(video_id, 1) == kept
    assert store.reports.transcript_version(video_id, 2) is not None
    assert store.reports.transcript_version(video_id, 3) == store.transcript(video_id)


def test_a_failed_re_transcription_leaves_the_transcript_untouched_and_records_the_failure(
    store, media, transcribed
):
    worker, video_id = transcribed
    first = store.transcript(video_id)
    # Given a re-transcription requested while the video's server now refuses it
    store.request_retranscription([video_id], LEASE)
    media.always_fail(load_manifest()[0]["file"], status=404)

    # When the transcriber tries
    result = worker.process(VideoMessage(video_id=video_id).body())

    # Then the failure is recorded as usual, and the transcript is the one there was
    assert result.outcome is Outcome.FAILED
    assert [(r.video_id, r.error_type) for r in store.failures()] == [(video_id, "FetchRefused")]
    assert store.transcript(video_id) == first
    assert store.reports.transcript_version(video_id, 1) == first
    assert store.reports.transcript_version(video_id, 2) is None
    failed = store.status()["jobs"]["failed"]
    assert (failed["count"], failed["retranscription"]) == (1, 1)


def test_a_video_a_worker_holds_is_not_requested_again(store, transcribed):
    _, video_id = transcribed
    assert store.request_retranscription([video_id], LEASE) == [video_id]
    assert store.claim(video_id, None, LEASE).outcome is ClaimOutcome.CLAIMED
    assert store.request_retranscription([video_id], LEASE) == []  # held under a live lease


# --- the command line ------------------------------------------------------------------------------
@pytest.fixture()
def cli_env(monkeypatch: pytest.MonkeyPatch, database_url: str, store) -> None:
    for name in ("QUEUE_URL", "DLQ_URL", "AWS_ENDPOINT_URL", "TRANSCRIBER", "MAX_WORKERS", "VIDEOS_TABLE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATABASE_URL", database_url)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    from vidscribe.cli import main

    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def said(text: str, model: str) -> Transcript:
    return Transcript(text, [Segment(0.0, 1.0, text)], "en", 1.0, "local", model)


def test_retranscribe_by_model_and_date_then_read_each_version(capsys, cli_env, store) -> None:
    # Given two videos transcribed by tiny.en and one by base
    store.add_videos([(v, f"http://127.0.0.1:9/{v}.mp4") for v in ("a", "b", "c")])
    for video_id, model in (("a", "tiny.en"), ("b", "tiny.en"), ("c", "base")):
        store.save_transcript(video_id, said(f"first {video_id}", model))

    # When every tiny.en transcript made before tomorrow is queued again
    tomorrow = (store.now() + timedelta(days=1)).date().isoformat()
    code, out, _ = run(capsys, "retranscribe", "--model", "tiny.en", "--before", tomorrow)

    # Then exactly those two are re-transcription requests, and their transcripts stay readable
    assert code == 0 and out.startswith("2 videos queued for re-transcription")
    assert store.status()["jobs"]["queued"]["retranscription"] == 2
    assert run(capsys, "transcript", "a")[1] == "first a\n"
    # (a filter that matches nothing says so; no filter at all is a usage error)
    assert run(capsys, "retranscribe", "--model", "tiny.en", "--before", "2001-01-01")[1].startswith("no transcribed")
    assert run(capsys, "retranscribe")[0] == 2

    # When the new transcript of a is stored
    store.save_transcript("a", said("second a", "base"))

    # Then each version reads back by number, and as one JSON array
    assert run(capsys, "transcript", "a", "--version", "1")[1] == "first a\n"
    assert run(capsys, "transcript", "a", "--version", "2")[1] == "second a\n"
    assert run(capsys, "transcript", "a")[1] == "second a\n"
    code, _, err = run(capsys, "transcript", "a", "--version", "3")
    assert code == 1 and "no version 3 of the transcript for 'a'" in err
    exported = json.loads(run(capsys, "transcript", "a", "--all-versions")[1])
    versions = [(v["version"], v["text"], v["model"]) for v in exported]
    assert versions == [(1, "first a", "tiny.en"), (2, "second a", "base")]


def test_a_re_transcription_that_reaches_the_dead_letter_queue_is_recorded_and_changes_nothing_else(
    store, transcribed
):
    from vidscribe.workflow import DeadLetterRecorder

    _, video_id = transcribed
    first = store.transcript(video_id)
    # Given a re-transcription whose attempts failed until its message went to the DLQ
    store.request_retranscription([video_id], LEASE)
    claim = store.claim(video_id, None, LEASE)
    store.release_for_retry(video_id, "FetchError", "503", LEASE, claim_token=claim.token)

    # When the DLQ consumer handles the dead letter
    result = DeadLetterRecorder(store).record(VideoMessage(video_id=video_id).body())

    # Then the failure is recorded (the transcript is not a finished re-transcription), and the
    # transcript is the one there was
    assert result.outcome is Outcome.FAILED
    assert [(r.video_id, r.error_type) for r in store.failures()] == [(video_id, "FetchError")]
    assert store.transcript(video_id) == first
