"""S3 sources against moto's real S3 endpoint (the suite's moto server, as AWS_ENDPOINT_URL):
``s3://bucket/key`` and the virtual-hosted https form, the same audio-only plans as over HTTP, and the
errors S3 answers, each with its permanence. AccessDenied and SlowDown come from a front that answers
chosen keys with S3's own XML errors (moto enforces no IAM and never throttles)."""

from __future__ import annotations

import ipaddress
import uuid

import boto3
import numpy as np
import pytest

from tests.support.media_factory import load_sample_audio, make_noise_video
from tests.support.mp4_rechunk import rechunk
from tests.support.s3_faults import S3FaultFront
from vidscribe.adapters.media import StreamingMediaSource, decode_audio
from vidscribe.adapters.media.urlguard import check_url, s3_location
from vidscribe.config import Settings
from vidscribe.errors import FetchError, FetchRefused, NotMedia, UrlRejected

BUCKET = f"media-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="module")
def speech() -> np.ndarray:
    return load_sample_audio()


@pytest.fixture(scope="module")
def camera_mp4(speech) -> bytes:
    return rechunk(make_noise_video(4_000_000, 40, audio_from=speech, faststart=False, audio_bitrate=64_000))


@pytest.fixture(scope="module")
def bucket(sqs_server, camera_mp4, speech):
    s3 = boto3.client("s3", region_name="us-east-1", endpoint_url=sqs_server.endpoint_url)
    s3.create_bucket(Bucket=BUCKET)
    s3.put_object(Bucket=BUCKET, Key="talks/camera.mp4", Body=camera_mp4, ContentType="video/mp4")
    s3.put_object(Bucket=BUCKET, Key="page.mp4", Body=b"<!doctype html><html>sign in</html>", ContentType="text/html")
    s3.put_object(Bucket=BUCKET, Key="empty.mp4", Body=b"")
    return s3


def source(endpoint: str, **env: str) -> StreamingMediaSource:
    base = {"AWS_ENDPOINT_URL": endpoint, "AWS_REGION": "us-east-1", "READ_AHEAD_BYTES": "65536"}
    return StreamingMediaSource(Settings.from_env({**base, **env}))


def test_an_s3_mp4_is_read_audio_only_and_decodes_like_the_file(bucket, sqs_server, camera_mp4):
    # Given a camera-style MP4 in a bucket
    # When it is fetched as s3://bucket/key
    audio, report = source(sqs_server.endpoint_url).fetch(f"s3://{BUCKET}/talks/camera.mp4")
    # Then only its index and audio chunks were read, and the audio is the file's, sample for sample
    import io

    assert report.kind == "audio-only"
    assert report.bytes_fetched <= 1.3 * (report.audio_bytes + report.index_bytes)
    assert report.bytes_fetched < len(camera_mp4) / 10
    assert np.array_equal(audio.samples, decode_audio(io.BytesIO(camera_mp4), max_duration_seconds=99).samples)
    assert audio.source_bytes == report.bytes_fetched


def test_the_virtual_hosted_https_form_reads_the_same_object(bucket, sqs_server):
    url = f"https://{BUCKET}.s3.us-east-1.amazonaws.com/talks/camera.mp4"
    where = s3_location(url)
    assert (where.bucket, where.key, where.region) == (BUCKET, "talks/camera.mp4", "us-east-1")
    audio, report = source(sqs_server.endpoint_url).fetch(url)
    assert report.kind == "audio-only" and audio.duration == pytest.approx(40, abs=0.3)


def test_whole_file_over_s3_uses_several_ranged_requests(bucket, sqs_server, camera_mp4):
    _, report = source(sqs_server.endpoint_url, FETCH_STRATEGY="whole-file", READ_AHEAD_BYTES="262144").fetch(
        f"s3://{BUCKET}/talks/camera.mp4"
    )
    assert report.kind == "whole-file"
    assert len(camera_mp4) <= report.bytes_fetched <= len(camera_mp4) + 64 * 1024
    assert report.requests >= len(camera_mp4) // 262144


