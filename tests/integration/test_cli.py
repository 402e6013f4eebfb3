"""The command line, in-process, against the real database, queue endpoint, media server and model."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.support.database import PostgresUnderTest
from tests.support.media_server import FaultyMediaServer
from tests.support.text import word_error_rate
from vidscribe.cli import main
from vidscribe.local.samples import load_manifest, samples_dir

MANIFEST = load_manifest()
SRT_CUE = re.compile(r"^\d+\n\d\d:\d\d:\d\d,\d{3} --> \d\d:\d\d:\d\d,\d{3}\n.+", re.S)


@pytest.fixture()
def env(monkeypatch: pytest.MonkeyPatch, database_url: str, store: PostgresUnderTest) -> PostgresUnderTest:
    """The CLI's environment: the test database, no queue (the embedded endpoint), fast retries."""
    for name in ("QUEUE_URL", "DLQ_URL", "AWS_ENDPOINT_URL", "TRANSCRIBER", "MAX_WORKERS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("RETRY_BACKOFF_SECONDS", "0")
    monkeypatch.setenv("WHISPER_MODEL", "tiny.en")  # tests that need *a* model: the fast one
    return store


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> dict | list:
    assert main([*argv, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_demo_transcribes_the_samples_then_has_nothing_to_do(env, capsys, monkeypatch) -> None:
    monkeypatch.delenv("WHISPER_MODEL")  # the default model (base), joined from its packages if need be
    first = run_json(capsys, "demo")
    assert {t["language"] for t in first["transcripts"]} == {"en"}  # detected, not assumed
    assert first["summary"]["transcribed"] == len(MANIFEST)
    assert first["summary"]["failed"] == 0
    assert first["summary"]["max_concurrent_transcriptions"] <= first["summary"]["workers"] == 2
    texts = {t["video_id"]: t["text"] for t in first["transcripts"]}
    for sample in MANIFEST:
        assert word_error_rate(sample["text"], texts[sample["id"]]) < 0.35

    second = run_json(capsys, "demo")
    assert second["summary"]["transcribed"] == 0
    assert second["summary"]["skipped"] == len(MANIFEST)

    assert main(["demo"]) == 0
    assert "Nothing to transcribe" in capsys.readouterr().out


def test_import_run_status_and_exports(env, capsys, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("ALLOW_PRIVATE_URLS", "true")  # the media server is on loopback
    with FaultyMediaServer(samples_dir()) as media:
        media.always_fail("broken.mp4", 404)
        listing = tmp_path / "videos.csv"
        listing.write_text(
            "id,url\n" + f"good,{media.url(MANIFEST[0]['file'])}\n" + f"bad,{media.url('broken.mp4')}\n"
        )
        assert main(["videos", "import", str(listing)]) == 0
        assert "imported 2 new videos" in capsys.readouterr().out

        summary = run_json(capsys, "run", "--once")
    assert (summary["transcribed"], summary["failed"], summary["failed_by_type"]) == (1, 1, {"FetchRefused": 1})

    status = run_json(capsys, "status")
    assert status["transcripts"] == 1 and status["jobs"]["failed"]["count"] == 1
    assert status["open_failures"] == {"FetchRefused": 1}

    [failure] = run_json(capsys, "failures")
    assert failure["video_id"] == "bad" and failure["attempts"] == 1

    assert main(["transcript", "good", "--format", "srt"]) == 0
    srt = capsys.readouterr().out
    assert all(SRT_CUE.match(cue) for cue in srt.strip().split("\n\n"))
    assert main(["transcript", "good", "--format", "vtt"]) == 0
    assert capsys.readouterr().out.startswith("WEBVTT")


def test_videos_without_speech_in_the_run_summary_status_and_exports(env, capsys, monkeypatch) -> None:
    # Given a sample with speech and a video whose soundtrack is room hum
    from tests.support.media_factory import make_video
    from tests.support.nonspeech import room_hum

    monkeypatch.setenv("ALLOW_PRIVATE_URLS", "true")
    with FaultyMediaServer(samples_dir()) as media:
        media.add_bytes("hum.mp4", make_video(10.0, audio_from=room_hum(10.0)))
        assert main(["videos", "add", "hum", media.url("hum.mp4")]) == 0
        assert main(["videos", "add", "speech", media.url(MANIFEST[0]["file"])]) == 0
        capsys.readouterr()
        # When the pipeline runs
        assert main(["run", "--once"]) == 0
        summary = capsys.readouterr().out
    # Then both are transcribed, one of them without speech, and nothing failed
    assert re.search(r"transcribed\s+2\n\s+without speech 1", summary), summary
    assert re.search(r"failed\s+0", summary)
    assert main(["status"]) == 0
    status = capsys.readouterr().out
    assert "transcripts     2  (1 without speech)" in status
    assert re.search(r"model audio     \d+\.\d s, estimated cost \$0\.0000", status), status
    assert main(["transcript", "hum", "--format", "json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert (document["no_speech"], document["text"], document["segments"], document["speech_seconds"]) == (
        True, "", [], 0.0
    )
    assert main(["transcript", "speech", "--format", "json"]) == 0
    spoken = json.loads(capsys.readouterr().out)
    assert spoken["no_speech"] is False and spoken["speech_seconds"] > 1.0
    assert all(segment["words"] for segment in spoken["segments"])


def test_retry_failed_keeps_the_record_open_until_success(env, capsys, monkeypatch) -> None:
    monkeypatch.setenv("ALLOW_PRIVATE_URLS", "true")
    with FaultyMediaServer(samples_dir()) as media:
        name = MANIFEST[1]["file"]
        media.always_fail(name, 404)
        assert main(["videos", "add", "v1", media.url(name)]) == 0
        assert capsys.readouterr().out == "added v1\n"
        run_json(capsys, "run", "--once")
        assert [f["video_id"] for f in run_json(capsys, "failures")] == ["v1"]

        # The server is fixed; retry the failures of that type.
        media.heal(name)
        assert main(["retry-failed", "--type", "FetchRefused"]) == 0
        assert "1 failed video will be retried" in capsys.readouterr().out
        assert len(run_json(capsys, "failures")) == 1  # still open: the retry has not run yet

        summary = run_json(capsys, "run", "--once")
    assert summary["transcribed"] == 1
    assert run_json(capsys, "failures") == []
    history = run_json(capsys, "failures", "--all")
    assert len(history) == 1 and history[0]["resolved_at"] is not None


def test_transcribe_a_local_file_without_the_database(env, capsys) -> None:
    sample = MANIFEST[2]
    assert main(["transcribe", str(samples_dir() / sample["file"]), "--format", "json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert word_error_rate(sample["text"], result["text"]) < 0.35


@pytest.mark.parametrize(
    "argv, message",
    [
        (["transcript", "nope"], "no transcript for 'nope'"),
        (["videos", "add", "x", ""], "invalid video"),
        (["retry-failed"], "name the videos to retry"),
        (["retry-failed", "ghost"], "no open failure for: ghost"),
        (["enqueue", "unknown-id"], "not in the videos table"),
        (["transcribe", "/no/such/file.mp4"], "no such file"),
        (["transcribe", "ftp://example.com/x.mp4"], "unsupported source"),
    ],
)
def test_errors_are_one_line_on_stderr(env, capsys, argv, message) -> None:
    code = main(argv)
    err = capsys.readouterr().err
    assert code != 0
    assert message in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_invalid_configuration_exits_2(env, capsys, monkeypatch) -> None:
    monkeypatch.setenv("MAX_WORKERS", "lots")
    assert main(["status"]) == 2
    assert "MAX_WORKERS" in capsys.readouterr().err


def test_import_reports_the_bad_line(env, capsys, tmp_path: Path) -> None:
    listing = tmp_path / "videos.jsonl"
    listing.write_text('{"id": "a", "url": "https://x/a.mp4"}\n{"id": "", "url": "https://x/b.mp4"}\n')
    assert main(["videos", "import", str(listing)]) == 1
    assert f"{listing}:2" in capsys.readouterr().err
    assert env.status()["videos"] == 0  # nothing half-imported


def test_a_retried_video_that_fails_again_counts_as_failed(env, capsys, monkeypatch) -> None:
    # Given a video whose URL is gone, and a first run that records its failure
    monkeypatch.setenv("ALLOW_PRIVATE_URLS", "true")
    with FaultyMediaServer(samples_dir()) as media:
        media.always_fail("gone.mp4", 404)
        assert main(["videos", "add", "gone", media.url("gone.mp4")]) == 0
        capsys.readouterr()
        first = run_json(capsys, "run", "--once")
        [before] = run_json(capsys, "failures")
        env.execute("UPDATE failures SET failed_at = failed_at - interval '1 hour'")  # as if an hour ago

        # When it is retried and fails again the same way
        assert main(["retry-failed", "gone"]) == 0
        capsys.readouterr()
        second = run_json(capsys, "run", "--once")

    # Then each run counts its own failure, and the open record is the latest one
    assert first["failed_by_type"] == second["failed_by_type"] == {"FetchRefused": 1}
    [latest] = run_json(capsys, "failures")
    assert latest["id"] != before["id"] and latest["failed_at"] > before["failed_at"]
    assert latest["attempts"] == 1
    history = run_json(capsys, "failures", "--all")
    assert [r["id"] for r in history] == [before["id"], latest["id"]] and history[0]["resolved_at"] is not None


def test_queues_create_makes_the_pair_with_its_redrive_and_is_idempotent(
    env, capsys, monkeypatch, sqs_server
) -> None:
    from tests.support.queues import unique_queue_name
    from vidscribe.adapters.sqs import sqs_client
    from vidscribe.config import Settings

    # Given an SQS endpoint of one's own
    monkeypatch.setenv("AWS_ENDPOINT_URL", sqs_server.endpoint_url)
    monkeypatch.setenv("VISIBILITY_TIMEOUT_SECONDS", "120")
    name = unique_queue_name("made")

    # When the pair is made, twice
    assert main(["queues", "create", "--name", name]) == 0
    first = capsys.readouterr()
    made = run_json(capsys, "queues", "create", "--name", name)

    # Then it printed assignments for eval, and the second time changed nothing
    assert first.out.splitlines() == [f"QUEUE_URL={made['queue_url']}", f"DLQ_URL={made['dlq_url']}"]
    assert "created; encrypted" in first.err and made["created"] is False and made["encrypted"] is True
    client = sqs_client(Settings.from_env())
    queue = client.get_queue_attributes(QueueUrl=made["queue_url"], AttributeNames=["All"])["Attributes"]
    dlq = client.get_queue_attributes(QueueUrl=made["dlq_url"], AttributeNames=["All"])["Attributes"]
    assert json.loads(queue["RedrivePolicy"]) == {"deadLetterTargetArn": dlq["QueueArn"], "maxReceiveCount": 2}
    assert queue["VisibilityTimeout"] == "120" and queue["MessageRetentionPeriod"] == str(4 * 24 * 3600)
    assert dlq["MessageRetentionPeriod"] == str(14 * 24 * 3600)
    assert queue["SqsManagedSseEnabled"] == dlq["SqsManagedSseEnabled"] == "true"
