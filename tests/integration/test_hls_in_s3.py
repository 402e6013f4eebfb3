"""HLS stored in S3 (what MediaConvert and most AWS packagers write), against moto's real S3 endpoint:
relative URIs are objects beside the playlist, read with the role; absolute http(s) URIs still pass the
URL guard; a playlist served over http(s) may not point into S3."""

from __future__ import annotations

import uuid

import boto3
import pytest

from tests.support.hls_factory import hls_set, media_playlist
from tests.support.media_factory import load_sample_audio
from tests.support.media_server import FaultyMediaServer
from vidscribe.adapters.media import StreamingMediaSource
from vidscribe.config import Settings
from vidscribe.errors import BadPlaylist, FetchRefused, UrlRejected

BUCKET = f"hls-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="module")
def files() -> dict[str, bytes]:
    return hls_set(load_sample_audio(), 30, segment_seconds=5, video_bytes=3_000_000)


@pytest.fixture(scope="module")
def bucket(sqs_server, files):
    s3 = boto3.client("s3", region_name="us-east-1", endpoint_url=sqs_server.endpoint_url)
    s3.create_bucket(Bucket=BUCKET)
    # The master at the top, the renditions' playlists and segments one folder down (as packagers lay
    # them out), so the master's URIs are relative paths into a folder and the media playlists' are bare names.
    for name, data in files.items():
        if name != "master.m3u8":
            s3.put_object(Bucket=BUCKET, Key=f"show/out/{name}", Body=data)
    master = files["master.m3u8"].replace(b"audio.m3u8", b"out/audio.m3u8").replace(b"video.m3u8", b"out/video.m3u8")
    s3.put_object(Bucket=BUCKET, Key="show/master.m3u8", Body=master)
    return s3


def source(endpoint: str, **env: str) -> StreamingMediaSource:
    base = {"AWS_ENDPOINT_URL": endpoint, "AWS_REGION": "us-east-1"}
    return StreamingMediaSource(Settings.from_env({**base, **env}))


def test_a_master_playlist_in_s3_reads_its_audio_rendition_from_the_bucket(bucket, sqs_server, files):
    # Given a master playlist in S3 whose audio rendition and segments are objects beside it
    # When it is fetched as s3://bucket/key
    audio, report = source(sqs_server.endpoint_url).fetch(f"s3://{BUCKET}/show/master.m3u8")
    # Then the audio is the rendition's, from the master, its playlist and its six segments only
    audio_segments = [k for k in files if k.startswith("a") and k.endswith(".ts")]
    assert audio.duration == pytest.approx(30, abs=0.5)
    assert report.kind == "hls" and "audio rendition" in report.reason
    assert report.requests == 1 + 1 + len(audio_segments) == 8
    playlists = len(files["master.m3u8"]) + len("out/") * 2 + len(files["audio.m3u8"])
    assert report.bytes_fetched == sum(len(files[k]) for k in audio_segments) + playlists


def test_parent_relative_uris_and_byte_ranges_resolve_inside_the_bucket(bucket, sqs_server, files):
    # Given a media playlist one folder below its segments, which live in one object read by EXT-X-BYTERANGE
    names = sorted(k for k in files if k.startswith("a") and k.endswith(".ts"))
    joined = b"".join(files[k] for k in names)
    bucket.put_object(Bucket=BUCKET, Key="single/all.ts", Body=joined)
    lines = ["#EXTM3U", "#EXT-X-VERSION:4", "#EXT-X-TARGETDURATION:6", "#EXT-X-PLAYLIST-TYPE:VOD"]
    for k in names:
        lines += ["#EXTINF:5.0,", f"#EXT-X-BYTERANGE:{len(files[k])}", "../all.ts"]
    playlist = "\n".join([*lines, "#EXT-X-ENDLIST"]) + "\n"
    bucket.put_object(Bucket=BUCKET, Key="single/lists/index.m3u8", Body=playlist.encode())
    # When it is fetched
    audio, report = source(sqs_server.endpoint_url).fetch(f"s3://{BUCKET}/single/lists/index.m3u8")
    # Then each range was read once, and together they are the whole stream
    assert audio.duration == pytest.approx(30, abs=0.5)
    assert report.requests == 1 + len(names)
    assert report.bytes_fetched - len(joined) < 2_000


def test_a_missing_segment_is_permanent_and_names_the_object(bucket, sqs_server):
    bucket.put_object(Bucket=BUCKET, Key="gone/index.m3u8", Body=media_playlist(["nowhere.ts"], [5.0]).encode())
    with pytest.raises(FetchRefused, match=rf"s3://{BUCKET}/gone/nowhere.ts.*does not exist") as caught:
        source(sqs_server.endpoint_url).fetch_audio(f"s3://{BUCKET}/gone/index.m3u8")
    assert not caught.value.retryable


def test_absolute_http_segments_of_an_s3_playlist_still_pass_the_url_guard(bucket, sqs_server, files):
    # Given a playlist in S3 whose segments are absolute URLs on a loopback server
    with FaultyMediaServer() as server:
        names = sorted(k for k in files if k.startswith("a") and k.endswith(".ts"))
        for k in names:
            server.add_bytes(f"cdn/{k}", files[k])
        playlist = media_playlist([server.url(f"cdn/{k}") for k in names], [5.0] * len(names))
        bucket.put_object(Bucket=BUCKET, Key="mixed/index.m3u8", Body=playlist.encode())
        url = f"s3://{BUCKET}/mixed/index.m3u8"
        # Then the guard refuses the loopback hop by default, before any byte of it is read ...
        with pytest.raises(UrlRejected, match="loopback"):
            source(sqs_server.endpoint_url).fetch_audio(url)
        assert not server.log
        # ... and reads it when private addresses are allowed
        audio = source(sqs_server.endpoint_url, ALLOW_PRIVATE_URLS="true").fetch_audio(url)
        assert audio.duration == pytest.approx(30, abs=0.5) and len(server.log) == len(names)


def test_a_playlist_served_over_http_may_not_point_into_s3(bucket, sqs_server):
    # Given a playlist on a web server that names an object in the bucket
    with FaultyMediaServer() as server:
        server.add_bytes("evil.m3u8", media_playlist([f"s3://{BUCKET}/show/out/a00000.ts"], [5.0]).encode())
        # Then it is refused: a stranger's playlist must not steer the role's S3 rights
        with pytest.raises(BadPlaylist, match="only a playlist stored in S3 may point into S3") as caught:
            source(sqs_server.endpoint_url, ALLOW_PRIVATE_URLS="true").fetch_audio(server.url("evil.m3u8"))
        assert not caught.value.retryable
