"""Planned fetching against a real local server behind a simulated link (tests/support/shaped_server.py):
only an MP4's audio chunks when that pays, the whole file with several requests in flight otherwise.

These tests count bytes, requests and requests in flight, and compare the decoded audio with the file's;
they never time anything (the speed is bench/bench_fetch_link.py's business).
"""

from __future__ import annotations

import io

import numpy as np
import pytest

from tests.support.bad_mp4 import GiantIndex
from tests.support.hls_factory import fmp4_segments
from tests.support.media_factory import load_sample_audio, make_noise_video, make_video, write_noise_video
from tests.support.mp4_rechunk import rechunk
from tests.support.shaped_server import ShapedMediaServer
from vidscribe.adapters.media import StreamingMediaSource, decode_audio
from vidscribe.adapters.media.containers.mp4_index import read_index
from vidscribe.config import Settings
from vidscribe.errors import FetchError, FetchRefused, MediaTooLarge, NoAudioTrack

MiB = 1024 * 1024


def media(**env: object) -> StreamingMediaSource:
    base = {"ALLOW_PRIVATE_URLS": "true", "HTTP_READ_TIMEOUT": "5", "READ_AHEAD_BYTES": str(64 * 1024)}
    return StreamingMediaSource(Settings.from_env({**base, **{k: str(v) for k, v in env.items()}}))


def local(data: bytes) -> np.ndarray:
    return decode_audio(io.BytesIO(data), max_duration_seconds=600).samples


@pytest.fixture(scope="module")
def server():
    # A fast link (2 ms, 200 MB/s): the latency is real, the suite stays quick
    with ShapedMediaServer(latency=0.002, connection_bandwidth=100e6, shared_bandwidth=200e6) as srv:
        yield srv


@pytest.fixture(scope="module")
def ffmpeg_mp4() -> bytes:
    """FFmpeg's interleave (a few hundred bytes of audio between video frames), index at the end."""
    return make_noise_video(6_000_000, 40, audio_from=load_sample_audio(), audio_bitrate=64_000)


@pytest.fixture(scope="module")
def camera_mp4(ffmpeg_mp4) -> bytes:
    return rechunk(ffmpeg_mp4, faststart=False)


def test_camera_mp4_fetches_only_its_index_and_audio_chunks(server, camera_mp4):
    # Given a camera-style MP4 (one chunk per track per second), index at the end or at the front
    for name, data in (("cam-end.mp4", camera_mp4), ("cam-front.mp4", rechunk(camera_mp4, faststart=True))):
        server.add_bytes(name, data)
        index, _ = read_index(lambda o, n, d=data: d[o : o + n], len(data), data[: 64 * 1024])
        chunks = len(index.audio_tracks[0].chunk_offsets)
        # When it is fetched with the default strategy
        audio, report = media().fetch(server.url(name))
        # Then the plan is audio-only: about one request per audio chunk, a few bytes over the audio
        assert report.kind == "audio-only", report.reason
        assert report.bytes_fetched <= 1.3 * (report.audio_bytes + report.index_bytes), report
        assert chunks <= report.requests <= chunks + 4
        # And the audio is the file's, bit for bit
        assert np.array_equal(audio.samples, local(data)), name
        assert audio.source_bytes == report.bytes_fetched


def test_ffmpeg_mp4_with_auto_reads_the_whole_file_and_audio_only_reads_few_bytes(ffmpeg_mp4):
    # Given FFmpeg's per-frame interleave on a link with 30 ms to the first byte
    with ShapedMediaServer(latency=0.030, connection_bandwidth=100e6, shared_bandwidth=200e6) as slow:
        slow.add_bytes("ff.mp4", ffmpeg_mp4)
        # When auto plans, then fetching ~600 tiny chunks loses to reading the file at full speed
        audio, report = media().fetch(slow.url("ff.mp4"))
        assert report.kind == "whole-file", report.reason
        assert "whole-file" in report.reason and "ms to the first byte" in report.reason
        assert len(ffmpeg_mp4) <= report.bytes_fetched <= len(ffmpeg_mp4) + 64 * 1024
        # And with several requests in flight at once
        assert slow.max_in_flight >= 4
        assert np.array_equal(audio.samples, local(ffmpeg_mp4))
    # When audio-only is asked for, then the fewest bytes, whatever the requests
    with ShapedMediaServer(latency=0.0, connection_bandwidth=1e9, shared_bandwidth=1e9) as fast:
        fast.add_bytes("ff.mp4", ffmpeg_mp4)
        audio, report = media(FETCH_STRATEGY="audio-only").fetch(fast.url("ff.mp4"))
    assert report.kind == "audio-only"
    assert report.bytes_fetched <= 1.3 * (report.audio_bytes + report.index_bytes)
    assert report.requests > 100
    assert np.array_equal(audio.samples, local(ffmpeg_mp4))


