"""Which URLs the transcriber may fetch.

URLs come from a database or from hand-written queue messages, so a URL is untrusted input: without
a guard, ``http://169.254.169.254/latest/meta-data/`` would make the transcriber read the cloud
metadata service for whoever can insert a row. The rules:

* only ``http`` and ``https``, with a host name;
* every address the host resolves to must be public: not private, loopback, link-local, multicast,
  reserved, unspecified or shared (CGNAT), including IPv6 forms that embed such an IPv4 address
  (IPv4-mapped ``::ffff:a.b.c.d``, 6to4 ``2002::/16``, NAT64 ``64:ff9b::/96``, Teredo);
* the same check applies to every redirect hop (:func:`check_redirect`);
* the same check applies to the socket actually connected (:class:`GuardedHTTPAdapter`), which is
  what defeats DNS rebinding: a name that resolved to a public address during :func:`check_url`
  and to ``127.0.0.1`` a moment later when the HTTP client resolves it again is refused at connect
  time, because the peer address of the connected socket is checked, not a name.

``allow_private=True`` (``ALLOW_PRIVATE_URLS``) turns the address rules off, for local runs against
a media server on the same machine or network; the scheme rule always applies.

S3 objects are sources too (:func:`s3_location`): ``s3://bucket/key`` and the ``https`` URLs of S3
(``https://bucket.s3.region.amazonaws.com/key``, or path-style). They are read with boto3 from the S3
endpoint (or ``AWS_ENDPOINT_URL``), never from an address the URL names, so no address check applies;
what the transcriber may read there is what its IAM role grants (``mediaBuckets``). :func:`check_url`
is the guard at the door (it accepts both kinds); :func:`check_http_url` guards every HTTP hop, which
may never lead to ``s3:``.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Callable
from typing import Any
from urllib.parse import urljoin, urlsplit

from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from ...errors import UrlRejected
from ...redaction import redact

ALLOWED_SCHEMES = ("http", "https")

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_SHARED_V4 = ipaddress.IPv4Network("100.64.0.0/10")  # carrier-grade NAT (RFC 6598)


def forbidden_reason(ip: IPAddress) -> str | None:
    """Why ``ip`` may not be fetched from (``None`` when it is a public unicast address)."""
    if isinstance(ip, ipaddress.IPv6Address):
        embedded: ipaddress.IPv4Address | None = None
        if ip.ipv4_mapped is not None:
            embedded = ip.ipv4_mapped
        elif ip.sixtofour is not None:
            embedded = ip.sixtofour
        elif ip in _NAT64:
            embedded = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        elif ip.teredo is not None:
            server, client = ip.teredo
            for inner in (server, client):
                reason = forbidden_reason(inner)
                if reason:
                    return f"a Teredo address embedding {inner} ({reason})"
            # otherwise fall through: Teredo space is not global unicast either
        if embedded is not None:
            reason = forbidden_reason(embedded)
            return f"an IPv6 address embedding {embedded} ({reason})" if reason else None
    checks = (
        (ip.is_unspecified, "an unspecified address"),
        (ip.is_loopback, "a loopback address"),
        (ip.is_link_local, "a link-local address"),
        (ip.is_multicast, "a multicast address"),
        (ip.is_private, "a private address"),
        (ip.is_reserved, "a reserved address"),
        (isinstance(ip, ipaddress.IPv4Address) and ip in _SHARED_V4, "a shared (CGNAT) address"),
        (not ip.is_global, "a non-global address"),
    )
    for hit, reason in checks:
        if hit:
            if str(ip) == "169.254.169.254":
                return reason + " (the cloud metadata service)"
            return reason
    return None


def resolve(host: str, port: int | None) -> list[IPAddress]:
    """Every address ``host`` resolves to (a literal IP resolves to itself)."""
    host = host.rstrip(".") or host  # "example.com." is "example.com" (urllib3 strips it too)
    try:
        infos = socket.getaddrinfo(host, port or 0, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise UrlRejected(f"cannot resolve host {host!r}: {exc}") from None
    addresses: list[IPAddress] = []
    for _family, _type, _proto, _canon, sockaddr in infos:
        ip = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])  # drop an IPv6 zone id
        if ip not in addresses:
            addresses.append(ip)
    if not addresses:
        raise UrlRejected(f"host {host!r} resolves to no address")
    return addresses


# --- S3 locations ----------------------------------------------------------------------------------------
_BUCKET = r"(?P<bucket>[a-z0-9][a-z0-9.-]{1,61}[a-z0-9])"
_REGION = r"(?:[.-](?P<region>[a-z]{2}(?:-[a-z]+)+-\d))?"
_S3_VIRTUAL_HOST = re.compile(_BUCKET + r"\.s3" + _REGION + r"\.amazonaws\.com(?:\.cn)?")
_S3_PATH_HOST = re.compile(r"s3" + _REGION + r"\.amazonaws\.com(?:\.cn)?")
_BUCKET_NAME = re.compile(_BUCKET)


class S3Location:
    """An S3 object named by a source URL: bucket, key and (from an https URL) region."""

    __slots__ = ("bucket", "key", "region", "url")

    def __init__(self, bucket: str, key: str, region: str | None, url: str) -> None:
        self.bucket, self.key, self.region, self.url = bucket, key, region, url

    def __repr__(self) -> str:
        return f"S3Location(s3://{self.bucket}/{self.key})"


def s3_location(url: str) -> S3Location | None:
    """The S3 object ``url`` names (``s3://bucket/key``; ``https://bucket.s3[.region].amazonaws.com/key``;
    ``https://s3[.region].amazonaws.com/bucket/key``), else None. A presigned https URL (an
    ``X-Amz-Signature`` in its query) is left to HTTP: the signature is its permission.
    Raises UrlRejected for an ``s3:`` URL that names no valid bucket or key."""
    if not isinstance(url, str):
        return None
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme == "s3":
        bucket, key = parts.netloc, parts.path.lstrip("/")
        if not _BUCKET_NAME.fullmatch(bucket) or ".." in bucket or not key:
            raise UrlRejected(f"{redact(url)!r} is not an S3 object URL: expected s3://<bucket>/<key>")
        return S3Location(bucket, _unquote(key), None, url)
    if scheme != "https" or "x-amz-signature" in parts.query.lower() or parts.port not in (None, 443):
        return None
    host = (parts.hostname or "").rstrip(".")
    if (m := _S3_VIRTUAL_HOST.fullmatch(host)) and parts.path.lstrip("/"):
        return S3Location(m["bucket"], _unquote(parts.path.lstrip("/")), m["region"], url)
    if (m := _S3_PATH_HOST.fullmatch(host)) and "/" in parts.path.lstrip("/"):
        bucket, _, key = parts.path.lstrip("/").partition("/")
        if _BUCKET_NAME.fullmatch(bucket) and key:
            return S3Location(bucket, _unquote(key), m["region"], url)
    return None


def _unquote(key: str) -> str:
    from urllib.parse import unquote

    return unquote(key)


def check_url(url: str, allow_private: bool) -> None:
    """The guard at the door: raise :class:`UrlRejected` unless ``url`` is an S3 object URL or an
    http(s) URL whose host is allowed (:func:`check_http_url`)."""
    if s3_location(url) is not None:
        return
    check_http_url(url, allow_private)


def check_http_url(url: str, allow_private: bool) -> None:
    """Raise :class:`UrlRejected` unless ``url`` is an http(s) URL whose host is allowed.

    Resolves the host name (DNS) unless ``allow_private`` is set; does not connect anywhere.
    """
    if not isinstance(url, str) or not url.strip():
        raise UrlRejected("the URL is empty")
    try:
        parts = urlsplit(url.strip())
        port = parts.port  # raises ValueError for a bad port
    except ValueError as exc:
        raise UrlRejected(f"malformed URL {redact(url)!r}: {exc}") from None
    scheme = parts.scheme.lower()
    if scheme not in ALLOWED_SCHEMES:
        shown = f"{scheme!r}" if scheme else "none"
        raise UrlRejected(f"only http and https URLs are allowed (scheme: {shown}) in {redact(url)!r}")
    host = parts.hostname
    if not host:
        raise UrlRejected(f"the URL {redact(url)!r} has no host name")
    if allow_private:
        return
    for ip in resolve(host, port):
        reason = forbidden_reason(ip)
        if reason:
            shown = host if host == str(ip) else f"{host} ({ip})"
            raise UrlRejected(
                f"refusing to fetch {redact(url)!r}: {shown} is {reason}; set ALLOW_PRIVATE_URLS=true "
                f"to allow private addresses"
            )


def literal_address(host: str) -> IPAddress | None:
    """The address ``host`` names without asking DNS: an IP literal, in any spelling the resolver
    accepts without DNS (``127.1``, ``0x7f000001``, ``2130706433``); None for a name."""
    try:
        return ipaddress.ip_address(host.strip("[]").split("%", 1)[0])
    except ValueError:
        pass
    if all(ch in "0123456789abcdefABCDEFxX." for ch in host):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    return None


def check_url_without_dns(url: str, allow_private: bool) -> None:
    """Raise :class:`UrlRejected` for what :func:`check_url` would refuse without asking DNS: a
    scheme other than ALLOWED_SCHEMES, no host, or (unless ``allow_private``) a host that is a
    forbidden address by itself (a literal IP, ``localhost``).

    This is the door check of ``videos add``, ``videos import`` and ``enqueue``: what they accept
    the pipeline may still refuse at fetch time, when the name is resolved (and on every redirect).
    """
    if not isinstance(url, str) or not url.strip():
        raise UrlRejected("the URL is empty")
    if s3_location(url) is not None:  # an S3 object: read with the role's rights, no address to check
        return
    try:
        parts = urlsplit(url.strip())
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError as exc:
        raise UrlRejected(f"malformed URL {redact(url)!r}: {exc}") from None
    scheme = parts.scheme.lower()
    if scheme not in ALLOWED_SCHEMES:
        shown = f"{scheme!r}" if scheme else "none"
        raise UrlRejected(
            f"only {' and '.join(ALLOWED_SCHEMES)} (and s3://) URLs are allowed (scheme: {shown}) in {redact(url)!r}"
        )
    host = parts.hostname
    if not host:
        raise UrlRejected(f"the URL {redact(url)!r} has no host name")
    if allow_private:
        return
    name = host.rstrip(".").lower()
    ip = literal_address(host)
    reason = forbidden_reason(ip) if ip is not None else None
    if name == "localhost" or name.endswith(".localhost"):  # RFC 6761: always the loopback
        reason = "a loopback address"
    if reason:
        raise UrlRejected(
            f"{host} in {redact(url)!r} is {reason}; set ALLOW_PRIVATE_URLS=true to allow private addresses"
        )


def check_redirect(
    current_url: str,
    location: str,
    allow_private: bool,
    guard: Callable[[str], None] | None = None,
) -> str:
    """The absolute URL a redirect points to, after checking it like any other URL (with
    ``guard`` instead of :func:`check_http_url` when given)."""
    if not location or not location.strip():
        raise UrlRejected(f"redirect from {redact(current_url)!r} has no Location")
    target = urljoin(current_url, location.strip())
    try:
        if guard is None:
            check_http_url(target, allow_private)
        else:
            guard(target)
    except UrlRejected as exc:
        raise UrlRejected(f"redirect from {redact(current_url)!r} refused: {exc}") from None
    return target


# --- the connect-time check ------------------------------------------------------------------------
def _check_peer(sock: socket.socket, host: str) -> None:
    try:
        peer = ipaddress.ip_address(str(sock.getpeername()[0]).split("%", 1)[0])
    except (OSError, ValueError):
        return  # not an IP socket (cannot happen for TCP); nothing to check
    reason = forbidden_reason(peer)
    if reason:
        sock.close()
        raise UrlRejected(
            f"refusing to fetch from {host}: it connected to {peer}, which is {reason} "
            f"(checked at connect time: the name may now resolve elsewhere than when the URL was checked)"
        )


class _GuardedHTTPConnection(HTTPConnection):
    def _new_conn(self) -> socket.socket:
        sock = super()._new_conn()
        _check_peer(sock, self.host)
        return sock


class _GuardedHTTPSConnection(HTTPSConnection):
    def _new_conn(self) -> socket.socket:
        sock = super()._new_conn()  # TLS is set up after this, on the checked socket
        _check_peer(sock, self.host)
        return sock


class _GuardedHTTPConnectionPool(HTTPConnectionPool):
    ConnectionCls = _GuardedHTTPConnection


class _GuardedHTTPSConnectionPool(HTTPSConnectionPool):
    ConnectionCls = _GuardedHTTPSConnection


class GuardedHTTPAdapter(HTTPAdapter):
    """A requests adapter whose connections refuse a non-public peer address once connected.

    Mount it on a session (``session.mount("http://", GuardedHTTPAdapter())``, same for https) and
    disable ``trust_env`` so that no proxy stands between the check and the server.
    """

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {
            "http": _GuardedHTTPConnectionPool,
            "https": _GuardedHTTPSConnectionPool,
        }
