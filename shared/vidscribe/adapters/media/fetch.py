"""One fetch of one source: what every step of it shares, and what it did.

:class:`Fetch` holds what every step of one fetch shares: the settings, its one
:class:`~.deadline.Deadline` (FETCH_TOTAL_TIMEOUT_SECONDS, from the first name lookup to the last byte,
across every connection and redirect hop), its :class:`~.transports.dialer.Dialer` (the URL guard's
setting, the names it resolved: each is resolved once), the link it measured and the tally of what it
cost. It is the one place the settings become a transport: :meth:`Fetch.http` (every HTTP GET),
:meth:`Fetch.http_ranges` and :meth:`Fetch.s3_ranges` (one connection's range requests).
:class:`FetchReport` is what one fetch did.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import requests

from ...config import Settings
from .deadline import Deadline
from .transports.dialer import Dialer
from .transports.http import HttpRangeClient, HttpTransport, make_session
from .transports.ranges import LinkMeter, Tally
from .transports.s3 import S3RangeClient
from .urlguard import Resolver, S3Location


@dataclass
class FetchReport:
    """What one fetch did: the plan it ran and what it cost (the bench and the tests read it)."""

    kind: str  # "in memory", "sequential", "audio-only", "whole-file", "hls"
    size: int | None = None
    bytes_fetched: int = 0
    requests: int = 0
    audio_bytes: int | None = None  # the audio chunks' bytes, from an MP4 index
    index_bytes: int | None = None
    reason: str = ""
    retries: int = 0
    peak_held_bytes: int = 0  # the most fetched-ahead bytes held at once (memory is flat in file size)
    window_bytes: int = 0


class Fetch:
    """One fetch of ``what`` (the URL as given; shown redacted in the deadline's error).

    ``total_timeout_seconds`` (default FETCH_TOTAL_TIMEOUT_SECONDS) bounds it all; ``resolver`` turns names
    into addresses (the system's by default; a test's seam); ``url_guard`` replaces the URL guard's check of
    each http(s) hop (a test's seam: the real guard for everything but a stand-in for the internet).
    """

    def __init__(
        self,
        settings: Settings,
        what: str,
        *,
        total_timeout_seconds: float | None = None,
        resolver: Resolver | None = None,
        url_guard: Callable[[str], None] | None = None,
    ) -> None:
        self.settings = settings
        self.deadline = Deadline(total_timeout_seconds or settings.fetch_total_timeout_seconds, what)
        self.dialer = Dialer(self.deadline, allow_private=settings.allow_private_urls, resolver=resolver)
        self.url_guard = url_guard
        self.meter = LinkMeter()
        self.tally = Tally()

    def http(self, url: str, session: requests.Session | None = None) -> HttpTransport:
        """GETs of ``url`` with the configured timeouts and redirects, this fetch's deadline, dialer and guard,
        counted in its tally (``session``: a shared one, else the transport's own; close the transport)."""
        s = self.settings
        return HttpTransport(
            url,
            dialer=self.dialer,
            tally=self.tally,
            session=session,
            connect_timeout=s.http_connect_timeout,
            read_timeout=s.http_read_timeout,
            max_redirects=s.max_redirects,
            url_guard=self.url_guard,
        )

    def session(self) -> requests.Session:
        """A session whose connections go through this fetch's dialer (for many GETs on kept-alive ones)."""
        return make_session(self.dialer)

    def http_ranges(self, url: str, size: int) -> HttpRangeClient:
        """Range requests of ``url`` (a file of ``size`` bytes) on a connection of their own, timed into the
        link meter; the URL is checked first."""
        http = self.http(url)
        try:
            http.check()
        except BaseException:
            http.close()
            raise
        return HttpRangeClient(http, size, self.meter)

    def s3_ranges(self, client: Any, where: S3Location, size: int | None = None) -> S3RangeClient:
        """Ranged GetObject of ``where`` through ``client`` (S3 clients are shared: see ``s3.s3_client``)."""
        return S3RangeClient(client, where, size, deadline=self.deadline, tally=self.tally, meter=self.meter)

    def report(self, kind: str, size: int | None, **facts: Any) -> FetchReport:
        """What this fetch did, with what it cost so far."""
        return FetchReport(kind, size, self.tally.bytes_fetched, self.tally.requests, **facts)
