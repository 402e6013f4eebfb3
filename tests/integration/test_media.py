"""The media layer against a real local HTTP server and real PyAV: streaming, decoding, every failure.

Media is generated in memory by ``tests/support/media_factory.py``; faults are injected by
``tests/support/media_server.py``. Nothing is mocked; the only waiting is what a slow server does.
"""

from __future__ import annotations

import io
import os
import time
from pathlib import Path

import numpy as np
import pytest
import requests

from tests.support.media_factory import make_noise_video, make_video, probe_duration
from tests.support.media_server import FaultyMediaServer
from vidscribe.adapters.media import StreamingMediaSource, decode_audio, open_local_audio
from vidscribe.adapters.media.containers.formats import mp4_index_at_end
from vidscribe.adapters.media.deadline import Deadline
from vidscribe.adapters.media.transports.dialer import Dialer
from vidscribe.adapters.media.transports.http import make_session
from vidscribe.adapters.media.urlguard import check_url
from vidscribe.config import Settings
from vidscribe.errors import (
    FetchError,
    FetchRefused,
    MediaTooLarge,
    MediaTooLong,
    NoAudioTrack,
    NotMedia,
    TruncatedMedia,
    UnseekableMedia,
    UrlRejected,
)
from vidscribe.local.media_server import MediaServer, parse_range
from vidscribe.local.samples import ENV_VAR, load_manifest, sample_path, samples_dir
from vidscribe.models import SAMPLE_RATE

MiB = 1024 * 1024


def settings(**env: object) -> Settings:
    base = {"ALLOW_PRIVATE_URLS": "true", "HTTP_CONNECT_TIMEOUT": "2", "HTTP_READ_TIMEOUT": "5"}
    base.update({k: str(v) for k, v in env.items()})
    return Settings.from_env(base)


def open_reader(url: str, **env: object):
    """The source's seekable reader over ``url`` (front to back where the server ignores ranges)."""
    return StreamingMediaSource(settings(**env)).open(url)


@pytest.fixture(scope="module")
def server():
    with FaultyMediaServer() as srv:
        yield srv


@pytest.fixture(scope="module")
def source() -> StreamingMediaSource:
    return StreamingMediaSource(settings())


@pytest.fixture(scope="module")
def speech() -> np.ndarray:
    return open_local_audio(sample_path(load_manifest()[0]), max_duration_seconds=60).samples


@pytest.fixture(scope="module")
def mp4_front(speech) -> bytes:
    return make_video(6, audio_from=speech, faststart=True)


@pytest.fixture(scope="module")
def mp4_end(speech) -> bytes:
    return make_video(6, audio_from=speech, faststart=False)


@pytest.fixture(scope="module")
def big_mp4_front(speech) -> bytes:
    data = make_noise_video(3_000_000, 10, audio_from=speech, faststart=True)
    assert not mp4_index_at_end(data)
    return data


@pytest.fixture(scope="module")
def big_mp4_end() -> bytes:
    """~4 MB, index at the end: big enough that reading it costs several read-ahead blocks."""
    data = make_noise_video(4_000_000, 20, faststart=False)
    assert mp4_index_at_end(data)
    return data


# --- the bundled samples ---------------------------------------------------------------------------
def test_manifest_describes_at_least_four_distinct_clips():
    entries = load_manifest()
    assert len(entries) >= 4
    assert len({e["text"] for e in entries}) == len(entries)
    assert len({e["container"] for e in entries}) >= 4
    for entry in entries:
        assert entry["id"].startswith("sample-")
        assert sample_path(entry).is_file()
        assert 4 <= entry["duration_seconds"] <= 8
    assert sum(sample_path(e).stat().st_size for e in entries) < 500_000


def test_every_sample_streams_and_decodes_to_its_duration(source):
    # Given the product's media server serving the bundled samples
    with MediaServer(samples_dir()) as srv:
        for entry in load_manifest():
            # When each is fetched over HTTP
            audio = source.fetch_audio(srv.url(entry["file"]))
            # Then its audio lasts what the manifest and the container say, in 16 kHz mono float32
            path = sample_path(entry)
            assert audio.duration == pytest.approx(entry["duration_seconds"], abs=0.3), entry["id"]
            assert audio.duration == pytest.approx(probe_duration(path), abs=0.3), entry["id"]
            assert audio.samples.dtype == np.float32 and audio.samples.ndim == 1
            assert 0.01 < float(np.sqrt(np.mean(audio.samples**2))) < 1.0  # speech, not silence
            assert audio.source_bytes == path.stat().st_size


