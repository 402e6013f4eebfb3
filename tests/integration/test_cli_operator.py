"""The operator's rough edges, smoothed: records that can be dismissed, error types that are checked,
resolutions that are shown, the queues' depth in status, one run per database, a truthful stop line,
a quiet end when the reader of the output goes away, and --version.

In-process where the command's output is the point; real processes where the behaviour is a
process's (exit codes on a closed pipe, signals, two runs at once), against the test PostgreSQL and
moto's SQS server.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.database import PostgresUnderTest
from tests.support.media_server import FaultyMediaServer
from tests.support.service import CliProcess, cli_env, run_cli, wait_for
from vidscribe.adapters.postgres.run_lock import RunLock
from vidscribe.adapters.sqs import SqsQueue
from vidscribe.cli import main
from vidscribe.config import Settings
from vidscribe.local.samples import load_manifest, samples_dir
from vidscribe.models import Segment, Transcript


@pytest.fixture()
def env(monkeypatch: pytest.MonkeyPatch, database_url: str, store: PostgresUnderTest) -> PostgresUnderTest:
    for name in ("QUEUE_URL", "DLQ_URL", "AWS_ENDPOINT_URL", "TRANSCRIBER", "MAX_WORKERS", "VIDEOS_TABLE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATABASE_URL", database_url)
    return store


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def history(store: PostgresUnderTest) -> dict[str, int]:
    """Failure records of each kind an operator meets, by name: two malformed messages (no video),
    a video retried into success, a video that failed again after a retry, and one still open."""
    ids = {
        "malformed-1": store.record_failure(None, "MalformedMessage", "message body is not JSON", 1, "garbage"),
        "malformed-2": store.record_failure(None, "MalformedMessage", "invalid message: video_id is blank", 1, "{}"),
    }
    store.mark_queued("fixed", "https://media.example/fixed.mp4", 60, None)
    ids["fixed"] = store.record_failure("fixed", "FetchError", "HTTP 503", 2, None)
    store.save_transcript("fixed", Transcript("hi", [Segment(0, 1, "hi")], "en", 1.0, "local", "tiny.en"))
    store.mark_queued("again", None, 60, None)  # queued by hand, no url anywhere
    ids["again-1"] = store.record_failure("again", "FetchRefused", "HTTP 404", 1, None)
    store.mark_queued("again", None, 60, None)  # retried ...
    ids["again-2"] = store.record_failure("again", "FetchRefused", "HTTP 404 again", 1, None)  # ... and failed again
    return {name: record for name, record in ids.items() if record is not None}


def test_failure_records_show_their_resolution_and_can_be_dismissed(env: PostgresUnderTest, capsys) -> None:
    # Given records of every kind
    ids = history(env)
    assert len(ids) == 5

    # When a retry by type meets records that name no video
    code, out, _ = run(capsys, "retry-failed", "--type", "MalformedMessage")
    # Then it says so, and how to clear them, rather than skipping them in silence
    assert code == 0
    assert out == (
        "no failed videos to retry\n2 failure records name no video (a malformed message): nothing to retry; "
        "'vidscribe failures dismiss --type MalformedMessage' clears them\n"
    )
    # and a video with no url anywhere cannot be retried by name: the line says what to fix
    code, _, err = run(capsys, "retry-failed", "again")
    assert code == 1 and err == (
        "vidscribe: video 'again' is not in the videos table, nor has its job a url: fix the row, or dismiss the "
        "record ('vidscribe failures dismiss ID')\n"
    )

    # When the operator dismisses: a record that is not open, then one by id, then the rest by type
    code, _, err = run(capsys, "failures", "dismiss", "#999", str(ids["malformed-1"]))
    assert code == 1 and err == "vidscribe: no open failure record: #999 (nothing was dismissed)\n"
    assert run(capsys, "failures", "dismiss", f"#{ids['malformed-1']}") == (
        0, f"dismissed 1 failure record: #{ids['malformed-1']}\n", ""
    )
    assert run(capsys, "failures", "dismiss", "--type", "MalformedMessage") == (
        0, f"dismissed 1 failure record: #{ids['malformed-2']}\n", ""
    )
    for argv in (["failures", "dismiss"], ["failures", "dismiss", "1", "--type", "FetchError"]):
        code, _, err = run(capsys, *argv)
        assert code == 2 and "give the ids of the records to dismiss, or --type ERROR_TYPE (not both)" in err

    # Then status no longer counts them, and --all shows how each record was resolved
    assert env.status()["open_failures"] == {"FetchRefused": 1}
    code, out, _ = run(capsys, "failures", "--all", "--json")
    resolutions = {r["id"]: r["resolution"] for r in json.loads(out)}
    assert resolutions == {
        ids["malformed-1"]: "dismissed", ids["malformed-2"]: "dismissed", ids["fixed"]: "transcribed",
        ids["again-1"]: "superseded", ids["again-2"]: None,
    }
    code, out, _ = run(capsys, "failures", "--all")
    lines = {line.split()[0]: line for line in out.splitlines() if line.startswith("#")}
    for name, resolution in (("malformed-1", "dismissed"), ("fixed", "transcribed"), ("again-1", "superseded")):
        assert f"  [{resolution} 20" in lines[f"#{ids[name]}"], lines
    assert "[" not in lines[f"#{ids['again-2']}"]


@pytest.mark.parametrize(
    "error_type, expected",
    [
        ("Bogus", "vidscribe: unknown error type 'Bogus'; the error types are: BackendPermanent, "),
        ("fetchrefused", "vidscribe: unknown error type 'fetchrefused' (did you mean FetchRefused?); the error "),
        ("FetchRefuse", "(did you mean FetchRefused?)"),
    ],
)
def test_an_unknown_error_type_is_a_usage_mistake_that_names_the_types(env, capsys, error_type, expected) -> None:
    env.record_failure("v1", "SomethingUnexpected", "a bug", 2, None)  # an unexpected exception's name counts too
    for argv in (["retry-failed", "--type", error_type], ["failures", "dismiss", "--type", error_type]):
        code, out, err = run(capsys, *argv)
        assert (code, out) == (2, "") and len(err.splitlines()) == 1
        assert expected in err and "FetchRefused, " in err and "SomethingUnexpected" in err
    assert env.status()["open_failures"] == {"SomethingUnexpected": 1}  # nothing was touched
    assert run(capsys, "retry-failed", "--type", "NotMedia") == (0, "no failed videos to retry\n", "")


def test_version(capsys) -> None:
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0
    assert capsys.readouterr().out == f"vidscribe {importlib.metadata.version('vidscribe')}\n"


def test_status_shows_the_configured_queues_depth(
    env, capsys, monkeypatch, settings: Settings, queue: SqsQueue, dlq: SqsQueue
) -> None:
    # Given messages waiting on the configured queue (one of them received: in flight), and on its DLQ,
    # that no job row knows about (sent by hand with an SQS client)
    monkeypatch.setenv("AWS_ENDPOINT_URL", settings.aws_endpoint_url)
    monkeypatch.setenv("QUEUE_URL", settings.queue_url)
    monkeypatch.setenv("DLQ_URL", settings.dlq_url)
    queue.send([json.dumps({"video_id": f"by-hand-{i}"}) for i in range(3)])
    assert len(queue.receive(1)) == 1
    dlq.send([json.dumps({"video_id": "dead"})] * 2)

    # When the operator asks for the status
    code, out, _ = run(capsys, "status", "--json")
    status = json.loads(out)
    # Then the database says nothing is queued, and the queues say what waits there
    assert code == 0 and status["jobs"]["queued"]["count"] == 0
    assert status["queue"] == {"url": settings.queue_url, "visible": 2, "in_flight": 1}
    assert status["dlq"] == {"url": settings.dlq_url, "visible": 2, "in_flight": 0}
    _, text, _ = run(capsys, "status")
    assert "queue           2 waiting, 1 in flight  (QUEUE_URL)\n" in text
    assert "dead letters    2 waiting, 0 in flight  (DLQ_URL)\n" in text

    # And a queue that is not there is a line in the status, not a failed status
    monkeypatch.setenv("QUEUE_URL", settings.queue_url + "-gone")
    code, text, _ = run(capsys, "status")
    assert code == 0 and "queue           QUEUE_URL: no such queue at " in text


def test_a_closed_pipe_ends_the_command_quietly(store: PostgresUnderTest, database_url: str, tmp_path: Path) -> None:
    # Given more failure records than a pipe holds (~300 KB of output)
    store.execute(
        "INSERT INTO failures (video_id, error_type, message, attempts)"
        " SELECT 'v' || i, 'FetchRefused', repeat('the media server answered HTTP 404 ', 3), 1"
        " FROM generate_series(1, 3000) i"
    )
    # When `vidscribe failures | head -1` reads one line and goes away
    process = subprocess.Popen(
        [sys.executable, "-m", "vidscribe.cli", "failures"],
        env=cli_env(tmp_path, DATABASE_URL=database_url),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
    )
    assert process.stdout is not None and process.stderr is not None
    first = process.stdout.readline()
    process.stdout.close()
    code = process.wait(timeout=60)
    err = process.stderr.read().decode()
    # Then it ends as any Unix tool stopped by SIGPIPE does: 141, and not a word on stderr
    assert first.startswith(b"#1  v1  FetchRefused")
    assert (code, err) == (128 + signal.SIGPIPE, "")


def test_an_argument_that_is_not_utf8_is_refused_in_one_line(tmp_path: Path, database_url: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "vidscribe.cli", "videos", "add", b"bad-\xff-id", "https://media.example/v.mp4"],
        env=cli_env(tmp_path, DATABASE_URL=database_url),
        capture_output=True,
        timeout=60,
    )
    assert (done.returncode, done.stdout) == (2, b"")
    assert done.stderr == b"vidscribe: an argument is not valid UTF-8 text: 'bad-\\udcff-id'\n"


# --- two runs, one database; the line a stopped run ends with -----------------------------------------------
def run_lock_held(store: PostgresUnderTest, *queues: str) -> bool:
    """Whether a run's queue lock is held on the test database (of one of ``queues``, if named)."""

    def work(cur) -> bool:
        cur.execute(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted AND classid = %s"
            " AND objsubid = 2 AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
            " AND (%s OR objid = ANY(SELECT hashtext(q)::oid FROM unnest(%s::text[]) q))",
            (0x76696473, not queues, list(queues)),
        )
        return bool(cur.fetchone()[0])

    return store.database.run(work)


