"""``vidscribe run`` as a service: stopped by SIGTERM, SIGINT or SIGHUP, or killed, it loses nothing.

Real processes all the way: ``vidscribe run`` with the embedded PostgreSQL (its own VIDSCRIBE_HOME)
and the embedded SQS endpoint, the OpenAI backend against the local OpenAI-compatible server, which
holds every upload at a gate until the test opens it, so that a signal arrives while the model holds
a video. Then, from the outside: the exit code and how long the exit took, the one-line summary, no
job left processing under a live claim, no child process left behind (moto, the PostgreSQL server,
the watchdogs), and a second run that finishes every video.
"""

from __future__ import annotations

import json
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.faults import FaultyTranscriptionServer, signature_audio, signature_pair, signature_text
from tests.support.media_factory import make_video
from tests.support.media_server import FaultyMediaServer
from tests.support.queues import unique_queue_name
from tests.support.service import CliProcess, cli_env, processes_of, run_cli, wait_for

N_VIDEOS = 6
WORKERS = 2
GRACE_SECONDS = 3
EXIT_BOUND_SECONDS = GRACE_SECONDS + 10  # what the README promises


@pytest.fixture()
def videos() -> dict[str, str]:
    """video id -> the text the model server answers for it."""
    return {f"svc-{i}": signature_text(signature_pair(100 + i)) for i in range(N_VIDEOS)}


@pytest.fixture()
def media(videos: dict[str, str]) -> Iterator[FaultyMediaServer]:
    with FaultyMediaServer() as server:
        for i, video_id in enumerate(videos):
            server.add_bytes(f"{video_id}.mp4", make_video(1.5, audio_from=signature_audio(signature_pair(100 + i))))
        yield server


@pytest.fixture()
def model(videos: dict[str, str]) -> Iterator[FaultyTranscriptionServer]:
    server = FaultyTranscriptionServer({text: video_id for video_id, text in videos.items()})
    server.hold_timeout = 60
    with server:
        yield server
        server.open_gate()  # let whatever is still held go


@pytest.fixture()
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


def service_env(home: Path, model: FaultyTranscriptionServer, **extra: str) -> dict[str, str]:
    values = {
        "TRANSCRIBER": "openai",
        "OPENAI_BASE_URL": model.base_url,
        "OPENAI_API_KEY": model.api_key,
        "OPENAI_MAX_RETRIES": "0",
        "OPENAI_TIMEOUT_SECONDS": "60",
        "ALLOW_PRIVATE_URLS": "true",
        "MAX_WORKERS": str(WORKERS),
        "SHUTDOWN_GRACE_SECONDS": str(GRACE_SECONDS),
        "FETCH_INTERVAL_SECONDS": "1",
        "RETRY_BACKOFF_SECONDS": "0",
        "LOG_FORMAT": "json",
        "VAD": "off",  # the signature tones that name each upload are not speech
    }
    return cli_env(home, **{**values, **extra})


def import_videos(env: dict[str, str], media: FaultyMediaServer, videos: dict[str, str], tmp_path: Path) -> None:
    listing = tmp_path / "videos.csv"
    listing.write_text("id,url\n" + "".join(f"{v},{media.url(v + '.mp4')}\n" for v in videos))
    done = run_cli(["videos", "import", str(listing)], env)
    assert done.returncode == 0, done.stderr
    assert f"imported {len(videos)} new videos" in done.stdout


def status(env: dict[str, str]) -> dict:
    done = run_cli(["status", "--json"], env)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def start_service_with_the_model_holding(
    env: dict[str, str], model: FaultyTranscriptionServer, tmp_path: Path, tag: str
) -> CliProcess:
    """``vidscribe -v run`` started, once every worker is inside an upload the model holds."""
    model.arm_gate()
    service = CliProcess(["-v", "run", "--json"], env, tmp_path, tag)
    held = model.wait_gate(WORKERS, timeout=90)
    assert held, f"the model never held {WORKERS} uploads: {service.stderr[-2000:]}"
    return service