def test_local_files_decode_the_same_as_over_http(source, server):
    entry = load_manifest()[0]
    local = open_local_audio(sample_path(entry), max_duration_seconds=60)
    server.add_file("local-vs-http.mp4", sample_path(entry))
    remote = source.fetch_audio(server.url("local-vs-http.mp4"))
    assert np.array_equal(local.samples, remote.samples)
    assert local.source_bytes == sample_path(entry).stat().st_size
    with pytest.raises(FileNotFoundError):
        open_local_audio(sample_path(entry).with_name("missing.mp4"), max_duration_seconds=60)


def test_samples_dir_can_be_overridden(monkeypatch, tmp_path):
    monkeypatch.setenv(ENV_VAR, str(tmp_path))
    assert samples_dir() == tmp_path.resolve()
    with pytest.raises(FileNotFoundError, match=ENV_VAR):
        load_manifest()


# --- streaming ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("container", ["mp4", "mov", "webm", "mkv", "mp3", "m4a", "wav", "ogg", "flac"])
def test_generated_containers_decode(server, source, speech, container):
    data = make_video(3, audio_from=speech, container=container)
    server.add_bytes(f"gen.{container}", data)
    audio = source.fetch_audio(server.url(f"gen.{container}"))
    assert audio.duration == pytest.approx(3.0, abs=0.3)


def test_mp4_with_index_at_end_streams_through_range_requests(server, mp4_end, speech):
    # Given an MP4 whose index (moov) comes after its media data
    assert mp4_index_at_end(mp4_end)
    server.add_bytes("end.mp4", mp4_end)
    # When it is read through the Range reader
    with open_reader(server.url("end.mp4"), READ_AHEAD_BYTES=64 * 1024) as reader:
        assert reader.seekable()
        audio = decode_audio(reader, max_duration_seconds=60)
    # Then all of its audio is decoded, and it resembles what went in
    assert audio.duration == pytest.approx(6.0, abs=0.3)
    n = min(len(speech), len(audio.samples))
    correlation = np.corrcoef(speech[:n], audio.samples[:n])[0, 1]
    assert correlation > 0.8


def test_no_range_server_with_index_at_front_streams_sequentially(server, big_mp4_front):
    # Given a server that ignores Range and a multi-megabyte MP4 with its index at the front
    server.add_bytes("norange-front.mp4", big_mp4_front)
    server.no_range("norange-front.mp4")
    # When it is read, then it streams front to back, once
    with open_reader(server.url("norange-front.mp4")) as reader:
        assert not reader.seekable()
        audio = decode_audio(reader, max_duration_seconds=60)
        assert reader.bytes_fetched == len(big_mp4_front)
        assert reader.requests == 1
    assert audio.duration == pytest.approx(10.0, abs=0.3)


def test_no_range_server_with_a_file_smaller_than_one_block_is_seekable(server, mp4_end):
    # A file that fits in one read-ahead block is held whole: even its index at the end is reachable
    server.add_bytes("norange-small-end.mp4", mp4_end)
    server.no_range("norange-small-end.mp4")
    with open_reader(server.url("norange-small-end.mp4")) as reader:
        assert reader.seekable()
        assert decode_audio(reader, max_duration_seconds=60).duration == pytest.approx(6.0, abs=0.3)
        assert reader.requests == 1


def test_no_range_server_with_index_at_end_is_unseekable_media(server, big_mp4_end, source):
    # Given a server without Range support and an MP4 with its index at the end
    server.add_bytes("norange-end.mp4", big_mp4_end)
    server.no_range("norange-end.mp4")
    # When it is fetched
    with open_reader(server.url("norange-end.mp4")) as reader:
        with pytest.raises(UnseekableMedia, match="Range") as caught:
            decode_audio(reader, max_duration_seconds=60)
        # Then the reader found out from the first bytes, without downloading the file
        assert reader.bytes_fetched < len(big_mp4_end) / 10
    assert not caught.value.retryable
    with pytest.raises(UnseekableMedia):
        source.fetch_audio(server.url("norange-end.mp4"))


