"""S3 sources: ``s3://bucket/key`` and S3's https URLs, read with boto3 ranged ``GetObject``.

The same plans as over HTTP apply (an MP4's audio chunks only, or the whole file with several requests
in flight): the first ranged GetObject learns the size (:meth:`S3RangeClient.first_answer`), the rest
are ranged GetObjects too, one :class:`S3RangeClient` per connection of the parallel reader. The client
honours ``AWS_ENDPOINT_URL`` (moto's S3 in the tests and the local runtime) and signs with the
function's role in AWS, which the stack grants ``s3:GetObject`` on the ``mediaBuckets`` only.

Errors: ``NoSuchKey``, ``NoSuchBucket``, ``AccessDenied`` (and any other 4xx) are permanent
(:class:`FetchRefused`, with S3's error code as its ``code``); throttling (``SlowDown``, 503), 5xx and
network failures are retryable (:class:`FetchError`), after botocore's own few retries. Without
``s3:ListBucket``, S3 answers a missing key with ``AccessDenied``: both are permanent, and the message
says so.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from ....config import Settings
from ....errors import FetchError, FetchRefused, MediaTooLarge, VidscribeError
from ..deadline import Deadline
from ..sizes import human_bytes
from ..urlguard import S3Location
from .ranges import FirstAnswer, LinkMeter, Tally

_PERMANENT_HINTS = {
    "NoSuchKey": "the object does not exist",
    "NoSuchBucket": "the bucket does not exist",
    "AccessDenied": (
        "access denied: the transcriber's role needs s3:GetObject on this bucket (the stack's mediaBuckets); "
        "without s3:ListBucket S3 also answers AccessDenied for a key that does not exist"
    ),
    "InvalidObjectState": "the object is archived (Glacier): restore it first",
}
_STEP = 256 * 1024

_clients: dict[tuple[str | None, str, int], Any] = {}
_clients_lock = threading.Lock()


def s3_client(settings: Settings, region: str | None) -> Any:
    """One boto3 S3 client per region and endpoint (clients are thread-safe and slow to build)."""
    key = (settings.aws_endpoint_url, region or settings.aws_region, settings.fetch_connections)
    with _clients_lock:
        if key not in _clients:
            config = Config(
                retries={"max_attempts": 3, "mode": "standard"},
                connect_timeout=settings.http_connect_timeout,
                read_timeout=settings.http_read_timeout,
                max_pool_connections=settings.fetch_connections + 2,
                s3={"addressing_style": "path"} if settings.aws_endpoint_url else {},
            )
            _clients[key] = boto3.client(
                "s3", region_name=key[1], endpoint_url=settings.aws_endpoint_url, config=config
            )
        return _clients[key]


def s3_error(exc: Exception, where: S3Location) -> VidscribeError:
    """The pipeline's error for what boto3 raised; a refusal keeps S3's error ``code`` (``AccessDenied``)."""
    name = f"s3://{where.bucket}/{where.key}"
    if isinstance(exc, ClientError):
        code = str(exc.response.get("Error", {}).get("Code") or "")
        status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
        what = f"S3 answered {code or status} for {name!r}"
        if code in ("SlowDown", "Throttling", "ThrottlingException", "RequestTimeout") or status in (429, 0) or (
            status >= 500
        ):
            return FetchError(f"{what}: throttled or unavailable, try again later")
        by_status = {404: "NoSuchKey", 403: "AccessDenied"}.get(status, "")
        hint = _PERMANENT_HINTS.get(code) or _PERMANENT_HINTS.get(by_status, "")
        return FetchRefused(f"{what}{': ' + hint if hint else ''}", code=code)
    return FetchError(f"cannot read {name!r} from S3: {exc}")


class S3RangeClient:
    """Ranged GetObject of one object (boto3 clients are thread-safe: workers share one), within the fetch's
    ``deadline``; requests and bytes counted in its ``tally``, timings in its ``meter``."""

    def __init__(
        self,
        client: Any,
        where: S3Location,
        size: int | None,
        *,
        deadline: Deadline,
        tally: Tally,
        meter: LinkMeter | None = None,
    ) -> None:
        self._client = client
        self._where = where
        self._size = size
        self._deadline = deadline
        self._tally = tally
        self._meter = meter

    def get(self, start: int, length: int | None) -> dict[str, Any]:
        """The GetObject response for ``length`` bytes from ``start`` (None: the whole object)."""
        self._deadline.check()
        self._tally.request()
        ranged = {} if length is None else {"Range": f"bytes={start}-{start + length - 1}"}
        try:
            response: dict[str, Any] = self._client.get_object(
                Bucket=self._where.bucket, Key=self._where.key, **ranged
            )
        except (ClientError, BotoCoreError) as exc:
            raise s3_error(exc, self._where) from None
        return response

    def read(self, response: dict[str, Any], length: int) -> bytes:
        body = response["Body"]
        chunks: list[bytes] = []
        got = 0
        try:
            while got < length:
                self._deadline.check()
                chunk = body.read(min(_STEP, length - got))
                if not chunk:
                    break
                chunks.append(chunk)
                got += len(chunk)
                self._tally.received(len(chunk))
        except (BotoCoreError, OSError) as exc:
            raise FetchError(
                f"the connection to S3 failed mid-transfer for s3://{self._where.bucket}/...: {exc}"
            ) from None
        finally:
            body.close()
        return b"".join(chunks)

    def fetch(self, start: int, length: int) -> bytes:
        started = time.monotonic()
        response = self.get(start, length)
        headers_at = time.monotonic()
        data = self.read(response, length)
        if self._meter is not None:
            self._meter.record(headers_at - started, len(data), time.monotonic() - headers_at)
        if len(data) < length:
            raise FetchError(
                f"S3 sent {len(data)} of {length} bytes at offset {start} of s3://{self._where.bucket}/...: "
                f"the connection closed early"
            )
        return data

    def stream(
        self, start: int, length: int | None, cap: int, sink: Callable[[bytes], None], what: str, limit: str = ""
    ) -> None:
        """``length`` bytes from ``start`` (None: the whole object) into ``sink`` as they arrive: an HLS
        segment or init section. MediaTooLarge past ``cap`` bytes (the setting ``limit``), before reading:
        S3 says the size."""
        name = f"s3://{self._where.bucket}/{self._where.key}"

        def too_large(size: int) -> MediaTooLarge:
            source = f" ({limit})" if limit else ""
            allowed = f"the {human_bytes(cap)} allowed{source}"
            return MediaTooLarge(f"{what} {name} is {human_bytes(size)}, more than {allowed}")

        if length is not None and length > cap:
            raise too_large(length)
        response = self.get(start, length)
        body = response["Body"]
        size = int(response.get("ContentLength") or 0)
        got = 0
        try:
            if size > cap:
                raise too_large(size)
            while got < size:
                self._deadline.check()
                chunk = body.read(min(_STEP, size - got))
                if not chunk:
                    break
                got += len(chunk)
                self._tally.received(len(chunk))
                sink(chunk)
        except (BotoCoreError, OSError) as exc:
            where = f"s3://{self._where.bucket}/..."
            raise FetchError(f"the connection to S3 failed mid-transfer for {where}: {exc}") from None
        finally:
            body.close()
        expected = size if length is None else length
        if got < expected:
            raise FetchError(
                f"S3 sent {got} of {expected} bytes of s3://{self._where.bucket}/...: the connection closed early"
            )

    def first_answer(self, first_bytes: int, max_bytes: int) -> FirstAnswer:
        """A fetch's first ranged GetObject: the object's size, first bytes and content type (this client then
        knows the size, for whoever reads on with it). MediaTooLarge past ``max_bytes``."""
        try:
            started = time.monotonic()
            response = self.get(0, first_bytes)
        except FetchRefused as exc:
            if exc.code == "InvalidRange":  # a range of an empty object
                return FirstAnswer(0, b"", None)
            raise
        headers_at = time.monotonic()
        content_range = str(response.get("ContentRange") or "")
        total = content_range.rpartition("/")[2]
        size = int(total) if total.isdigit() else int(response.get("ContentLength") or 0)
        if size > max_bytes:
            response["Body"].close()
            raise MediaTooLarge(
                f"the media at s3://{self._where.bucket}/{self._where.key} is {human_bytes(size)}, more than the "
                f"{human_bytes(max_bytes)} allowed (MAX_MEDIA_BYTES)"
            )
        want = min(first_bytes, size)
        head = self.read(response, want)
        if self._meter is not None:
            self._meter.record(headers_at - started, len(head), time.monotonic() - headers_at)
        if len(head) < want:
            raise FetchError(
                f"S3 sent {len(head)} of {want} bytes of s3://{self._where.bucket}/...: the connection closed early"
            )
        self._size = size
        return FirstAnswer(size, head, response.get("ContentType"))

    def close(self) -> None:
        pass
