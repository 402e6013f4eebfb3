"""The product's local media server, plus fault injection for tests.

    with FaultyMediaServer() as server:
        server.add_bytes("clip.mp4", data)
        server.fail_first("clip.mp4", 503)         # 503 once, then the file
        server.always_fail("gone.mp4", 404)
        server.add_html("page.mp4")                # 200 text/html
        server.trickle("slow.mp4", data, chunk=64, interval=0.05)
        server.redirect("a", "b"); server.redirect("b", "clip.mp4")   # a -> b -> clip.mp4
        server.no_range("clip.mp4")                # ignore Range for this name
        server.stall_after("x.mp4", 1000)          # 1000 body bytes, then silence
        server.disconnect_after("y.mp4", 1000)     # 1000 body bytes, then hang up
        server.slow_head("h.mp4", interval=1.0)    # the status line and headers one byte a second
        server.endless_continue("c.mp4")           # "100 Continue" for ever, never a final answer
        server.unsized("u.mp4")                    # 200 with no Content-Length: the body ends at close
        server.bad_header("b.mp4", "Content-Length", "²")   # 200 with that header (and the body)
        reader = ...(server.url("a"))
        server.hits("clip.mp4")                     # requests that reached this name

Resources can be bytes, a file on disk, or a *virtual file* (anything with ``size``,
``content_type`` and ``read_at(offset, n)``) so big generated media never sits in memory.
"""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from vidscribe.local.media_server import FileResource, MediaServer, Resource, content_type_for, send_simple


@dataclass
class BytesResource:
    data: bytes
    content_type: str

    @property
    def size(self) -> int:
        return len(self.data)

    def read_at(self, offset: int, n: int) -> bytes:
        return self.data[offset : offset + n]