def waiting_for_their_retry(store: PostgresUnderTest, n: int) -> bool:
    def work(cur) -> bool:
        cur.execute(
            "SELECT count(*) FROM video_jobs WHERE state = 'queued' AND attempts = 1 AND last_error_type = 'FetchError'"
        )
        return cur.fetchone()[0] == n

    return store.database.run(work)


def test_runs_on_one_database_share_one_queue(store: PostgresUnderTest) -> None:
    # Given a run holding its queue's lock
    first, same, other = (RunLock(store.database) for _ in range(3))
    q1, embedded = "https://sqs.example/000000000000/q1", "the embedded queue of pid 1 on host"
    assert first.acquire(q1) is None and run_lock_held(store, q1)
    try:
        # Then another run on the same queue may run beside it (their fetchers reserve through the
        # database), and one with another queue is refused with who holds the first
        assert same.acquire(q1) is None
        holder = other.acquire(embedded)
        assert holder is not None and holder.startswith(f"vidscribe run (pid {os.getpid()} on ")
    finally:
        first.release()
        same.release()
    # And once they are gone, it may start
    assert not run_lock_held(store, q1)  # released at once, not when the server gets round to it
    assert other.acquire(embedded) is None
    other.release()
    assert not run_lock_held(store, q1, embedded)