def test_bytes_fetched_stay_close_to_the_file_size(server, big_mp4_end):
    server.add_bytes("ratio.mp4", big_mp4_end)
    before = server.bytes_sent
    with open_reader(server.url("ratio.mp4")) as reader:
        audio = decode_audio(reader, max_duration_seconds=60)
        fetched, requests_made = reader.bytes_fetched, reader.requests
    assert audio.duration == pytest.approx(20.0, abs=0.3)
    assert fetched / len(big_mp4_end) <= 1.10
    assert (server.bytes_sent - before) / len(big_mp4_end) <= 1.10
    assert requests_made <= len(big_mp4_end) / MiB + 3  # megabyte reads, not thousands of small ones


def test_redirect_chain_is_followed(server, source, mp4_front):
    server.add_bytes("target.mp4", mp4_front)
    server.redirect("hop1", "hop2", status=301)
    server.redirect("hop2", server.url("target.mp4"), status=307)
    audio = source.fetch_audio(server.url("hop1"))
    assert audio.duration == pytest.approx(6.0, abs=0.3)


def test_fetch_counts_bytes(server, source, mp4_front):
    server.add_bytes("count.mp4", mp4_front)
    audio = source.fetch_audio(server.url("count.mp4"))
    assert audio.source_bytes == len(mp4_front)


def test_too_long_is_refused_from_the_header(server, mp4_front):
    server.add_bytes("long.mp4", mp4_front)
    with pytest.raises(MediaTooLong, match="MAX_DURATION_SECONDS"):
        StreamingMediaSource(settings(MAX_DURATION_SECONDS=3)).fetch_audio(server.url("long.mp4"))


class _Unseekable(io.RawIOBase):
    """A write-only, non-seekable sink: the muxer cannot go back to write the duration."""

    def __init__(self) -> None:
        self.buf = io.BytesIO()

    def writable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def write(self, data) -> int:
        return self.buf.write(data)


def test_too_long_is_caught_while_decoding_when_the_header_has_no_duration(speech):
    # Given a Matroska file written as a live stream: no duration in its header
    import av

    sink = _Unseekable()
    with av.open(sink, mode="w", format="matroska") as out:
        stream = out.add_stream("libopus", rate=SAMPLE_RATE, layout="mono")
        pcm = np.tile(speech, 2)
        for start in range(0, len(pcm), 960):
            frame = av.AudioFrame.from_ndarray(pcm[start : start + 960].reshape(1, -1), format="flt", layout="mono")
            frame.sample_rate, frame.pts = SAMPLE_RATE, start
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    data = sink.buf.getvalue()
    with av.open(io.BytesIO(data)) as probe:
        assert probe.duration is None
    # When it is decoded with a limit shorter than its audio, then decoding stops at the limit
    with pytest.raises(MediaTooLong):
        decode_audio(io.BytesIO(data), max_duration_seconds=5)
    full = decode_audio(io.BytesIO(data), max_duration_seconds=60)
    assert full.duration == pytest.approx(2 * len(speech) / SAMPLE_RATE, abs=0.3)


# --- what is not media ---------------------------------------------------------------------------------
def test_html_page_is_not_media(server, source):
    server.add_html("page.mp4")
    with pytest.raises(NotMedia) as caught:
        source.fetch_audio(server.url("page.mp4"))
    message = str(caught.value)
    assert "text/html" in message and "<!doctype html>" in message
    assert not caught.value.retryable


def test_zero_byte_file_is_not_media(server, source):
    server.add_bytes("empty.mp4", b"")
    with pytest.raises(NotMedia, match="empty"):
        source.fetch_audio(server.url("empty.mp4"))
    server.add_bytes("empty-norange.mp4", b"")
    server.no_range("empty-norange.mp4")
    with pytest.raises(NotMedia, match="empty"):
        source.fetch_audio(server.url("empty-norange.mp4"))


