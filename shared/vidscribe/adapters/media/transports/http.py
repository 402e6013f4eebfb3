"""HTTP GETs for one media URL: the URL guard on every redirect hop, timeouts, one deadline for all.

This is where media bytes are fetched from the network. :class:`HttpTransport` follows redirects by
hand (each hop passes the URL guard), bounds every request by the connect and read timeouts and the
whole fetch by its :class:`~.deadline.Deadline` (the :class:`~.dialer.Dialer` bounds the lookup, each
connect and, through the watchdog, every read: a server that trickles its head or its body ends
there), maps transport failures to the pipeline's error types, and counts requests and body bytes.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from urllib.parse import urlsplit

import requests
import urllib3

from ....errors import FetchError, FetchRefused, VidscribeError
from ....redaction import redact
from ..deadline import Deadline
from ..urlguard import check_http_url, check_redirect
from .dialer import Dialer, DialingAdapter

_REDIRECT_STATUSES = {301, 302, 303, 307, 308}
_NETWORK_ERRORS = (requests.RequestException, urllib3.exceptions.HTTPError, OSError)
_BODY_STEP = 256 * 1024
# HTTP numbers are ASCII digits only (RFC 9110): int() would also take "٣", " 7", "+7" and "1_000".
_DIGITS = re.compile(r"[0-9]{1,19}", re.ASCII)
_CONTENT_RANGE = re.compile(r"bytes +(?:([0-9]{1,19})-([0-9]{1,19})|\*)/([0-9]{1,19}|\*)", re.ASCII | re.IGNORECASE)


def make_session(dialer: Dialer) -> requests.Session:
    """A requests session for fetching media, every connection through ``dialer``.

    ``trust_env`` is off: no proxy from the environment (a proxy would resolve names itself, past
    the address guard) and no ``.netrc`` credentials sent to arbitrary hosts.
    """
    session = requests.Session()
    session.trust_env = False
    session.mount("http://", DialingAdapter(dialer))
    session.mount("https://", DialingAdapter(dialer))
    session.headers.update({"Accept-Encoding": "identity", "User-Agent": "vidscribe"})
    return session


def http_number(value: str) -> int | None:
    """A decimal HTTP header value (ASCII digits only), else None."""
    value = value.strip(" \t")
    return int(value) if _DIGITS.fullmatch(value) else None


def parse_content_range(value: str | None) -> tuple[int | None, int | None, int | None]:
    """``bytes 0-99/1234`` -> (0, 99, 1234); ``bytes */1234`` -> (None, None, 1234); unknown parts None."""
    match = _CONTENT_RANGE.fullmatch((value or "").strip(" \t"))
    if match is None:
        return None, None, None
    first, last, total = (None if v is None or v == "*" else int(v) for v in match.groups())
    return first, last, total


def content_length(resp: requests.Response) -> int | None:
    """The body's announced size (None: not announced). FetchRefused for a value that is not a number
    (RFC 9112: the response cannot be framed; a retry gets the same): ``²`` or ``٣`` among them."""
    value = resp.headers.get("Content-Length")
    if value is None:
        return None
    sizes = {http_number(part) for part in value.split(",")}  # "42, 42" is 42 (RFC 9110 8.6)
    if len(sizes) != 1 or None in sizes:
        raise FetchRefused(
            f"the media server sent an invalid Content-Length {value[:24]!r} for {redact(resp.url)!r}: "
            f"its answer cannot be read"
        )
    return sizes.pop()


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

    Every connection goes through ``dialer`` (its deadline bounds the whole exchange; unless it allows
    private addresses, it connects only to checked public ones). The URL and every redirect target are
    checked by ``url_guard`` (by default :func:`check_http_url`). ``requests`` counts HTTP requests made
    and ``bytes_fetched`` the body bytes received.
    """

    def __init__(
        self,
        url: str,
        *,
        dialer: Dialer,
        session: requests.Session | None = None,
        connect_timeout: float = 10.0,
        read_timeout: float = 30.0,
        max_redirects: int = 5,
        url_guard: Callable[[str], None] | None = None,
    ) -> None:
        self.url = url
        self.original_url = url
        self.dialer = dialer
        self.deadline: Deadline = dialer.deadline
        self.allow_private = dialer.allow_private
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.max_redirects = max_redirects
        self._guard = url_guard
        self._own_session = session is None
        self._session = session if session is not None else make_session(dialer)
        self.bytes_fetched = 0
        self.requests = 0
        self.last_ttfb: float | None = None  # seconds from the last request to its response headers

    def check(self) -> None:
        """Refuse the URL itself (before any request) unless the guard allows it."""
        if self._guard is None:
            check_http_url(self.url, self.allow_private, self.dialer.lookup)
        else:
            self._guard(self.url)

    def check_deadline(self) -> None:
        """FetchError once the fetch's deadline has passed."""
        self.deadline.check(self._received())

    def _received(self) -> str:
        return f"{human_bytes(self.bytes_fetched)} received"

    def get(self, byte_range: tuple[int, int] | None) -> requests.Response:
        """GET (with a Range header unless None), following redirects by hand, each hop guarded."""
        headers = {} if byte_range is None else {"Range": f"bytes={byte_range[0]}-{byte_range[1]}"}
        seen = {self.url}
        hops = 0
        while True:
            resp = self._request(headers)
            if resp.status_code not in _REDIRECT_STATUSES:
                self.last_ttfb = resp.elapsed.total_seconds()
                try:
                    content_length(resp)
                except FetchRefused:
                    resp.close()
                    raise
                return resp
            location = resp.headers.get("Location", "")
            resp.close()
            hops += 1
            if hops > self.max_redirects:
                raise FetchRefused(
                    f"too many redirects (more than {self.max_redirects}) starting at {redact(self.original_url)!r}"
                )
            target = check_redirect(self.url, location, self.allow_private, self._guard, self.dialer.lookup)
            if target in seen:
                raise FetchRefused(f"redirect loop: {redact(self.url)!r} leads back to {redact(target)!r}")
            seen.add(target)
            self.url = target

    def _request(self, headers: dict[str, str]) -> requests.Response:
        """One GET of ``self.url``: its connect and read timeouts never reach past the deadline."""
        waiting = f"waiting for {urlsplit(self.url).hostname} to answer"
        connect_timeout = self.deadline.cap(self.connect_timeout, waiting)
        read_timeout = self.deadline.cap(self.read_timeout, waiting)
        self.requests += 1
        try:
            return self._session.get(
                self.url, headers=headers, stream=True, allow_redirects=False, timeout=(connect_timeout, read_timeout)
            )
        except VidscribeError:
            raise  # the guard (UrlRejected) or the deadline, from the dialer
        except requests.exceptions.SSLError as exc:
            self.deadline.check(waiting)  # the watchdog cut the handshake short
            raise FetchRefused(f"TLS error talking to {redact(self.url)!r}: {exc}") from None
        except requests.Timeout:
            self.deadline.check(waiting)
            raise FetchError(
                f"timed out connecting to or waiting for {redact(self.url)!r} "
                f"(connect {connect_timeout:g} s, read {read_timeout:g} s)"
            ) from None
        except (*_NETWORK_ERRORS, ValueError) as exc:  # ValueError: a URL urllib3 cannot parse
            self.deadline.check(waiting)
            raise FetchError(f"cannot fetch {redact(self.url)!r}: {exc}") from None

    def read_body(self, resp: requests.Response, want: int | None) -> bytes:
        """Up to ``want`` bytes of a response body (all of it when None), within the deadline."""
        chunks: list[bytes] = []
        got = 0
        while want is None or got < want:
            step = _BODY_STEP if want is None else min(want - got, _BODY_STEP)
            chunk = self.read_some(resp, step)
            if not chunk:
                break
            chunks.append(chunk)
            got += len(chunk)
        return b"".join(chunks)

    def read_some(self, resp: requests.Response, n: int) -> bytes:
        """What the socket has (at most ``n`` bytes); blocks at most the read timeout, never past the
        deadline (the watchdog shuts the socket down then: the read ends, and the deadline is the error)."""
        self.check_deadline()
        try:
            chunk: bytes = resp.raw.read1(n)
        except urllib3.exceptions.ReadTimeoutError:
            self.check_deadline()
            raise FetchError(f"timed out reading {redact(self.url)!r} (no data for {self.read_timeout:g} s)") from None
        except _NETWORK_ERRORS as exc:
            self.check_deadline()
            raise FetchError(f"connection to {redact(self.url)!r} failed mid-transfer: {exc}") from None
        if not chunk:
            self.check_deadline()
        self.bytes_fetched += len(chunk)
        return chunk

    def close(self) -> None:
        if self._own_session:
            self._session.close()
