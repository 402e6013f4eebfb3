"""Range requests for one remote file, one client per connection: over HTTP(S) or S3.

A :class:`RangeClient` fetches exactly ``length`` bytes at ``start`` or raises one of the pipeline's
errors. The planned file's workers each get their own client (their own kept-alive connection); the
counters of all of them are summed into what a fetch reports.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from ..readers.seekable import fetch_range
from .dialer import Dialer
from .http import HttpTransport


class RangeClient(Protocol):
    @property
    def bytes_fetched(self) -> int: ...

    @property
    def requests(self) -> int: ...

    def fetch(self, start: int, length: int) -> bytes: ...

    def close(self) -> None: ...


@dataclass
class LinkMeter:
    """Seconds to the first byte and body rates seen by any client (thread-safe)."""

    latencies: list[float] = field(default_factory=list)
    rates: list[float] = field(default_factory=list)  # bytes per second of bodies of 64 KiB or more
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, ttfb: float, body_bytes: int, body_seconds: float) -> None:
        with self._lock:
            self.latencies.append(max(ttfb, 0.0))
            if body_bytes >= 64 * 1024 and body_seconds > 0:
                self.rates.append(body_bytes / body_seconds)

    def latency(self) -> float:
        with self._lock:
            return min(self.latencies) if self.latencies else 0.05

    def bandwidth(self) -> float:
        with self._lock:
            return max(self.rates) if self.rates else 10e6


class HttpRangeClient:
    """Range GETs of one URL on one connection (the URL guard on every hop; the fetch's dialer, and so
    its deadline and the addresses it resolved)."""

    def __init__(
        self,
        url: str,
        size: int,
        *,
        dialer: Dialer,
        connect_timeout: float,
        read_timeout: float,
        max_redirects: int,
        url_guard: Callable[[str], None] | None = None,
        meter: LinkMeter | None = None,
    ) -> None:
        self._http = HttpTransport(
            url,
            dialer=dialer,
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            max_redirects=max_redirects,
            url_guard=url_guard,
        )
        self._http.original_url = url
        self._size = size
        self._meter = meter
        self._http.check()

    @property
    def bytes_fetched(self) -> int:
        return self._http.bytes_fetched

    @property
    def requests(self) -> int:
        return self._http.requests

    def fetch(self, start: int, length: int) -> bytes:
        started = time.monotonic()
        data = fetch_range(self._http, start, length, self._size)
        if self._meter is not None:
            ttfb = self._http.last_ttfb or 0.0
            self._meter.record(ttfb, len(data), time.monotonic() - started - ttfb)
        return data

    def close(self) -> None:
        self._http.close()
