"""What every transport of one remote file shares: its first answer, the clients that fetch the rest in
ranges (one per connection), and what their requests showed of the link and cost.

A :class:`RangeClient` fetches exactly ``length`` bytes at ``start`` or raises one of the pipeline's
errors: over HTTP(S) (:class:`~.http.HttpRangeClient`) or from S3 (:class:`~.s3.S3RangeClient`). Every
request and body byte of a fetch is counted in its one :class:`Tally`; the first-byte latencies and body
rates go to its :class:`LinkMeter`, from which the plan estimates what each way of fetching costs.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Protocol

import requests


class RangeClient(Protocol):
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


class Tally:
    """Requests made and body bytes received by every transport of one fetch (thread-safe): what the
    fetch cost, however many connections it used."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests = 0
        self.bytes_fetched = 0

    def request(self) -> None:
        with self._lock:
            self.requests += 1

    def received(self, n: int) -> None:
        with self._lock:
            self.bytes_fetched += n


@dataclass
class FirstAnswer:
    """What the first request of a fetch learnt: the file's size (None: not told), the bytes it brought
    (``head``: the first block, or the whole file when it fitted), its content type and -- from a server
    that ignored the range and sent the whole file -- that answer's ``body``, to read front to back."""

    size: int | None
    head: bytes
    content_type: str | None
    body: requests.Response | None = None

    @property
    def whole(self) -> bool:
        """Whether the first answer brought the whole file (nothing more to fetch)."""
        return self.body is None and self.size is not None and len(self.head) >= self.size
