"""HLS sources against a real local server: the audio rendition's segments only, TS and fMP4 with
EXT-X-MAP, and the playlists that must be refused before any segment is fetched."""

from __future__ import annotations

import pytest

from tests.support.fetch_child import fetch_in_child
from tests.support.hls_factory import GiantInit, fmp4_segments, hls_set, master_playlist, media_playlist
from tests.support.media_factory import load_sample_audio
from tests.support.media_server import FaultyMediaServer
from vidscribe.adapters.media import StreamingMediaSource
from vidscribe.adapters.media.readers.parallel import StreamingFetcher
from vidscribe.config import Settings
from vidscribe.errors import BadPlaylist, EncryptedMedia, LiveStream, MediaTooLarge, MediaTooLong, NotMedia


def media(**env: str) -> StreamingMediaSource:
    return StreamingMediaSource(Settings.from_env({"ALLOW_PRIVATE_URLS": "true", **env}))


@pytest.fixture(scope="module")
def server():
    files = hls_set(load_sample_audio(), 30, segment_seconds=5, video_bytes=3_000_000)
    with FaultyMediaServer() as srv:
        for name, data in files.items():
            srv.add_bytes(f"set/{name}", data)
        yield srv


def segment_hits(server, prefix: str) -> int:
    return sum(1 for _m, name, _r in server.log if name.startswith(f"set/{prefix}") and name.endswith(".ts"))


def test_master_playlist_takes_the_audio_rendition_only(server):
    # When the master playlist is fetched
    audio, report = media().fetch(server.url("set/master.m3u8"))
    # Then its audio rendition's segments were read, and no video segment
    assert audio.duration == pytest.approx(30, abs=0.5)
    assert report.kind == "hls" and "audio rendition" in report.reason
    assert segment_hits(server, "a") == 6 and segment_hits(server, "v") == 0


def test_without_an_audio_rendition_the_lowest_bandwidth_variant_is_read(server):
    server.add_bytes("set/variants.m3u8", master_playlist(None, [
        ("video.m3u8", 9_000_000, "mp4v.20.9,mp4a.40.2"), ("audio.m3u8", 64_000, "mp4v.20.9,mp4a.40.2"),
    ]).encode())
    audio, report = media().fetch(server.url("set/variants.m3u8"))
    assert "64000" in report.reason and audio.duration == pytest.approx(30, abs=0.5)


def test_fmp4_segments_after_their_init_section(server):
    init, segments = fmp4_segments(20, load_sample_audio())
    names = [f"s{i}.m4s" for i in range(len(segments))]
    server.add_bytes("fmp4/init.mp4", init)
    for name, data in zip(names, segments, strict=True):
        server.add_bytes(f"fmp4/{name}", data)
    server.add_bytes("fmp4/index.m3u8", media_playlist(names, [20 / len(names)] * len(names), init="init.mp4").encode())
    audio, report = media().fetch(server.url("fmp4/index.m3u8"))
    assert audio.duration == pytest.approx(20, abs=0.3) and report.requests == 1 + 1 + len(names)


@pytest.mark.parametrize(
    ("playlist", "error", "fragment"),
    [
        (media_playlist(["a00000.ts"], [5.0], endlist=False), LiveStream, "live"),
        (media_playlist(["a00000.ts"], [5.0], key="AES-128"), EncryptedMedia, "AES-128"),
        (media_playlist(["a00000.ts"], [5.0], key="SAMPLE-AES"), EncryptedMedia, "SAMPLE-AES"),
        (media_playlist([f"a{i:05d}.ts" for i in range(100_000)], [1.0] * 100_000), MediaTooLarge, "HLS_MAX_SEGMENTS"),
        (media_playlist(["a00000.ts"] * 2, [30_000.0] * 2), MediaTooLong, "MAX_DURATION_SECONDS"),
        (media_playlist(["bad.m3u8"], [5.0]), BadPlaylist, "lists itself"),
        (master_playlist(None, [("loop.m3u8", 1000, "mp4a.40.2")]), BadPlaylist, "includes itself"),
        ("#EXTM3U\n#EXT-X-ENDLIST\n", BadPlaylist, "no segments"),
    ],
    ids=["live", "aes-128", "sample-aes", "100k-segments", "too-long", "segment-is-itself", "master-loop", "empty"],
)
def test_playlists_refused_before_any_segment(server, playlist, error, fragment):
    name = "loop.m3u8" if "loop.m3u8" in playlist else "bad.m3u8"
    server.add_bytes(f"set/{name}", playlist.encode())
    before = segment_hits(server, "a")
    with pytest.raises(error, match=fragment) as caught:
        media().fetch_audio(server.url(f"set/{name}"))
    assert not caught.value.retryable
    assert segment_hits(server, "a") == before


