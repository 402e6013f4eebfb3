"""Long videos in parts (issue 22), through the local runtime: real PostgreSQL, the SQS endpoint,
media over a real HTTP server, and a backend stand-in that answers at once with a segment per minute
(``tests.support.part_backends``), so that the assembled timeline can be checked to the second."""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.support.database import PostgresUnderTest
from tests.support.hls_factory import hls_set
from tests.support.media_factory import make_video, probe_duration, tone, write_noise_video
from tests.support.media_server import FaultyMediaServer
from tests.support.odd_wav import wav_bytes
from tests.support.part_backends import MinuteBackend
from vidscribe.adapters.media import StreamingMediaSource
from vidscribe.config import Settings
from vidscribe.local.runtime import LocalRuntime
from vidscribe.models import PartRange, Transcript
from vidscribe.services import Services
from vidscribe.workflow.part_window import PartComplete, PartWindow
from vidscribe.workflow.parts import WINDOW_SECONDS

FOUR_HOURS = 4 * 3600.0


@pytest.fixture()
def media() -> Iterator[FaultyMediaServer]:
    with FaultyMediaServer() as server:
        yield server


def one_hertz_wav(seconds: float) -> bytes:
    """``seconds`` of noise sampled at 1 Hz: 14 KB that decode to 4 hours (a cheap long video)."""
    return wav_bytes(np.random.default_rng(22).integers(0, 256, (int(seconds), 1), dtype=np.uint8), 1)


def rows(store: PostgresUnderTest, query: str) -> list[tuple[Any, ...]]:
    return store.database.run(lambda cur: (cur.execute(query), cur.fetchall())[1])


def run_until_idle(settings: Settings, backend: MinuteBackend) -> None:
    # VAD off: every second of the stand-in's noise is "speech", so coverage shows to the second.
    services = Services(settings.replace(vad="off"), backend=backend)
    try:
        LocalRuntime(services, poll_interval=0.1).run(once=True)
    finally:
        services.close()


def assert_covers_in_order(transcript: Transcript, duration: float) -> None:
    """Each stretch of the video once: segments in order, each starting where the previous ended."""
    segments = transcript.segments
    assert segments[0].start == pytest.approx(0.0, abs=0.01)
    assert segments[-1].end == pytest.approx(duration, abs=0.01)
    for before, after in zip(segments, segments[1:], strict=False):
        assert after.start == pytest.approx(before.end, abs=0.002), (before, after)
    assert sum(s.end - s.start for s in segments) == pytest.approx(duration, abs=0.05)
    assert [w for s in segments for w in s.words] == sorted(
        (w for s in segments for w in s.words), key=lambda w: w.start
    )


def test_a_four_hour_video_goes_through_the_default_budget_in_parts_as_one_transcript(
    settings: Settings, store: PostgresUnderTest, media: FaultyMediaServer, caplog: pytest.LogCaptureFixture
) -> None:
    # Given a 4-hour video, the default 900 s invocations, and a backend whose speed (0.12 s per
    # audio second) would need 1,728 s for it in one invocation
    assert settings.transcriber_timeout_seconds == 900 and settings.part_seconds == 1800
    media.add_bytes("lecture.wav", one_hertz_wav(FOUR_HOURS), "audio/wav")
    store.add_videos([("lecture", media.url("lecture.wav"))])
    backend = MinuteBackend()

    # When the local runtime runs until the backlog is empty
    run_until_idle(settings, backend)

    # Then there is one transcript, no failure, and its timings cover the whole video in order
    assert store.failures() == []
    (transcript,) = store.transcripts()
    assert transcript.duration == pytest.approx(FOUR_HOURS, abs=0.01)
    assert_covers_in_order(transcript, FOUR_HOURS)
    # And it was made in 8 parts of 30 minutes, each transcribed once, and the parts are gone
    (plan,) = [r for r in caplog.records if r.getMessage() == "planned in parts"]
    assert (plan.parts, plan.sent) == (8, 8)  # type: ignore[attr-defined]
    stored = [r for r in caplog.records if r.getMessage() == "part stored"]
    assert sorted(r.part for r in stored) == list(range(8))  # type: ignore[attr-defined]
    assert backend.audio_seconds == pytest.approx(FOUR_HOURS, abs=0.05)
    assert rows(store, "SELECT count(*) FROM video_part_plans") == [(0,)]
    assert rows(store, "SELECT count(*) FROM video_parts") == [(0,)]
    assert rows(store, "SELECT state FROM video_jobs WHERE video_id = 'lecture'") == [("done",)]


