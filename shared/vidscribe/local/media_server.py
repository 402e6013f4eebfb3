"""A small local HTTP media server: serves files under one folder with single-range support.

The demo serves the bundled samples with it; the integration tests extend it with fault injection
(``tests/support/media_server.py``). It answers ``GET`` and ``HEAD``; ``Range: bytes=a-b``,
``bytes=a-`` and ``bytes=-n`` get ``206 Partial Content`` (``416`` when unsatisfiable); other range
forms (several ranges, bad syntax) are ignored and the whole file is sent, as RFC 9110 allows.
With ``range_support=False`` it behaves like a server that knows nothing about ranges.

Only regular files inside ``root`` are served: ``..``, absolute paths, encoded separators and
symbolic links leading outside the root all get 404.

    with MediaServer(samples_dir()) as server:
        url = server.url("sample-1.mp4")
"""

from __future__ import annotations

import mimetypes
import threading
from collections.abc import Iterator
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import quote, unquote, urlsplit

CHUNK = 64 * 1024

CONTENT_TYPES = {
    ".mp4": "video/mp4",
    ".m4v": "video/mp4",
    ".m4a": "audio/mp4",
    ".mov": "video/quicktime",
    ".webm": "video/webm",
    ".mkv": "video/x-matroska",
    ".mp3": "audio/mpeg",
    ".ogg": "audio/ogg",
    ".opus": "audio/ogg",
    ".oga": "audio/ogg",
    ".wav": "audio/wav",
    ".flac": "audio/flac",
    ".ts": "video/mp2t",
    ".json": "application/json",
    ".html": "text/html; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
}


def content_type_for(name: str) -> str:
    suffix = Path(name).suffix.lower()
    return CONTENT_TYPES.get(suffix) or mimetypes.guess_type(name)[0] or "application/octet-stream"


class Resource(Protocol):
    """Something the server can send: a size, a content type and random access to its bytes."""

    # Read-only: the server never sets them (a resource may compute its size).
    @property
    def size(self) -> int: ...

    @property
    def content_type(self) -> str: ...

    def read_at(self, offset: int, n: int) -> bytes: ...


class FileResource:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.size = path.stat().st_size
        self.content_type = content_type_for(path.name)

    def read_at(self, offset: int, n: int) -> bytes:
        with self.path.open("rb") as f:
            f.seek(offset)
            return f.read(n)

    def chunks(self, offset: int, length: int) -> Iterator[bytes]:
        with self.path.open("rb") as f:
            f.seek(offset)
            while length > 0:
                data = f.read(min(CHUNK, length))
                if not data:
                    return
                length -= len(data)
                yield data


def parse_range(header: str | None, size: int) -> tuple[int, int] | str | None:
    """A ``Range`` header against a resource of ``size`` bytes.

    Returns (first, last) inclusive for a satisfiable single range, ``"unsatisfiable"`` for 416,
    and None when the header is absent or should be ignored (several ranges, bad syntax).
    """
    if not header:
        return None
    unit, _, spec = header.strip().partition("=")
    if unit.strip().lower() != "bytes" or "," in spec:
        return None
    first_s, dash, last_s = spec.strip().partition("-")
    if not dash:
        return None
    first_s, last_s = first_s.strip(), last_s.strip()
    if not (first_s.isdigit() or first_s == "") or not (last_s.isdigit() or last_s == ""):
        return None
    if first_s == "":  # suffix: the last n bytes
        if last_s == "":
            return None
        n = int(last_s)
        if n == 0 or size == 0:
            return "unsatisfiable"
        return max(0, size - n), size - 1
    first = int(first_s)
    if last_s and int(last_s) < first:
        return None  # invalid: ignore the header
    if first >= size:
        return "unsatisfiable"
    last = int(last_s) if last_s else size - 1
    return first, min(last, size - 1)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: a Range reader makes many requests
    disable_nagle_algorithm = True  # or each small response waits ~40 ms for a delayed ACK
    timeout = 60  # an idle keep-alive connection is closed after this long
    server: _Server

    def do_GET(self) -> None:
        self.server.media._handle(self, head_only=False)

    def do_HEAD(self) -> None:
        self.server.media._handle(self, head_only=True)

    def log_message(self, format: str, *args: object) -> None:
        pass  # quiet: the tests and the demo print what matters themselves


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    media: MediaServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client hanging up mid-body is normal for a media server; do not print tracebacks


