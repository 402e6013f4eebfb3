"""A stop that releases a video the model still holds, and the worker that finishes after it.

Python threads cannot be killed: when the grace period ends, the runtime gives the unfinished work
back from its own thread and returns, leaving the worker inside the model call. Whatever that
worker does next must not corrupt the state the release left: a late transcript is the video's
(stored, and the message sent again then finds the video done); a late failure decides nothing
(its writes carry a claim that no longer exists). In-process, against the real PostgreSQL, the real
SQS endpoint and the real model.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from tests.support.backends import CountingBackend
from tests.support.database import PostgresUnderTest
from tests.support.media_server import FaultyMediaServer
from tests.support.service import wait_for
from vidscribe.config import Settings
from vidscribe.local.runtime import LocalRuntime, RuntimeReport
from vidscribe.local.samples import load_manifest, samples_dir
from vidscribe.services import Services

SAMPLE = load_manifest()[0]


@pytest.fixture()
def services(settings: Settings, store: PostgresUnderTest, local_backend) -> Iterator[Services]:
    services = Services(settings.replace(shutdown_grace_seconds=0.5), backend=CountingBackend(local_backend))
    try:
        yield services
    finally:
        services.close()


def run_in_thread(runtime: LocalRuntime) -> tuple[threading.Thread, list[RuntimeReport]]:
    reports: list[RuntimeReport] = []
    thread = threading.Thread(target=lambda: reports.append(runtime.run(once=False)), daemon=True)
    thread.start()
    return thread, reports


@pytest.mark.parametrize("late", ["transcript", "failure"])
def test_a_worker_that_finishes_after_the_release_cannot_undo_it(services, store, queue, late) -> None:
    backend: CountingBackend = services.backend  # type: ignore[assignment]
    with FaultyMediaServer(samples_dir()) as media:
        # Given a run whose worker is inside the model call
        store.add_videos([("late", media.url(SAMPLE["file"]))])
        backend.release = threading.Event()
        backend.fail_next = 1 if late == "failure" else 0
        runtime = LocalRuntime(services, poll_interval=0.1)
        thread, reports = run_in_thread(runtime)
        assert backend.entered.wait(60)

        # When the run is stopped and the grace period ends first
        runtime.stop("SIGTERM")
        thread.join(30)
        [report] = reports

        # Then the video is given back: queued, no claim, its attempt not spent, its message on the
        # queue again at once; and the worker is left behind
        assert report.stopped_by == "SIGTERM" and report.released is not None
        assert (report.released.videos, report.released.messages) == (1, 1)
        assert report.abandoned_threads == 1
        assert store.database.run(
            lambda c: (c.execute("SELECT state, attempts, claimed_by FROM video_jobs"), c.fetchall())[1]
        ) == [("queued", 0, None)]
        assert queue.depth()[0] == 1

        # When the model call ends after all
        backend.release.set()
        assert wait_for(lambda: backend.active == 0, timeout=60)
        settled = wait_for(lambda: store.has_transcript("late") or late == "failure", timeout=30)

        # Then a late transcript is stored (the video is done) and a late failure decides nothing
        job = store.database.run(lambda c: (c.execute("SELECT state, attempts FROM video_jobs"), c.fetchone())[1])
        if late == "transcript":
            assert settled and job == ("done", 0)
        else:
            assert job == ("queued", 0) and store.job_error("late").error_type is None
        assert store.failures() == []

        # And the next run finishes it, with no more than the one extra model call for a failure
        backend.release = None
        again = LocalRuntime(services, poll_interval=0.1).run(once=True)
        assert store.has_transcript("late") and store.failures() == []
        assert backend.calls == (1 if late == "transcript" else 2)
        assert again.tally.transcribed == (0 if late == "transcript" else 1)
        assert sum(queue.depth()) == 0
