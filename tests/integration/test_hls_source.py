"""HLS sources against a real local server: the audio rendition's segments only, TS and fMP4 with
EXT-X-MAP, and the playlists that must be refused before any segment is fetched."""

from __future__ import annotations

import pytest

from tests.support.hls_factory import fmp4_segments, hls_set, master_playlist, media_playlist
from tests.support.media_factory import load_sample_audio
from tests.support.media_server import FaultyMediaServer
from vidscribe.adapters.media import StreamingMediaSource
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