def test_whole_file_strategy_reads_every_byte_once_in_flat_memory(server):
    # Given a Matroska file (no sample index) of ~24 MB
    buf = io.BytesIO()
    write_noise_video(buf, total_bytes=24_000_000, seconds=30, audio_from=load_sample_audio(), container="mkv")
    data = buf.getvalue()
    server.add_bytes("whole.mkv", data)
    before = server.max_in_flight
    # When it is fetched with a window smaller than the file
    audio, report = media(FETCH_CONNECTIONS=4).fetch(server.url("whole.mkv"))
    # Then each byte came once (within a block), several at a time, and memory stayed within the window
    assert report.kind == "whole-file" and "has no sample index" in report.reason
    assert len(data) <= report.bytes_fetched <= len(data) + 256 * 1024
    assert report.peak_held_bytes <= report.window_bytes
    assert report.window_bytes < len(data)
    assert max(before, server.max_in_flight) >= 2
    assert np.array_equal(audio.samples, local(data))


def test_m4a_and_an_mp4_without_audio(server):
    m4a = make_video(30, audio_from=load_sample_audio(), container="m4a")
    server.add_bytes("talk.m4a", m4a)
    audio, report = media().fetch(server.url("talk.m4a"))
    assert report.kind == "audio-only" and np.array_equal(audio.samples, local(m4a))
    # A video track only: the index says so, and nothing of the media data is fetched
    silent = make_video(8, with_audio=False, size=(320, 240), fps=25, video_bitrate=2_000_000, faststart=False)
    assert len(silent) > 256 * 1024
    server.add_bytes("silent.mp4", silent)
    sent = server.bytes_sent
    with pytest.raises(NoAudioTrack):
        media().fetch_audio(server.url("silent.mp4"))
    assert server.bytes_sent - sent < 128 * 1024


def test_fragmented_mp4_falls_back_to_the_whole_file_and_says_why(server):
    init, segments = fmp4_segments(30, load_sample_audio())
    data = init + b"".join(segments)
    server.add_bytes("frag.mp4", data)
    audio, report = media(READ_AHEAD_BYTES=64 * 1024).fetch(server.url("frag.mp4"))
    assert report.kind == "whole-file" and "fragmented" in report.reason
    assert np.array_equal(audio.samples, local(data))


def test_a_failed_range_is_retried_once_then_fails_the_fetch(server, camera_mp4):
    # Given a server that answers 503 once to a range request past the first megabyte (the index is at
    # the front: the failure hits the audio chunks)
    camera_mp4 = rechunk(camera_mp4, faststart=True)
    server.add_bytes("flaky-range.mp4", camera_mp4)
    server.fail_ranges_from("flaky-range.mp4", 1 * MiB, 503, times=1)
    audio, report = media().fetch(server.url("flaky-range.mp4"))
    assert report.retries == 1 and np.array_equal(audio.samples, local(camera_mp4))
    # And one that keeps failing: the fetch fails, retryable (503) or permanent (404)
    server.add_bytes("broken-range.mp4", camera_mp4)
    server.fail_ranges_from("broken-range.mp4", 1 * MiB, 503)
    with pytest.raises(FetchError, match="503"):
        media().fetch_audio(server.url("broken-range.mp4"))
    server.add_bytes("gone-range.mp4", camera_mp4)
    server.fail_ranges_from("gone-range.mp4", 1 * MiB, 404)
    with pytest.raises(FetchRefused, match="404"):
        media().fetch_audio(server.url("gone-range.mp4"))


def test_the_parallel_reader_follows_redirects_once_and_keeps_the_deadline(server, camera_mp4):
    server.add_bytes("target.mp4", camera_mp4)
    server.redirect("short-link", "target.mp4")
    hits = server.hits("short-link")
    audio, report = media().fetch(server.url("short-link"))
    assert report.kind == "audio-only" and server.hits("short-link") - hits == 1
    # A server that trickles every range after the first bytes: the whole fetch is bounded
    server.add_bytes("slow-ranges.mp4", camera_mp4)
    server.trickle("slow-ranges.mp4", chunk=64, interval=0.05)
    source = StreamingMediaSource(Settings.from_env({"ALLOW_PRIVATE_URLS": "true"}), total_timeout_seconds=1.0)
    with pytest.raises(FetchError, match="took longer than"):
        source.fetch_audio(server.url("slow-ranges.mp4"))


def test_an_index_of_100_mib_is_refused_from_its_header(server):
    # Given a file whose moov claims 100 MiB (virtual: zeros past the headers)
    server.add_virtual("giant-moov.mp4", GiantIndex())
    sent = server.bytes_sent
    # When it is fetched, then it is refused before the index is read, with the reason
    with pytest.raises(MediaTooLarge, match="index"):
        media().fetch_audio(server.url("giant-moov.mp4"))
    assert server.bytes_sent - sent < 256 * 1024