def test_one_run_per_database_and_a_truthful_stop_line(
    store: PostgresUnderTest, database_url: str, tmp_path: Path
) -> None:
    manifest = load_manifest()[:3]
    with FaultyMediaServer(samples_dir()) as media:
        # Given three videos whose server answers 503 for now, and `vidscribe run` whose first attempts
        # failed: the videos are queued, their messages wait out a long backoff, no worker holds one
        for sample in manifest:
            media.always_fail(sample["file"], 503)
        store.add_videos([(s["id"], media.url(s["file"])) for s in manifest])
        env = cli_env(
            tmp_path, DATABASE_URL=database_url, ALLOW_PRIVATE_URLS="true", RETRY_BACKOFF_SECONDS="600",
            FETCH_INTERVAL_SECONDS="600", SHUTDOWN_GRACE_SECONDS="5",
        )
        first = CliProcess(["run"], env, tmp_path, "first")
        try:
            assert wait_for(lambda: run_lock_held(store) and waiting_for_their_retry(store, 3), timeout=90), (
                first.stderr[-2000:]
            )

            # When a second run starts on the same database
            started = time.monotonic()
            second = run_cli(["run", "--once"], env)
            seconds = time.monotonic() - started

            # Then it stops at once with a line that names the first, having sent nothing
            print(f"\nsecond run refused after {seconds:.2f} s: {second.stderr.strip()}")
            assert second.returncode == 1 and second.stdout == ""
            assert second.stderr.startswith(
                "vidscribe: another 'vidscribe run' is active on this database with another queue (vidscribe run "
                f"(pid {first.pid} on "
            )
            assert "give both the same QUEUE_URL and DLQ_URL" in second.stderr and len(second.stderr.splitlines()) == 1

            # When the first is stopped with Ctrl-C
            first.send(signal.SIGINT)
            code, _ = first.wait(timeout=30)
        finally:
            first.kill()

        # Then its last line says what is true: nothing was in flight, and three videos wait
        assert code == 130, first.stderr[-2000:]
        last = first.stderr.strip().splitlines()[-1]
        print(f"  {last}")
        assert last.startswith("vidscribe: stopped by SIGINT: transcribed 0, failed 0 in ")
        assert last.endswith("; no transcription was in flight; 3 videos queued for the next run")

        # And with the lock gone, the next run finishes them once the server is well again
        for sample in manifest:
            media.heal(sample["file"])
        third = run_cli(["run", "--once", "--json"], {**env, "RETRY_BACKOFF_SECONDS": "0"})
    assert third.returncode == 0, third.stderr[-2000:]
    assert json.loads(third.stdout)["transcribed"] == 3
    # (its session ends on the server a moment after the process)
    assert wait_for(lambda: not run_lock_held(store), timeout=10)