class MediaServer:
    """Serve the files under ``root`` over HTTP from a daemon thread.

    ``bytes_sent`` (body bytes) and ``requests`` are counted across all connections.
    """

    def __init__(self, root: Path | str, host: str = "127.0.0.1", port: int = 0, range_support: bool = True) -> None:
        self.root = Path(root).resolve()
        self.host = host
        self.port = port
        self.range_support = range_support
        self._lock = threading.Lock()
        self._bytes_sent = 0
        self._requests = 0
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None
        self.stopping = threading.Event()  # set by stop(); slow responses wait on it

    # --- lifecycle -------------------------------------------------------------------------------
    def start(self) -> MediaServer:
        if self._httpd is not None:
            return self
        self.stopping.clear()
        httpd = _Server((self.host, self.port), _Handler)
        httpd.media = self
        self._httpd = httpd
        self.port = httpd.server_address[1]
        self._thread = threading.Thread(
            target=httpd.serve_forever, kwargs={"poll_interval": 0.1}, name=f"media-server-{self.port}", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        self.stopping.set()
        httpd.shutdown()
        httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> MediaServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- addresses and counters ------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        if self._httpd is None:
            raise RuntimeError("the media server is not running")
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def url(self, name: str) -> str:
        return f"{self.base_url}/{quote(name.lstrip('/'))}"

    @property
    def bytes_sent(self) -> int:
        with self._lock:
            return self._bytes_sent

    @property
    def requests(self) -> int:
        with self._lock:
            return self._requests

    def reset_counters(self) -> None:
        with self._lock:
            self._bytes_sent = 0
            self._requests = 0

    def count_sent(self, n: int) -> None:
        with self._lock:
            self._bytes_sent += n

    # --- serving ---------------------------------------------------------------------------------
    def lookup(self, name: str) -> Resource | None:
        """The resource for a request path's name (already URL-decoded, no leading slash)."""
        if not name or "\\" in name or "\x00" in name:
            return None
        parts = name.split("/")
        if any(part in ("", ".", "..") for part in parts):
            return None
        candidate = self.root.joinpath(*parts)
        try:
            resolved = candidate.resolve(strict=True)
        except (OSError, RuntimeError):
            return None
        if not resolved.is_relative_to(self.root) or not resolved.is_file():
            return None
        return FileResource(resolved)

    def intercept(self, handler: BaseHTTPRequestHandler, name: str, head_only: bool) -> bool:
        """A hook run before serving: return True after answering the request yourself."""
        return False

    def ranges_enabled(self, name: str) -> bool:
        return self.range_support

    def send_body(
        self, handler: BaseHTTPRequestHandler, name: str, resource: Resource, first: int, length: int
    ) -> None:
        """Write ``length`` bytes of ``resource`` from ``first``; subclasses may pace or cut it."""
        chunks = (
            resource.chunks(first, length)
            if hasattr(resource, "chunks")
            else _chunks_of(resource, first, length)
        )
        for chunk in chunks:
            handler.wfile.write(chunk)
            self.count_sent(len(chunk))

    def _handle(self, handler: BaseHTTPRequestHandler, head_only: bool) -> None:
        with self._lock:
            self._requests += 1
        path = urlsplit(handler.path).path
        name = unquote(path).lstrip("/")
        if self.intercept(handler, name, head_only):
            return
        resource = self.lookup(name)
        if resource is None:
            send_simple(handler, HTTPStatus.NOT_FOUND, head_only)
            return
        size = resource.size
        ranges = self.ranges_enabled(name)
        wanted = parse_range(handler.headers.get("Range"), size) if ranges else None
        if isinstance(wanted, str):  # "unsatisfiable"
            handler.send_response(HTTPStatus.REQUESTED_RANGE_NOT_SATISFIABLE)
            handler.send_header("Content-Range", f"bytes */{size}")
            handler.send_header("Accept-Ranges", "bytes")
            handler.send_header("Content-Length", "0")
            handler.end_headers()
            return
        if wanted is None:
            first, length = 0, size
            handler.send_response(HTTPStatus.OK)
        else:
            first, last = wanted
            length = last - first + 1
            handler.send_response(HTTPStatus.PARTIAL_CONTENT)
            handler.send_header("Content-Range", f"bytes {first}-{last}/{size}")
        if ranges:
            handler.send_header("Accept-Ranges", "bytes")
        handler.send_header("Content-Type", resource.content_type)
        handler.send_header("Content-Length", str(length))
        handler.end_headers()
        if not head_only and length:
            self.send_body(handler, name, resource, first, length)


def _chunks_of(resource: Resource, first: int, length: int) -> Iterator[bytes]:
    offset, end = first, first + length
    while offset < end:
        data = resource.read_at(offset, min(CHUNK, end - offset))
        if not data:
            return
        offset += len(data)
        yield data


def send_simple(
    handler: BaseHTTPRequestHandler,
    status: int,
    head_only: bool = False,
    body: bytes | None = None,
    content_type: str = "text/plain; charset=utf-8",
    headers: dict[str, str] | None = None,
) -> None:
    """A complete small response (an error page, a redirect)."""
    if body is None:
        body = f"{int(status)} {HTTPStatus(status).phrase}\n".encode()
    handler.send_response(status)
    for key, value in (headers or {}).items():
        handler.send_header(key, value)
    handler.send_header("Content-Type", content_type)
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    if not head_only:
        handler.wfile.write(body)
