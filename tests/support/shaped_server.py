"""A media server behind a simulated network link, on loopback.

    with ShapedMediaServer(latency=0.030, connection_bandwidth=25e6, shared_bandwidth=60e6) as server:
        server.add_file("clip.mp4", path)       # every FaultyMediaServer feature works too

Each response waits ``latency`` seconds before its headers (the first-byte latency of a real link), and
its body is paced: no connection sends faster than ``connection_bandwidth`` bytes per second, and all
connections together no faster than ``shared_bandwidth``. What a request costs on such a link is what
it costs here, so a reader that keeps one request in flight pays the latency once per request, and one
that keeps several in flight pays it once per batch. ``range_requests`` counts the requests that asked
for a range. Tests may count requests and bytes on it; only benchmarks may time it.
"""

from __future__ import annotations

import threading
import time

from tests.support.media_server import FaultyMediaServer

PACE_CHUNK = 64 * 1024


class ShapedMediaServer(FaultyMediaServer):
    def __init__(
        self,
        root=None,
        *,
        latency: float = 0.030,
        connection_bandwidth: float = 25e6,
        shared_bandwidth: float = 60e6,
        **kwargs,
    ) -> None:
        super().__init__(root, **kwargs)
        self.latency = latency
        self.connection_bandwidth = connection_bandwidth
        self.shared_bandwidth = shared_bandwidth
        self._link = threading.Lock()
        self._shared_free_at = 0.0
        self.range_requests = 0
        self.in_flight = 0
        self.max_in_flight = 0  # the most requests served at once

    def link_floor(self, n_bytes: int) -> float:
        """The fewest seconds this link needs to carry ``n_bytes`` (all connections at once, no latency)."""
        return n_bytes / self.shared_bandwidth

    def _handle(self, handler, head_only: bool) -> None:
        with self._link:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            super()._handle(handler, head_only)
        finally:
            with self._link:
                self.in_flight -= 1

    def intercept(self, handler, name: str, head_only: bool) -> bool:
        if handler.headers.get("Range"):
            with self._link:
                self.range_requests += 1
        if self.latency > 0:
            self.stopping.wait(self.latency)
        return super().intercept(handler, name, head_only)

    def send_body(self, handler, name: str, resource, first: int, length: int) -> None:
        if self._has_fault(name):
            super().send_body(handler, name, resource, first, length)
            return
        free_at = getattr(handler, "_vidscribe_free_at", 0.0)
        offset, end = first, first + length
        while offset < end and not self.stopping.is_set():
            data = resource.read_at(offset, min(PACE_CHUNK, end - offset))
            if not data:
                return
            now = time.monotonic()
            connection_at = max(free_at, now) + len(data) / self.connection_bandwidth
            with self._link:
                self._shared_free_at = max(self._shared_free_at, now) + len(data) / self.shared_bandwidth
                shared_at = self._shared_free_at
            ready = max(connection_at, shared_at)
            if ready > now:
                time.sleep(ready - now)
            handler.wfile.write(data)
            self.count_sent(len(data))
            free_at = ready
            offset += len(data)
        handler._vidscribe_free_at = free_at

    def _has_fault(self, name: str) -> bool:
        return name in self._disconnect_after or name in self._stall_after or name in self._trickle


def main() -> None:  # a shaped server in its own process (benchmarks: no GIL shared with the reader)
    import argparse
    import sys

    ap = argparse.ArgumentParser()
    ap.add_argument("root")
    ap.add_argument("--latency", type=float, default=0.030)
    ap.add_argument("--connection-bandwidth", type=float, default=25e6)
    ap.add_argument("--shared-bandwidth", type=float, default=60e6)
    args = ap.parse_args()
    server = ShapedMediaServer(
        args.root,
        latency=args.latency,
        connection_bandwidth=args.connection_bandwidth,
        shared_bandwidth=args.shared_bandwidth,
    ).start()
    print(server.port, flush=True)
    sys.stdin.read()  # until the parent closes our stdin
    server.stop()


if __name__ == "__main__":
    main()