def _container_case(kind: str, media: FaultyMediaServer) -> tuple[str, float]:
    """(url, duration) of a 10-minute video of the given kind on the media server."""
    seconds = 600.0
    audio = tone(seconds, 330.0)
    if kind == "hls":
        for name, data in hls_set(audio, seconds, segment_seconds=10.0).items():
            media.add_bytes(f"hls/{name}", data)
        return media.url("hls/master.m3u8"), seconds
    container, faststart = {"mp4-index-front": ("mp4", True), "mp4-index-end": ("mp4", False), "mkv": ("mkv", True)}[
        kind
    ]
    data = make_video(seconds, audio_from=audio, container=container, faststart=faststart)
    media.add_bytes(f"talk.{container}", data)
    return media.url(f"talk.{container}"), probe_duration(data)


@pytest.mark.parametrize("kind", ["mp4-index-front", "mp4-index-end", "mkv", "hls"])
def test_parts_of_each_container_meet_exactly_on_the_video_timeline(
    kind: str, settings: Settings, store: PostgresUnderTest, media: FaultyMediaServer, caplog: pytest.LogCaptureFixture
) -> None:
    # Given a 10-minute video in this container, and parts of 2 minutes
    url, duration = _container_case(kind, media)
    store.add_videos([("talk", url)])
    backend = MinuteBackend()

    # When the local runtime runs until the backlog is empty
    run_until_idle(settings.replace(part_seconds=120), backend)

    # Then the video went in 5 parts, each read from its own start, and is one transcript whose
    # segments cover its whole timeline in order, each stretch once
    (plan,) = [r for r in caplog.records if r.getMessage() == "planned in parts"]
    assert plan.parts == math.ceil(duration / 120)  # type: ignore[attr-defined]
    assert store.failures() == []
    (transcript,) = store.transcripts()
    assert transcript.duration == pytest.approx(duration, abs=0.1)
    assert_covers_in_order(transcript, transcript.duration)
    assert backend.audio_seconds == pytest.approx(transcript.duration, abs=0.05)
    assert rows(store, "SELECT count(*) FROM video_parts") == [(0,)]


class _Discard:
    def begin(self, declared_seconds: float | None) -> None:
        pass

    def feed(self, samples: np.ndarray) -> None:
        pass


@pytest.mark.parametrize("faststart", [True, False], ids=["index-front", "index-end"])
def test_a_part_of_a_camera_style_mp4_fetches_about_its_own_range(
    faststart: bool, media: FaultyMediaServer, tmp_path: Path
) -> None:
    # Given a 20-minute camera-style MP4 (video ~480 kbit/s, so its bytes follow the timeline)
    seconds = 1200.0
    path = tmp_path / "camera.mp4"
    write_noise_video(path, total_bytes=int(seconds * 60_000), seconds=seconds, faststart=faststart)
    media.add_file("camera.mp4", path)
    size = path.stat().st_size
    source = StreamingMediaSource(Settings.from_env({}, ALLOW_PRIVATE_URLS=True))
    # When the second of four parts (5:00-10:00, read from 4:30 to 10:30) is fetched and decoded
    window = PartWindow(_Discard(), PartRange(1, 4, 300.0, 600.0), lambda _, at: at, WINDOW_SECONDS)
    with pytest.raises(PartComplete):
        source.fetch(media.url("camera.mp4"), window)
    # Then it read its 6 minutes of the file (30%), its index and its head, not the whole file
    served = sum(_span(header, size) for method, name, header in media.log if name == "camera.mp4")
    assert window.fed_seconds == pytest.approx(300.0, abs=WINDOW_SECONDS * 2)
    assert 0.30 * size < served < 0.34 * size, served / size  # measured: 0.323 (index at the front), 0.315 (end)


def _span(header: str | None, size: int) -> int:
    if not header:
        return size
    first, _, last = header.removeprefix("bytes=").partition("-")
    return min(int(last) if last else size - 1, size - 1) - int(first) + 1
