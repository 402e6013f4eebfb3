"""The time budget in the local runtime: a video longer than an invocation can transcribe is refused
at once with a permanent, readable failure record, and the run returns promptly (no Lambda ever
kills a transcription mid-work)."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from tests.support.backends import CountingBackend
from tests.support.database import PostgresUnderTest
from tests.support.media_factory import load_sample_audio, make_video
from tests.support.media_server import FaultyMediaServer
from vidscribe.config import Settings
from vidscribe.local.runtime import LocalRuntime
from vidscribe.services import Services


@pytest.fixture()
def media() -> Iterator[FaultyMediaServer]:
    with FaultyMediaServer() as server:
        yield server


def test_a_video_longer_than_the_budget_fails_once_with_time_budget_exceeded(
    settings: Settings, store: PostgresUnderTest, media: FaultyMediaServer, local_backend
) -> None:
    # Given a 5-minute speech video, and transcriber invocations that may run 3 s
    media.add_bytes("long.mp4", make_video(300, audio_from=load_sample_audio(), with_video=False))
    store.add_videos([("long", media.url("long.mp4"))])
    backend = CountingBackend(local_backend)
    services = Services(settings.replace(transcriber_timeout_seconds=3), backend=backend)
    try:
        # When the local runtime runs until the backlog is empty
        started = time.monotonic()
        report = LocalRuntime(services, poll_interval=0.1).run(once=True)
        elapsed = time.monotonic() - started
    finally:
        services.close()

    # Then the video has one failure record of that type, from its first attempt, naming the fix
    (record,) = store.failures()
    assert (record.video_id, record.error_type, record.attempts) == ("long", "TimeBudgetExceeded", 1)
    assert "TRANSCRIBER_TIMEOUT_SECONDS" in record.message and "of the 3 s" in record.message
    # And the model never started on it, no retry was spent, and the run came back promptly
    assert backend.calls == 0 and report.record_failures == 0
    assert store.transcripts() == []
    assert elapsed < 30