def test_sigterm_gives_unfinished_work_back_and_a_new_queue_finishes_it(
    videos, media, model, home, tmp_path: Path, sqs_server
) -> None:
    # Given videos, and `vidscribe run` on the embedded services with the model holding two of them
    env = service_env(home, model)
    import_videos(env, media, videos, tmp_path)
    service = start_service_with_the_model_holding(env, model, tmp_path, "sigterm")
    children = processes_of(service.pid, home)
    assert len(children) >= 3, children  # moto under its watchdog, the PostgreSQL watchdog, PostgreSQL

    # When systemd (or Docker, or Kubernetes) stops it
    service.send(signal.SIGTERM)
    code, seconds = service.wait(timeout=EXIT_BOUND_SECONDS + 20)

    # Then it exits with 143 (128 + SIGTERM) within the grace period + 10 s, with a one-line summary
    print(f"\nSIGTERM with {WORKERS} uploads held: exit code {code} after {seconds:.2f} s (grace {GRACE_SECONDS} s)")
    assert code == 143, service.stderr[-3000:]
    assert GRACE_SECONDS <= seconds < EXIT_BOUND_SECONDS
    last = service.stderr.strip().splitlines()[-1]
    print(f"  {last}")
    assert last.startswith("vidscribe: stopped by SIGTERM: transcribed 0, failed 0 in ")
    assert last.endswith(
        f"; {WORKERS} unfinished videos given back to the queue; {N_VIDEOS} videos queued for the next run"
    )
    summary = json.loads(service.stdout)
    assert (summary["stopped_by"], summary["released"], summary["transcribed"]) == ("SIGTERM", WORKERS, 0)
    # and no child outlives it
    assert wait_for(lambda: not processes_of(service.pid, home), timeout=10), processes_of(service.pid, home)
    # and no job is left processing: the held videos are queued again, their attempt not spent
    jobs = status(env)["jobs"]
    assert jobs["processing"]["count"] == 0 and jobs["queued"]["count"] == N_VIDEOS, jobs

    # When the operator switches to queues of their own, made by `vidscribe queues create`
    sqs = {"AWS_ENDPOINT_URL": sqs_server.endpoint_url, "AWS_ACCESS_KEY_ID": "any", "AWS_SECRET_ACCESS_KEY": "any"}
    name = unique_queue_name("svc")
    made = run_cli(["queues", "create", "--name", name], cli_env(home, **sqs))
    assert made.returncode == 0, made.stderr
    assignments = dict(line.split("=", 1) for line in made.stdout.splitlines())
    assert set(assignments) == {"QUEUE_URL", "DLQ_URL"}
    again = run_cli(["queues", "create", "--name", name, "--json"], cli_env(home, **sqs))
    made_again = json.loads(again.stdout)
    assert (made_again["queue_url"], made_again["dlq_url"]) == (assignments["QUEUE_URL"], assignments["DLQ_URL"])
    assert made_again["created"] is False and made_again["max_receive_count"] == 2  # idempotent
    model.open_gate()
    second = run_cli(["run", "--once", "--json"], service_env(home, model, **sqs, **assignments))

    # Then the work the interrupted embedded run left queued finishes on the new queue
    assert second.returncode == 0, second.stderr[-3000:]
    summary = json.loads(second.stdout)
    assert (summary["transcribed"], summary["failed"]) == (N_VIDEOS, 0), summary
    after = status(env)
    assert after["transcripts"] == N_VIDEOS and after["open_failures"] == {}
    assert after["jobs"]["done"]["count"] == N_VIDEOS
    # each video reached the model at most twice: the held upload, then the one that finished
    assert max(model.calls.values()) <= 2 and set(model.calls) == set(videos)


def test_sigkill_leaves_no_server_behind_and_the_next_run_finishes_every_video(
    videos, media, model, home, tmp_path: Path
) -> None:
    # Given `vidscribe run` with the model holding two videos
    env = service_env(home, model)
    import_videos(env, media, videos, tmp_path)
    service = start_service_with_the_model_holding(env, model, tmp_path, "sigkill")
    assert len(processes_of(service.pid, home)) >= 3

    # When it is killed outright: no handler, no atexit, no goodbye
    service.send(signal.SIGKILL)
    code, _ = service.wait(timeout=30)
    assert code == -signal.SIGKILL

    # Then its embedded servers go too (their watchdogs see the parent gone)
    left = wait_for(lambda: not processes_of(service.pid, home), timeout=20)
    assert left, f"still running after the parent's SIGKILL: {processes_of(service.pid, home)}"

    # And the next run finishes every video: the killed process's claims are given back at once
    # (it is dead, on this machine), and what was queued on its embedded queue is sent again
    model.open_gate()
    second = run_cli(["run", "--once", "--json"], env)
    assert second.returncode == 0, second.stderr[-3000:]
    summary = json.loads(second.stdout)
    assert (summary["transcribed"], summary["failed"]) == (N_VIDEOS, 0), summary
    after = status(env)
    assert after["transcripts"] == N_VIDEOS and after["jobs"]["processing"]["count"] == 0


def test_a_hangup_stops_cleanly_and_a_second_signal_cuts_the_grace_short(
    videos, media, model, home, tmp_path: Path
) -> None:
    first, second = signal.SIGHUP, signal.SIGINT
    # Given `vidscribe run` with a long grace period and the model holding two videos
    env = service_env(home, model, SHUTDOWN_GRACE_SECONDS="120")
    import_videos(env, media, videos, tmp_path)
    service = start_service_with_the_model_holding(env, model, tmp_path, first.name)

    # When a terminal hangs up (or Ctrl-C), and then the signal comes again
    service.send(first)
    noticed = wait_for(lambda: "may take up to 120 s to finish" in service.stderr, timeout=20)
    assert noticed, service.stderr[-2000:]
    service.send(second)
    code, seconds = service.wait(timeout=30)

    # Then it stops at once with the first signal's exit code, and gives the work back all the same
    assert code == 128 + first, service.stderr[-3000:]
    assert seconds < 10
    assert service.stderr.strip().splitlines()[-1].startswith(f"vidscribe: stopped by {first.name}: ")
    assert wait_for(lambda: not processes_of(service.pid, home), timeout=10)
    jobs = status(env)["jobs"]
    assert jobs["processing"]["count"] == 0
