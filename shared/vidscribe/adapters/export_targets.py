"""Where ``vidscribe export`` writes: a local directory or an S3 prefix (``ports.ExportTarget``).

A file's name comes from its video id (``file_name``): percent-encoded with the standard library's
``urllib.parse.quote``, so any id (slashes, ``..``, control characters, any script) becomes one
name in one directory, and two ids never share a name (unquoting gives the id back). ``.`` leading a
name and ``~`` are encoded too, so no name is hidden, ``.`` or ``..``, and only a shortened name
holds ``~``: an id whose name would pass ``_MAX_NAME`` bytes keeps its first part and ends with
``~`` and the SHA-256 of the whole id.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import quote

import botocore.exceptions

# Linux allows 255 bytes in a name; room is left for the extension and a temporary file's affixes.
_MAX_NAME = 200
_KEPT = 160
_CONTENT_TYPES = {
    "txt": "text/plain; charset=utf-8",
    "json": "application/json",
    "srt": "application/x-subrip; charset=utf-8",
    "vtt": "text/vtt; charset=utf-8",
}


def _quoted(text: str) -> str:
    name = quote(text, safe="", errors="surrogatepass").replace("~", "%7E")
    return "%2E" + name[1:] if name.startswith(".") else name


def file_name(video_id: str, fmt: str) -> str:
    """The export file's name for ``video_id``: safe in any file system directory and S3 key, unique
    per id."""
    name = _quoted(video_id)
    if len(name) > _MAX_NAME:
        # The longest start of the id, whole characters, whose name fits; then the whole id's hash.
        kept, size = 0, 0
        for character in video_id:
            size += len(_quoted(character))
            if size > _KEPT:
                break
            kept += 1
        digest = hashlib.sha256(video_id.encode("utf-8", "surrogatepass")).hexdigest()
        name = f"{_quoted(video_id[:kept])}~{digest}"
    return f"{name}.{fmt}"


class DirectoryTarget:
    """Files in one directory, each written to a temporary file beside it, synced, then renamed over
    the old one (``os.replace``): a crash leaves the old file or the new one, and a ``.*.part`` file
    at worst, never half a file under the real name."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)

    def is_current(self, name: str, data: bytes) -> bool:
        path = self.directory / name
        try:
            return path.stat().st_size == len(data) and path.read_bytes() == data
        except FileNotFoundError:
            return False

    def write(self, name: str, data: bytes) -> None:
        fd, temporary = tempfile.mkstemp(dir=self.directory, prefix=".", suffix=".part")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temporary, self.directory / name)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temporary)
            raise


class S3Target:
    """Objects under ``s3://bucket/prefix``: a PutObject is atomic by itself (a reader sees the old
    object or the new). Each object carries its content's SHA-256 as metadata, so that a resumed
    export knows it current from a HeadObject without reading it back."""

    def __init__(self, client: Any, bucket: str, prefix: str) -> None:
        self.client, self.bucket = client, bucket
        self.prefix = prefix if not prefix or prefix.endswith("/") else prefix + "/"

    def is_current(self, name: str, data: bytes) -> bool:
        try:
            head = self.client.head_object(Bucket=self.bucket, Key=self.prefix + name)
        except botocore.exceptions.ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise
        return bool(head.get("Metadata", {}).get("sha256") == hashlib.sha256(data).hexdigest())

    def write(self, name: str, data: bytes) -> None:
        self.client.put_object(
            Bucket=self.bucket,
            Key=self.prefix + name,
            Body=data,
            ContentType=_CONTENT_TYPES.get(name.rsplit(".", 1)[-1], "application/octet-stream"),
            Metadata={"sha256": hashlib.sha256(data).hexdigest()},
        )
