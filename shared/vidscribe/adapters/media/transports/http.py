"""HTTP GETs for one media URL: the URL guard on every redirect hop, timeouts, one deadline for all.

This is where media bytes are fetched from the network. :class:`HttpTransport` follows redirects by
hand (each hop passes the URL guard), bounds every request by the connect and read timeouts and the
whole fetch by its :class:`~..deadline.Deadline` (the :class:`~.dialer.Dialer` bounds the lookup, each
connect and, through the watchdog, every read: a server that trickles its head or its body ends
there), maps transport failures to the pipeline's error types, and counts requests and body bytes into
the fetch's :class:`~.ranges.Tally`. :func:`first_answer` is a fetch's first request (what the file is
and how it can be read), :func:`fetch_range` one exact range, :class:`HttpRangeClient` one connection's
range requests. Transports are built from the settings in one place: :meth:`~..fetch.Fetch.http`.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from contextlib import closing
from urllib.parse import urlsplit

import requests
import urllib3

from ....errors import FetchError, FetchRefused, MediaTooLarge, VidscribeError
from ....redaction import redact
from ..deadline import Deadline
from ..sizes import human_bytes
from ..urlguard import check_http_url, check_redirect
from .dialer import Dialer, DialingAdapter
from .ranges import FirstAnswer, LinkMeter, Tally

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


class HttpTransport:
    """GET requests for one media URL (``url`` follows redirects; ``original_url`` is as given).

    Every connection goes through ``dialer`` (its deadline bounds the whole exchange; unless it allows
    private addresses, it connects only to checked public ones). The URL and every redirect target are
    checked by ``url_guard`` (by default :func:`check_http_url`). Requests and body bytes are counted in
    ``tally`` (the fetch's).
    """

    def __init__(
        self,
        url: str,
        *,
        dialer: Dialer,
        tally: Tally,
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
        self.tally = tally
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.max_redirects = max_redirects
        self._guard = url_guard
        self._own_session = session is None
        self._session = session if session is not None else make_session(dialer)
        self.last_ttfb: float | None = None  # seconds from the last request to its response headers

    def check(self) -> None:
        """Refuse the URL itself (before any request) unless the guard allows it."""
        if self._guard is None:
            check_http_url(self.url, self.allow_private, self.dialer.lookup)
        else:
            self._guard(self.url)

    def check_deadline(self) -> None:
        """FetchError once the fetch's deadline has passed."""
        self.deadline.check(f"{human_bytes(self.tally.bytes_fetched)} received")

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
        self.tally.request()
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
        self.tally.received(len(chunk))
        return chunk

    def close(self) -> None:
        if self._own_session:
            self._session.close()


def expect_length(http: HttpTransport, block: bytes, start: int, want: int) -> None:
    """FetchError unless ``block`` (read at ``start``) holds the ``want`` bytes asked for."""
    if len(block) < want:
        raise FetchError(
            f"the connection to {redact(http.url)!r} closed early: got {len(block)} of {want} bytes at offset {start}"
        )


def fetch_range(http: HttpTransport, start: int, length: int, size: int) -> bytes:
    """Exactly ``length`` bytes at ``start`` of a file of ``size`` bytes, with one Range request."""
    resp = http.get((start, start + length - 1))
    with closing(resp):
        if resp.status_code == 206:
            first, _last, total = parse_content_range(resp.headers.get("Content-Range"))
            if first != start:
                raise FetchError(f"the media server sent the wrong range for {redact(http.url)!r}")
            if total is not None and total != size:
                raise FetchError(f"the media at {redact(http.url)!r} changed size while being read")
        elif resp.status_code == 200:
            raise FetchError(f"the media server stopped honouring Range requests for {redact(http.url)!r}")
        else:
            raise status_error(resp.status_code, resp.reason or "", http.url)
        block = http.read_body(resp, length)
    expect_length(http, block, start, length)
    return block


class HttpRangeClient:
    """Range GETs of one file on one transport (one kept-alive connection), each timed into ``meter``."""

    def __init__(self, http: HttpTransport, size: int, meter: LinkMeter | None = None) -> None:
        self._http = http
        self._size = size
        self._meter = meter

    def fetch(self, start: int, length: int) -> bytes:
        started = time.monotonic()
        data = fetch_range(self._http, start, length, self._size)
        if self._meter is not None:
            ttfb = self._http.last_ttfb or 0.0
            self._meter.record(ttfb, len(data), time.monotonic() - started - ttfb)
        return data

    def close(self) -> None:
        self._http.close()


# --- the first request of a fetch ------------------------------------------------------------------------
def first_answer(
    http: HttpTransport, first_bytes: int, *, whole_up_to: int, max_bytes: int, meter: LinkMeter | None = None
) -> FirstAnswer:
    """The first request of a fetch (``Range: bytes=0-<first_bytes - 1>``): what the file is and how it can
    be read. A server that honours the range tells the size (and the link's timing, into ``meter``); one
    that ignores it sends the whole file, which is held when it is at most ``whole_up_to`` bytes and else
    left in the answer's ``body``, to read front to back. MediaTooLarge past ``max_bytes``."""
    started = time.monotonic()
    resp = http.get((0, first_bytes - 1))
    try:
        if resp.status_code == 206:
            return _ranged(http, resp, first_bytes, max_bytes, meter, started)
        if resp.status_code == 200:  # the server ignored the Range header (whatever its Accept-Ranges says)
            return _sent_whole(http, resp, whole_up_to, max_bytes, resp.headers.get("Content-Type"))
        if resp.status_code == 416:  # nothing to give at offset 0: an empty file
            _, _, total = parse_content_range(resp.headers.get("Content-Range"))
            if total:
                raise FetchRefused(
                    f"the media server refused a range request for {redact(http.url)!r} (HTTP 416)"
                )
            return FirstAnswer(0, b"", resp.headers.get("Content-Type"))
        raise status_error(resp.status_code, resp.reason or "", http.url)
    finally:
        if resp.status_code != 200:
            resp.close()  # a body left to read front to back stays open: its stream owns it


def _ranged(
    http: HttpTransport,
    resp: requests.Response,
    first_bytes: int,
    max_bytes: int,
    meter: LinkMeter | None,
    started: float,
) -> FirstAnswer:
    headers_at = time.monotonic()
    content_type = resp.headers.get("Content-Type")
    first, last, total = parse_content_range(resp.headers.get("Content-Range"))
    if first != 0 or last is None or last < 0:
        raise FetchError(f"the media server sent an unusable Content-Range for {redact(http.url)!r}")
    _check_size(http, total, max_bytes)
    if total is None:
        # Size unknown ("bytes 0-N/*"): seeking from the end is impossible; stream it whole.
        resp.close()
        whole = http.get(None)
        if whole.status_code != 200:
            whole.close()
            raise status_error(whole.status_code, whole.reason or "", http.url)
        return _sent_whole(http, whole, -1, max_bytes, content_type)  # never held: read it front to back
    want = min(last + 1, first_bytes, total)  # never more than asked for
    block = http.read_body(resp, want)
    expect_length(http, block, 0, want)
    if meter is not None:
        ttfb = http.last_ttfb if http.last_ttfb is not None else headers_at - started
        meter.record(ttfb, len(block), time.monotonic() - headers_at)
    return FirstAnswer(total, block, content_type)


def _sent_whole(
    http: HttpTransport, resp: requests.Response, whole_up_to: int, max_bytes: int, content_type: str | None
) -> FirstAnswer:
    """An answer with the whole file (200): held when it fits in ``whole_up_to`` bytes, else left open."""
    try:
        length = content_length(resp)
        _check_size(http, length, max_bytes)
        if length is not None and length <= whole_up_to:
            with closing(resp):
                block = http.read_body(resp, length)
            expect_length(http, block, 0, length)
            return FirstAnswer(length, block, content_type)
    except BaseException:
        resp.close()
        raise
    return FirstAnswer(length, b"", content_type, body=resp)


def _check_size(http: HttpTransport, size: int | None, max_bytes: int) -> None:
    if size is not None and size > max_bytes:
        raise MediaTooLarge(
            f"the media at {redact(http.original_url)!r} is {human_bytes(size)}, more than the "
            f"{human_bytes(max_bytes)} allowed (MAX_MEDIA_BYTES)"
        )
