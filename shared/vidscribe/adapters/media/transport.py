"""HTTP GETs for one media URL: the URL guard on every redirect hop, timeouts, an overall deadline.

This is where media bytes are fetched from the network. :class:`HttpTransport` follows redirects by
hand (each hop passes the URL guard), bounds every request by the connect and read timeouts and the
whole download by a deadline (a server trickling bytes never trips a read timeout alone), maps
transport failures to the pipeline's error types, and counts requests and body bytes.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import requests
import urllib3

from ...errors import FetchError, FetchRefused, UrlRejected, VidscribeError
from ...redaction import redact
from .urlguard import GuardedHTTPAdapter, check_http_url, check_redirect

_REDIRECT_STATUSES = {301, 302, 303, 307, 308}
_NETWORK_ERRORS = (requests.RequestException, urllib3.exceptions.HTTPError, OSError)
_BODY_STEP = 256 * 1024


def make_session(allow_private: bool) -> requests.Session:
    """A requests session for fetching media.

    ``trust_env`` is off: no proxy from the environment (a proxy would resolve names itself, past
    the address guard) and no ``.netrc`` credentials sent to arbitrary hosts. Unless private
    addresses are allowed, every connection checks the address it actually connected to.
    """
    session = requests.Session()
    session.trust_env = False
    if not allow_private:
        session.mount("http://", GuardedHTTPAdapter())
        session.mount("https://", GuardedHTTPAdapter())
    session.headers.update({"Accept-Encoding": "identity", "User-Agent": "vidscribe"})
    return session


def parse_content_range(value: str | None) -> tuple[int | None, int | None, int | None]:
    """``bytes 0-99/1234`` -> (0, 99, 1234); ``bytes */1234`` -> (None, None, 1234); unknown parts None."""
    if not value:
        return None, None, None
    try:
        unit, _, rest = value.strip().partition(" ")
        if unit.lower() != "bytes":
            return None, None, None
        span, _, total_s = rest.partition("/")
        total = None if total_s.strip() in ("", "*") else int(total_s)
        if span.strip() == "*":
            return None, None, total
        first, _, last = span.partition("-")
        return int(first), int(last), total
    except ValueError:
        return None, None, None


def content_length(resp: requests.Response) -> int | None:
    value = resp.headers.get("Content-Length", "").strip()
    return int(value) if value.isdigit() else None


def status_error(status: int, reason: str, url: str) -> VidscribeError:
    what = f"the media server answered HTTP {status}{' ' + reason if reason else ''} for {redact(url)!r}"
    if status == 429 or status >= 500:
        return FetchError(what)
    return FetchRefused(what)


def human_bytes(n: float) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} bytes"


class HttpTransport:
    """GET requests for one media URL (``url`` follows redirects; ``original_url`` is as given).

    The URL and every redirect target are checked by ``url_guard`` (by default :func:`check_http_url`
    with ``allow_private``); unless private addresses are allowed, the session also checks the
    address each connection actually reached. ``requests`` counts HTTP requests made and
    ``bytes_fetched`` the body bytes received.
    """

    def __init__(
        self,
        url: str,
        *,
        session: requests.Session | None = None,
        allow_private: bool = False,
        connect_timeout: float = 10.0,
        read_timeout: float = 30.0,
        total_timeout: float | None = None,
        max_redirects: int = 5,
        url_guard: Callable[[str], None] | None = None,
    ) -> None:
        self.url = url
        self.original_url = url
        self.allow_private = allow_private
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.total_timeout = total_timeout
        self.max_redirects = max_redirects
        self._guard = url_guard
        self._own_session = session is None
        self._session = session if session is not None else make_session(allow_private)
        self._deadline = None if total_timeout is None else time.monotonic() + total_timeout
        self.bytes_fetched = 0
        self.requests = 0
        self.last_ttfb: float | None = None  # seconds from the last request to its response headers

    def check(self) -> None:
        """Refuse the URL itself (before any request) unless the guard allows it."""
        if self._guard is None:
            check_http_url(self.url, self.allow_private)
        else:
            self._guard(self.url)

    def remaining(self) -> float | None:
        """Seconds left before the deadline (None: no deadline); FetchError once it has passed."""
        if self._deadline is None:
            return None
        remaining = self._deadline - time.monotonic()
        if remaining <= 0:
            raise FetchError(
                f"fetching {redact(self.original_url)!r} took longer than {self.total_timeout:g} s "
                f"({human_bytes(self.bytes_fetched)} received): the server is too slow"
            )
        return remaining

    def get(self, byte_range: tuple[int, int] | None) -> requests.Response:
        """GET (with a Range header unless None), following redirects by hand, each hop guarded."""
        headers = {} if byte_range is None else {"Range": f"bytes={byte_range[0]}-{byte_range[1]}"}
        seen = {self.url}
        hops = 0
        while True:
            remaining = self.remaining()
            read_timeout = self.read_timeout if remaining is None else min(self.read_timeout, remaining)
            connect_timeout = self.connect_timeout if remaining is None else min(self.connect_timeout, remaining)
            self.requests += 1
            try:
                resp = self._session.get(
                    self.url,
                    headers=headers,
                    stream=True,
                    allow_redirects=False,
                    timeout=(connect_timeout, read_timeout),
                )
            except UrlRejected:
                raise
            except requests.exceptions.SSLError as exc:
                raise FetchRefused(f"TLS error talking to {redact(self.url)!r}: {exc}") from None
            except requests.Timeout:
                raise FetchError(
                    f"timed out connecting to or waiting for {redact(self.url)!r} "
                    f"(connect {connect_timeout:g} s, read {read_timeout:g} s)"
                ) from None
            except _NETWORK_ERRORS as exc:
                raise FetchError(f"cannot fetch {redact(self.url)!r}: {exc}") from None
            if resp.status_code not in _REDIRECT_STATUSES:
                self.last_ttfb = resp.elapsed.total_seconds()
                return resp
            location = resp.headers.get("Location", "")
            resp.close()
            hops += 1
            if hops > self.max_redirects:
                raise FetchRefused(
                    f"too many redirects (more than {self.max_redirects}) starting at {redact(self.original_url)!r}"
                )
            target = check_redirect(self.url, location, self.allow_private, self._guard)
            if target in seen:
                raise FetchRefused(f"redirect loop: {redact(self.url)!r} leads back to {redact(target)!r}")
            seen.add(target)
            self.url = target

    def read_body(self, resp: requests.Response, want: int | None) -> bytes:
        """Up to ``want`` bytes of a response body (all of it when None), within the deadline."""
        chunks: list[bytes] = []
        got = 0
        while want is None or got < want:
            self.remaining()
            step = _BODY_STEP if want is None else min(want - got, _BODY_STEP)
            chunk = self.read_some(resp, step)
            if not chunk:
                break
            chunks.append(chunk)
            got += len(chunk)
        return b"".join(chunks)

    def read_some(self, resp: requests.Response, n: int) -> bytes:
        """What the socket has (at most ``n`` bytes); blocks at most the read timeout."""
        try:
            chunk: bytes = resp.raw.read1(n)
        except urllib3.exceptions.ReadTimeoutError:
            raise FetchError(f"timed out reading {redact(self.url)!r} (no data for {self.read_timeout:g} s)") from None
        except _NETWORK_ERRORS as exc:
            raise FetchError(f"connection to {redact(self.url)!r} failed mid-transfer: {exc}") from None
        self.bytes_fetched += len(chunk)
        return chunk

    def close(self) -> None:
        if self._own_session:
            self._session.close()
