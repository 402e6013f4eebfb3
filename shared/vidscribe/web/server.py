"""Serving the application over HTTP with waitress (a pure-Python production WSGI server), in a loop
that stops when asked: from a signal handler (``vidscribe serve``) or from another thread (tests)."""

from __future__ import annotations

import threading
from typing import Any

from waitress import wasyncore
from waitress.server import MultiSocketServer, create_server

POLL_SECONDS = 0.2  # how soon a stop request is seen when no request wakes the loop


class WebServer:
    """``app`` listening on ``host``:``port`` (0: any free port) once constructed; ``serve`` runs
    until ``stop``."""

    def __init__(self, app: Any, host: str = "127.0.0.1", port: int = 0, threads: int = 4) -> None:
        self._map: dict[int, Any] = {}
        self._server = create_server(app, map=self._map, host=host, port=port, threads=threads, ident="vidscribe")
        self._stopping = threading.Event()
        # A name with several addresses (localhost: ::1 and 127.0.0.1) gets a socket for each.
        server = self._server
        listening = server.effective_listen[0] if isinstance(server, MultiSocketServer) else server.getsockname()
        self.host, self.port = str(listening[0]), int(listening[1])

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/"

    def serve(self) -> None:
        """Answer requests until ``stop`` is called; then close every socket and end the workers."""
        try:
            while not self._stopping.is_set():
                wasyncore.loop(timeout=POLL_SECONDS, use_poll=True, map=self._map, count=1)
        finally:
            self._server.task_dispatcher.shutdown(timeout=5)
            wasyncore.close_all(self._map, ignore_all=True)

    def stop(self) -> None:
        """Ask ``serve`` to return (safe from a signal handler and from any thread)."""
        self._stopping.set()

    def start_thread(self) -> threading.Thread:
        """``serve`` in a daemon thread (tests, benchmarks)."""
        thread = threading.Thread(target=self.serve, name=f"web-{self.port}", daemon=True)
        thread.start()
        return thread