def test_segments_that_are_not_media_and_playlists_that_are_html(server):
    server.add_html("set/page.ts")
    server.add_bytes("set/html-segment.m3u8", media_playlist(["a00000.ts", "page.ts"], [5.0, 5.0]).encode())
    with pytest.raises(NotMedia, match="segment 1 .* not media"):
        media().fetch_audio(server.url("set/html-segment.m3u8"))
    server.add_html("set/index.m3u8")
    with pytest.raises(NotMedia, match="not an HLS playlist.*text/html"):
        media().fetch_audio(server.url("set/index.m3u8"))


# --- memory: every object streams through a bounded window ----------------------------------------------
GiB = 1024**3
MiB = 1024**2


@pytest.fixture(scope="module")
def giant_init(server):
    """An fMP4 playlist whose init section is 1 GiB (generated as it is sent, never held by the server)."""
    init, segments = fmp4_segments(20, load_sample_audio())
    names = [f"s{i}.m4s" for i in range(len(segments))]
    for name, data in zip(names, segments, strict=True):
        server.add_bytes(f"giant/{name}", data)
        server.add_bytes(f"small/{name}", data)
    server.add_bytes("small/init.mp4", init)
    server.add_virtual("giant/init.mp4", GiantInit(init, GiB))
    server.add_virtual("giant-unsized/init.mp4", GiantInit(init, GiB))
    server.unsized("giant-unsized/init.mp4")  # no Content-Length: the cap must hold while reading
    playlist = media_playlist([f"../giant/{n}" for n in names], [20 / len(names)] * len(names), init="init.mp4")
    for folder in ("small", "giant", "giant-unsized"):
        server.add_bytes(f"{folder}/index.m3u8", playlist.encode())
    return server


def test_a_1_gib_init_section_streams_in_flat_memory(giant_init):
    # Given the same playlist with a 40 KB init section and with a 1 GiB one sent without Content-Length
    small = fetch_in_child(giant_init.url("small/index.m3u8"))
    # When the 1 GiB one is fetched with the per-object cap above its size
    big = fetch_in_child(giant_init.url("giant-unsized/index.m3u8"), HLS_MAX_SEGMENT_BYTES=str(2 * GiB))
    # Then its audio decodes, every byte went through, and the peak RSS is the small fetch's plus at most
    # two fetch windows (2 x 16 MiB): measured +13 MiB (123 MiB against 110 MiB), where holding it took 2.1 GB
    assert small["outcome"] == big["outcome"] == "ok"
    assert big["duration"] == pytest.approx(small["duration"], abs=0.01) == pytest.approx(20, abs=0.3)
    assert big["bytes_fetched"] > GiB
    assert big["peak_rss"] - small["peak_rss"] < 32 * MiB, (small, big)


@pytest.mark.parametrize("folder", ["giant", "giant-unsized"], ids=["announced", "unannounced"])
def test_an_object_over_the_segment_cap_is_refused_while_reading(giant_init, folder):
    # Given the 1 GiB init section, its size announced (Content-Length) or not
    # When it is fetched under the default per-object cap (256 MiB)
    result = fetch_in_child(giant_init.url(f"{folder}/index.m3u8"))
    # Then it is refused as too large, naming the setting: at once, or as soon as 256 MiB have arrived
    assert result["outcome"] == "MediaTooLarge", result
    assert "init section" in result["message"] and "HLS_MAX_SEGMENT_BYTES" in result["message"]
    assert result["peak_rss"] < 200 * MiB, result


def test_segments_far_larger_than_the_window_stay_within_it(server):
    # Given a fetcher over six items of 24 MiB each (as six 300 MiB segments are to a 16 MiB window)
    window = 4 * MiB
    chunk = bytes(256 * 1024)

    class Worker:
        def stream(self, i, emit):
            for _ in range(96):
                emit(chunk)

        def close(self):
            pass

    fetcher = StreamingFetcher(6, Worker, connections=4, window=window)
    # When the reader reads the stream slowly to its end
    total = 0
    while piece := fetcher.read(64 * 1024):
        total += len(piece)
    fetcher.close()
    # Then every byte came through, and never more than the window and its eighth (the item being read)
    # were held at once
    assert total == 6 * 96 * len(chunk)
    assert window <= fetcher.peak_buffered <= window + window // 8 + len(chunk)