class FaultyMediaServer(MediaServer):
    def __init__(self, root: Path | str | None = None, **kwargs) -> None:
        super().__init__(root or Path(__file__).parent, **kwargs)
        self._resources: dict[str, Resource] = {}
        self._fail_once: dict[str, list[int]] = {}
        self._fail_always: dict[str, int] = {}
        self._redirects: dict[str, tuple[str, int]] = {}
        self._trickle: dict[str, tuple[int, float]] = {}
        self._stall_after: dict[str, int] = {}
        self._disconnect_after: dict[str, int] = {}
        self._no_range: set[str] = set()
        self._slow_head: dict[str, float] = {}
        self._endless_continue: dict[str, float] = {}
        self._unsized: set[str] = set()
        self._bad_headers: dict[str, tuple[str, str]] = {}
        self._fail_ranges: dict[str, list[tuple[int, int]]] = {}  # name -> [(from offset, status)]
        self._hits: Counter[str] = Counter()
        self.log: list[tuple[str, str, str | None]] = []  # (method, name, Range header)
        self._faults = threading.Lock()

    # --- what to serve ---------------------------------------------------------------------------
    def add_bytes(self, name: str, data: bytes, content_type: str | None = None) -> None:
        self._resources[name] = BytesResource(data, content_type or content_type_for(name))

    def add_file(self, name: str, path: Path | str) -> None:
        self._resources[name] = FileResource(Path(path))

    def add_virtual(self, name: str, resource: Resource) -> None:
        """Serve any object with ``size``, ``content_type`` and ``read_at(offset, n)``."""
        self._resources[name] = resource

    def add_html(self, name: str, html: str = "<!doctype html>\n<html><body>Sign in to watch</body></html>\n") -> None:
        self.add_bytes(name, html.encode(), "text/html; charset=utf-8")

    # --- faults ----------------------------------------------------------------------------------
    def fail_first(self, name: str, status: int, times: int = 1) -> None:
        """Answer ``status`` to the next ``times`` requests for ``name``, then serve it normally."""
        self._fail_once[name] = [status] * times

    def always_fail(self, name: str, status: int) -> None:
        self._fail_always[name] = status

    def heal(self, name: str) -> None:
        """Stop failing ``name``: the server was fixed."""
        with self._faults:
            self._fail_once.pop(name, None)
            self._fail_always.pop(name, None)

    def redirect(self, name: str, target: str, status: int = 302) -> None:
        """``name`` redirects to ``target``: another name on this server or an absolute URL."""
        self._redirects[name] = (target, status)

    def trickle(self, name: str, data: bytes | None = None, *, chunk: int = 64, interval: float = 0.05) -> None:
        """Send ``name``'s body ``chunk`` bytes at a time, ``interval`` seconds apart."""
        if data is not None:
            self.add_bytes(name, data)
        self._trickle[name] = (chunk, interval)

    def stall_after(self, name: str, n_bytes: int) -> None:
        """Send the headers and ``n_bytes`` of the body, then go silent until the server stops."""
        self._stall_after[name] = n_bytes

    def disconnect_after(self, name: str, n_bytes: int) -> None:
        """Send the headers (full Content-Length) and ``n_bytes`` of the body, then hang up."""
        self._disconnect_after[name] = n_bytes

    def fail_ranges_from(self, name: str, offset: int, status: int, times: int = 1_000_000) -> None:
        """Answer ``status`` to the next ``times`` Range requests for ``name`` that start at ``offset`` or
        later (the first request of a reader, at offset 0, goes through)."""
        self._fail_ranges[name] = [(offset, status)] * times

    def no_range(self, name: str) -> None:
        self._no_range.add(name)

    def slow_head(self, name: str, *, interval: float = 1.0) -> None:
        """Send the status line and headers one byte every ``interval`` seconds, for ever (never idle
        for a read timeout, never done)."""
        self._slow_head[name] = interval

    def endless_continue(self, name: str, *, interval: float = 0.01) -> None:
        """Answer ``100 Continue`` every ``interval`` seconds, for ever, and never the final response."""
        self._endless_continue[name] = interval

    def unsized(self, name: str) -> None:
        """Serve ``name`` whole with 200 and no Content-Length: the body ends when the connection closes
        (what a server generating a stream sends), so its size is known only once it has all arrived."""
        self._unsized.add(name)

    def bad_header(self, name: str, header: str, value: str) -> None:
        """Serve ``name`` whole with 200 and ``header: value`` instead of the right one."""
        self._bad_headers[name] = (header, value)

    def hits(self, name: str) -> int:
        with self._faults:
            return self._hits[name]

    # --- hooks into the product server -----------------------------------------------------------
    def lookup(self, name: str) -> Resource | None:
        return self._resources.get(name) or super().lookup(name)

    def ranges_enabled(self, name: str) -> bool:
        return self.range_support and name not in self._no_range

    def intercept(self, handler, name: str, head_only: bool) -> bool:
        with self._faults:
            self._hits[name] += 1
            self.log.append((handler.command, name, handler.headers.get("Range")))
            pending = self._fail_once.get(name)
            status = pending.pop(0) if pending else self._fail_always.get(name)
            ranged = self._fail_ranges.get(name)
            start = (handler.headers.get("Range") or "").partition("=")[2].partition("-")[0]
            if status is None and ranged and start.isdigit() and int(start) >= ranged[0][0]:
                status = ranged.pop(0)[1]
        if status is not None:
            send_simple(handler, status, head_only)
            return True
        if name in self._redirects:
            target, code = self._redirects[name]
            location = target if "://" in target else "/" + target
            send_simple(handler, code, head_only, headers={"Location": location})
            return True
        return self._raw_answer(handler, name)

    def _raw_answer(self, handler, name: str) -> bool:
        """The faults written byte by byte to the socket (True when ``name`` has one)."""
        handler.close_connection = True
        try:
            if name in self._slow_head:
                head = b"HTTP/1.1 200 OK\r\nContent-Type: video/mp4\r\nContent-Length: 1000\r\n\r\n"
                for byte in head * 1000:  # longer than any test waits
                    handler.wfile.write(bytes([byte]))
                    if self.stopping.wait(self._slow_head[name]):
                        break
                return True
            if name in self._endless_continue:
                while not self.stopping.wait(self._endless_continue[name]):
                    handler.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")
                return True
            resource = self.lookup(name)
            if resource is None or not (name in self._unsized or name in self._bad_headers):
                handler.close_connection = False
                return False
            header, value = self._bad_headers.get(name, ("Content-Length", ""))
            headers = {"Content-Type": resource.content_type, "Content-Length": str(resource.size), header: value}
            if name in self._unsized:
                del headers["Content-Length"]
            lines = ["HTTP/1.1 200 OK", "Connection: close", *(f"{k}: {v}" for k, v in headers.items())]
            handler.wfile.write(("\r\n".join(lines) + "\r\n\r\n").encode())
            for offset in range(0, resource.size, 256 * 1024):
                data = resource.read_at(offset, 256 * 1024)
                handler.wfile.write(data)
                self.count_sent(len(data))
        except OSError:
            pass  # the client hung up (its deadline)
        return True

    def send_body(self, handler, name: str, resource: Resource, first: int, length: int) -> None:
        if name in self._disconnect_after:
            n = min(length, self._disconnect_after[name])
            handler.wfile.write(resource.read_at(first, n))
            self.count_sent(n)
            handler.close_connection = True
            return
        if name in self._stall_after:
            n = min(length, self._stall_after[name])
            handler.wfile.write(resource.read_at(first, n))
            handler.wfile.flush()
            self.count_sent(n)
            self.stopping.wait()  # silent until the server stops
            handler.close_connection = True
            return
        if name in self._trickle:
            chunk, interval = self._trickle[name]
            offset, end = first, first + length
            while offset < end and not self.stopping.is_set():
                data = resource.read_at(offset, min(chunk, end - offset))
                handler.wfile.write(data)
                handler.wfile.flush()
                self.count_sent(len(data))
                offset += len(data)
                self.stopping.wait(interval)
            handler.close_connection = True
            return
        super().send_body(handler, name, resource, first, length)


class BlackHoles:
    """Addresses where a connection attempt hangs until it times out, as a firewall that drops packets
    makes it: a listener on each of ``127.0.0.<first>`` .. whose accept queue is full (one connection
    made and never accepted), so the kernel drops every further SYN. Real sockets, nothing patched.

        with BlackHoles(20) as holes:
            holes.addresses, holes.port
    """

    def __init__(self, count: int, first: int = 10) -> None:
        import socket

        self._socket = socket
        self.addresses = [f"127.0.0.{first + i}" for i in range(count)]
        self.port = 0
        self._sockets: list = []

    def __enter__(self) -> BlackHoles:
        socket = self._socket
        for address in self.addresses:
            listener = socket.socket()
            listener.bind((address, self.port))
            listener.listen(0)
            self.port = listener.getsockname()[1]
            filler = socket.socket()
            filler.connect((address, self.port))  # fills the queue: nobody ever accepts it
            self._sockets += [listener, filler]
        return self

    def __exit__(self, *exc: object) -> None:
        for sock in self._sockets:
            sock.close()