def test_missing_objects_and_buckets_are_permanent(bucket, sqs_server):
    media = source(sqs_server.endpoint_url)
    with pytest.raises(FetchRefused, match="NoSuchKey.*does not exist") as caught:
        media.fetch_audio(f"s3://{BUCKET}/no/such/key.mp4")
    assert not caught.value.retryable
    with pytest.raises(FetchRefused, match="NoSuchBucket"):
        media.fetch_audio(f"s3://no-such-bucket-{uuid.uuid4().hex[:6]}/key.mp4")


def test_html_and_empty_objects_are_not_media(bucket, sqs_server):
    media = source(sqs_server.endpoint_url)
    with pytest.raises(NotMedia, match="text/html"):
        media.fetch_audio(f"s3://{BUCKET}/page.mp4")
    with pytest.raises(NotMedia, match="empty"):
        media.fetch_audio(f"s3://{BUCKET}/empty.mp4")


def test_access_denied_is_permanent_and_throttling_is_retryable(bucket, sqs_server):
    with S3FaultFront(sqs_server.endpoint_url) as front:
        front.fail(BUCKET, "locked.mp4", 403, "AccessDenied")
        front.fail(BUCKET, "hot.mp4", 503, "SlowDown")
        media = source(front.endpoint_url)
        # The front passes everything else through to moto
        assert media.fetch_audio(f"s3://{BUCKET}/talks/camera.mp4").duration == pytest.approx(40, abs=0.3)
        with pytest.raises(FetchRefused, match="AccessDenied.*s3:GetObject") as denied:
            media.fetch_audio(f"s3://{BUCKET}/locked.mp4")
        assert not denied.value.retryable
        failed = front.failed
        with pytest.raises(FetchError, match="SlowDown.*throttled") as throttled:
            media.fetch_audio(f"s3://{BUCKET}/hot.mp4")
        assert throttled.value.retryable
        assert front.failed - failed == 4  # the first try and botocore's 3 retries; then ours: SQS redrive


def test_an_https_s3_url_the_role_may_not_read_is_tried_once_as_a_plain_url(bucket, sqs_server):
    # Given an object S3 refuses to the role (AccessDenied), named by its https URL and by s3://
    asked: list[str] = []

    def resolver(host: str, port: int):
        asked.append(host)
        return [ipaddress.ip_address("127.0.0.1")]

    with S3FaultFront(sqs_server.endpoint_url) as front:
        front.fail(BUCKET, "locked.mp4", 403, "AccessDenied")
        settings = Settings.from_env({"AWS_ENDPOINT_URL": front.endpoint_url, "AWS_REGION": "us-east-1"})
        media = StreamingMediaSource(settings, resolver=resolver)
        # When the https URL is fetched, then after S3's refusal (its code, not its words) the URL is read
        # as given over https: here its name resolves to a loopback address, which the guard refuses
        with pytest.raises(UrlRejected, match="loopback"):
            media.fetch_audio(f"https://{BUCKET}.s3.amazonaws.com/locked.mp4")
        assert asked == [f"{BUCKET}.s3.amazonaws.com"]
        # And the s3:// URL, which names no public address, ends with S3's refusal
        with pytest.raises(FetchRefused, match="AccessDenied") as denied:
            media.fetch_audio(f"s3://{BUCKET}/locked.mp4")
    assert denied.value.code == "AccessDenied" and asked == [f"{BUCKET}.s3.amazonaws.com"]


def test_the_guard_accepts_s3_objects_and_refuses_malformed_ones():
    check_url("s3://media-bucket/a/b.mp4", allow_private=False)
    check_url("https://media-bucket.s3.eu-west-1.amazonaws.com/a.mp4", allow_private=False)  # no DNS needed
    for bad in ("s3://Bad_Bucket/k.mp4", "s3://media-bucket/", "s3://ab/k", "s3:///k.mp4"):
        with pytest.raises(UrlRejected, match="S3"):
            check_url(bad, allow_private=False)
    # A presigned https URL is HTTP's business (its signature is its permission), not boto3's
    assert s3_location("https://b.s3.amazonaws.com/k.mp4?X-Amz-Signature=abc&X-Amz-Expires=60") is None