def test_truncated_file_is_truncated_media(server, source, mp4_front, mp4_end):
    # Index at the front, data cut in half: FFmpeg stops quietly; the declared duration gives it away
    server.add_bytes("cut-front.mp4", mp4_front[: len(mp4_front) // 2])
    with pytest.raises(TruncatedMedia, match="should last"):
        source.fetch_audio(server.url("cut-front.mp4"))
    # Index at the end, cut off: the file looks like an MP4 but cannot be opened
    server.add_bytes("cut-end.mp4", mp4_end[: len(mp4_end) // 2])
    with pytest.raises(TruncatedMedia, match="MP4"):
        source.fetch_audio(server.url("cut-end.mp4"))


def test_a_few_bytes_of_an_mp4_are_truncated_media(source, server, mp4_front):
    server.add_bytes("stub.mp4", mp4_front[:100])
    with pytest.raises(TruncatedMedia):
        source.fetch_audio(server.url("stub.mp4"))


def test_video_without_audio_has_no_audio_track(server, source):
    server.add_bytes("silent.mp4", make_video(2, with_audio=False))
    with pytest.raises(NoAudioTrack, match="video"):
        source.fetch_audio(server.url("silent.mp4"))


# --- HTTP failures -------------------------------------------------------------------------------------
def test_404_is_refused_for_good(server, source):
    with pytest.raises(FetchRefused, match="404") as caught:
        source.fetch_audio(server.url("no-such-video.mp4"))
    assert not caught.value.retryable
    server.always_fail("forbidden.mp4", 403)
    with pytest.raises(FetchRefused, match="403"):
        source.fetch_audio(server.url("forbidden.mp4"))


def test_503_and_429_are_retryable(server, source, mp4_front):
    server.always_fail("down.mp4", 503)
    with pytest.raises(FetchError, match="503") as caught:
        source.fetch_audio(server.url("down.mp4"))
    assert caught.value.retryable
    server.always_fail("busy.mp4", 429)
    with pytest.raises(FetchError, match="429"):
        source.fetch_audio(server.url("busy.mp4"))


def test_a_failure_then_success(server, source, mp4_front):
    server.add_bytes("flaky.mp4", mp4_front)
    server.fail_first("flaky.mp4", 502)
    with pytest.raises(FetchError):
        source.fetch_audio(server.url("flaky.mp4"))
    assert source.fetch_audio(server.url("flaky.mp4")).duration == pytest.approx(6.0, abs=0.3)


def test_connection_refused_is_retryable():
    with MediaServer(Path(__file__).parent) as srv:
        url = srv.url("gone.mp4")
    with pytest.raises(FetchError, match="cannot fetch"):
        StreamingMediaSource(settings()).fetch_audio(url)


def test_oversize_is_refused_before_the_body_is_read(server, big_mp4_end):
    # Given a file larger than MAX_MEDIA_BYTES
    server.add_bytes("huge.mp4", big_mp4_end)
    sent_before, hits_before = server.bytes_sent, server.hits("huge.mp4")
    # When it is fetched, then it is refused from the Content-Range total after one request
    with pytest.raises(MediaTooLarge, match="MAX_MEDIA_BYTES"):
        StreamingMediaSource(settings(MAX_MEDIA_BYTES=1_000_000)).fetch_audio(server.url("huge.mp4"))
    assert server.hits("huge.mp4") - hits_before == 1
    assert server.bytes_sent - sent_before <= MiB  # at most the one read-ahead block was sent
    # Same from Content-Length when the server has no Range support
    server.add_bytes("huge-norange.mp4", big_mp4_end)
    server.no_range("huge-norange.mp4")
    with pytest.raises(MediaTooLarge):
        StreamingMediaSource(settings(MAX_MEDIA_BYTES=1_000_000)).fetch_audio(server.url("huge-norange.mp4"))


def test_redirect_to_a_loopback_address_is_refused_and_never_contacted(server, mp4_front):
    # Given a redirect to a second server on another loopback address
    with FaultyMediaServer(host="127.0.0.2") as internal:
        internal.add_bytes("secret.mp4", mp4_front)
        server.redirect("to-internal.mp4", internal.url("secret.mp4"))
        # The public-facing server stands for the internet here: only its address is let through;
        # everything else gets the real guard with private addresses refused.
        def guard(url: str) -> None:
            if not url.startswith(server.base_url + "/"):
                check_url(url, allow_private=False)

        # When the URL is fetched, then the redirect is refused
        with pytest.raises(UrlRejected, match="redirect .* refused: .*127.0.0.2 is a loopback address"):
            StreamingMediaSource(settings(), url_guard=guard).open(server.url("to-internal.mp4"))
        # And the internal server never received a request
        assert internal.requests == 0


def test_private_url_is_refused_before_any_request(server, mp4_front):
    server.add_bytes("private.mp4", mp4_front)
    hits = server.hits("private.mp4")
    with pytest.raises(UrlRejected, match="loopback"):
        StreamingMediaSource(settings(ALLOW_PRIVATE_URLS="false")).fetch_audio(server.url("private.mp4"))
    assert server.hits("private.mp4") == hits


def test_connections_to_private_addresses_are_refused_before_connecting(server, mp4_front):
    # Every connection of a media session checks the addresses it is about to connect to, even for a
    # request no URL guard looked at (a plain session.get): nothing is sent to a loopback address.
    server.add_bytes("rebind.mp4", mp4_front)
    hits = server.hits("rebind.mp4")
    dialer = Dialer(Deadline(5.0, "test"), allow_private=False)
    with make_session(dialer) as session, pytest.raises(UrlRejected, match="connect to 127.0.0.1.*loopback"):
        session.get(server.url("rebind.mp4"), timeout=2)
    assert server.hits("rebind.mp4") == hits


def test_redirect_loop_and_too_many_redirects(server, source):
    server.redirect("loop-a", "loop-b")
    server.redirect("loop-b", "loop-a")
    with pytest.raises(FetchRefused, match="redirect loop"):
        source.fetch_audio(server.url("loop-a"))
    for i in range(10):
        server.redirect(f"chain-{i}", f"chain-{i + 1}")
    with pytest.raises(FetchRefused, match="too many redirects"):
        StreamingMediaSource(settings(MAX_REDIRECTS=3)).fetch_audio(server.url("chain-0"))
    server.redirect("to-file", "file:///etc/passwd")
    with pytest.raises(UrlRejected, match="http and https"):
        source.fetch_audio(server.url("to-file"))


def test_trickling_server_hits_the_total_time_bound(server, big_mp4_end):
    # Given a server that sends 64 bytes every 50 ms (never idle long enough for a read timeout)
    server.trickle("slow.mp4", big_mp4_end, chunk=64, interval=0.05)
    source = StreamingMediaSource(settings(HTTP_READ_TIMEOUT="0.5"), total_timeout_seconds=1.0)
    started = time.monotonic()
    with pytest.raises(FetchError, match="took longer than") as caught:
        source.fetch_audio(server.url("slow.mp4"))
    # Then the fetch gives up within a bounded time, as a retryable error
    assert time.monotonic() - started < 3.0
    assert caught.value.retryable


def test_stalled_server_hits_the_read_timeout(server, big_mp4_end):
    server.add_bytes("stall.mp4", big_mp4_end)
    server.stall_after("stall.mp4", 1000)
    started = time.monotonic()
    with pytest.raises(FetchError, match="timed out"):
        StreamingMediaSource(settings(HTTP_READ_TIMEOUT="0.3")).fetch_audio(server.url("stall.mp4"))
    assert time.monotonic() - started < 2.0


def test_connection_lost_mid_transfer_is_retryable_not_bad_media(server, big_mp4_end, mp4_front):
    # Given a server that hangs up after part of the body, with and without Range support
    server.add_bytes("cut-conn.mp4", big_mp4_end)
    server.disconnect_after("cut-conn.mp4", 100_000)
    server.add_bytes("cut-conn-norange.mp4", mp4_front)
    server.no_range("cut-conn-norange.mp4")
    server.disconnect_after("cut-conn-norange.mp4", len(mp4_front) // 2)
    source = StreamingMediaSource(settings())
    # When each is fetched, then it is a retryable fetch error, not "truncated media"
    for name in ("cut-conn.mp4", "cut-conn-norange.mp4"):
        with pytest.raises(FetchError) as caught:
            source.fetch_audio(server.url(name))
        assert caught.value.retryable, name


# --- the reader as a file object ---------------------------------------------------------------------------
def test_reader_is_a_seekable_file(server):
    data = os.urandom(300_000)
    server.add_bytes("random.bin", data)
    with open_reader(server.url("random.bin"), READ_AHEAD_BYTES=64 * 1024) as r:
        assert r.seek(0, io.SEEK_END) == len(data) and r.tell() == len(data)
        assert r.seek(-10, io.SEEK_END) == len(data) - 10
        assert r.read(100) == data[-10:]
        assert r.read(5) == b""
        r.seek(100_000)
        assert r.read(70_000) == data[100_000 : 100_000 + 64 * 1024]  # short read at the block end: allowed
        r.seek(1000)
        assert r.read(10) == data[1000:1010]
        r.seek(-5, io.SEEK_CUR)
        assert r.read(5) == data[1005:1010]
        r.seek(0)
        assert r.read() == data
        buf = bytearray(16)
        r.seek(7)
        assert r.readinto(buf) == 16 and bytes(buf) == data[7:23]
        with pytest.raises(ValueError):
            r.seek(-1)
    assert r.closed


# --- the product's media server ---------------------------------------------------------------------------
def test_media_server_range_handling(tmp_path):
    data = bytes(range(256)) * 4  # 1024 bytes
    (tmp_path / "clip.mp4").write_bytes(data)
    with MediaServer(tmp_path) as srv, requests.Session() as http:
        url = srv.url("clip.mp4")

        def get(range_header=None, method="GET"):
            headers = {"Range": range_header} if range_header else {}
            return http.request(method, url, headers=headers, timeout=5)

        r = get()
        assert r.status_code == 200 and r.content == data
        assert r.headers["Accept-Ranges"] == "bytes" and r.headers["Content-Type"] == "video/mp4"
        r = get("bytes=10-19")
        assert r.status_code == 206 and r.content == data[10:20]
        assert r.headers["Content-Range"] == "bytes 10-19/1024"
        r = get("bytes=1000-")
        assert r.status_code == 206 and r.content == data[1000:]
        r = get("bytes=-24")
        assert r.status_code == 206 and r.content == data[-24:]
        assert r.headers["Content-Range"] == "bytes 1000-1023/1024"
        r = get("bytes=1000-5000")
        assert r.status_code == 206 and r.content == data[1000:]
        r = get("bytes=2000-")
        assert r.status_code == 416 and r.headers["Content-Range"] == "bytes */1024"
        r = get("bytes=0-1,5-6")  # several ranges: ignored, the whole file is sent
        assert r.status_code == 200 and r.content == data
        r = get("bytes=0-9", method="HEAD")
        assert r.status_code == 206 and r.headers["Content-Length"] == "10" and r.content == b""
        assert srv.requests == 8
        assert srv.bytes_sent == 1024 + 10 + 24 + 24 + 24 + 1024
    with MediaServer(tmp_path, range_support=False) as srv:
        r = requests.get(srv.url("clip.mp4"), headers={"Range": "bytes=0-9"}, timeout=5)
        assert r.status_code == 200 and r.content == data and "Accept-Ranges" not in r.headers


def test_parse_range_edge_cases():
    assert parse_range(None, 10) is None
    assert parse_range("bytes=0-0", 10) == (0, 0)
    assert parse_range("bytes=-100", 10) == (0, 9)
    assert parse_range("bytes=-0", 10) == "unsatisfiable"
    assert parse_range("bytes=0-", 0) == "unsatisfiable"
    assert parse_range("bytes=5-2", 10) is None
    assert parse_range("items=0-1", 10) is None
    assert parse_range("bytes=a-b", 10) is None


def test_media_server_refuses_path_traversal(tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    (root / "ok.mp4").write_bytes(b"fine")
    (root / "sub").mkdir()
    (root / "sub" / "deep.mp4").write_bytes(b"deep")
    (tmp_path / "secret.txt").write_bytes(b"secret")
    (root / "link.txt").symlink_to(tmp_path / "secret.txt")
    with MediaServer(root) as srv:
        import http.client

        def status(raw_path: str) -> int:
            conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=5)
            conn.request("GET", raw_path)
            resp = conn.getresponse()
            resp.read()
            conn.close()
            return resp.status

        assert status("/ok.mp4") == 200
        assert status("/sub/deep.mp4") == 200
        assert status("/sub%2Fdeep.mp4") == 200  # an encoded slash is still inside the root
        for path in (
            "/../secret.txt",
            "/sub/../../secret.txt",
            "/%2e%2e/secret.txt",
            "/..%2fsecret.txt",
            "/sub/..%2F..%2Fsecret.txt",
            "/..%5csecret.txt",
            "//etc/passwd",
            "/" + str(tmp_path / "secret.txt"),
            "/link.txt",  # a symbolic link leading outside the root
            "/sub",  # a folder
            "/",
            "/ok.mp4%00.txt",
        ):
            assert status(path) == 404, path
