"""A front for moto's S3 that answers chosen keys with S3's own error responses.

moto serves real S3 semantics (NoSuchKey, NoSuchBucket, ranged GetObject) but, without IAM enforcement
for the whole server, no AccessDenied, and it never throttles. This front passes every request through to
moto, except GETs of the objects it was told to fail, which get S3's XML error body and status:

    with S3FaultFront(moto_endpoint) as front:
        front.fail("bucket", "key", 403, "AccessDenied")
        front.fail("bucket", "hot", 503, "SlowDown")
        boto3.client("s3", endpoint_url=front.endpoint_url, ...)
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote, urlsplit

import requests

_HOP = {"host", "content-length", "transfer-encoding", "connection", "keep-alive"}


class S3FaultFront:
    def __init__(self, upstream: str) -> None:
        self.upstream = upstream.rstrip("/")
        self.faults: dict[tuple[str, str], tuple[int, str]] = {}
        self.failed = 0
        front = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def log_message(self, *args: object) -> None:
                pass

            def _forward(self) -> None:
                path = urlsplit(self.path).path
                bucket, _, key = unquote(path).lstrip("/").partition("/")
                fault = front.faults.get((bucket, key)) if self.command == "GET" else None
                if fault is not None:
                    status, code = fault
                    with front._lock:
                        front.failed += 1
                    body = (f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code>'
                            f"<Message>{code}</Message><Key>{key}</Key></Error>").encode()
                    self.send_response(status)
                    self.send_header("Content-Type", "application/xml")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                    return
                length = int(self.headers.get("Content-Length") or 0)
                data = self.rfile.read(length) if length else None
                headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP}
                resp = requests.request(self.command, front.upstream + self.path, headers=headers, data=data,
                                        timeout=30)
                self.send_response(resp.status_code)
                for k, v in resp.headers.items():
                    if k.lower() not in _HOP:
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(resp.content)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(resp.content)

            do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = _forward

        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self.endpoint_url = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)

    def fail(self, bucket: str, key: str, status: int, code: str) -> None:
        self.faults[(bucket, key)] = (status, code)

    def __enter__(self) -> S3FaultFront:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
