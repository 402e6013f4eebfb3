"""Which URLs the transcriber may fetch.

URLs come from a database or from hand-written queue messages, so a URL is untrusted input: without
a guard, ``http://169.254.169.254/latest/meta-data/`` would make the transcriber read the cloud
metadata service for whoever can insert a row. The rules:

* only ``http`` and ``https``, with a host name;
* every address the host resolves to must be public: not private, loopback, link-local, multicast,
  reserved, unspecified or shared (CGNAT), including IPv6 forms that embed such an IPv4 address
  (IPv4-mapped ``::ffff:a.b.c.d``, 6to4 ``2002::/16``, NAT64 ``64:ff9b::/96``, Teredo);
* the same check applies to every redirect hop (:func:`check_redirect`);
* the same check applies to every connection (``dialer.py``), which connects only to the addresses
  it checked, resolved once per fetch: that is what defeats DNS rebinding (a name that resolves to
  a public address when checked and to ``127.0.0.1`` a moment later is never asked twice);
* an address is an address in every spelling: :func:`host_address` is the one reading of a host
  (``0x7f.1``, ``2130706433``, ``169.254.169.254.``, percent-escapes, full-width digits), used by
  the door (:func:`check_url_without_dns`) and by the fetch alike.

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
from typing import Protocol
from urllib.parse import unquote, urljoin, urlsplit

from ...contract import S3_BUCKET_PATTERN
from ...errors import UrlRejected
from ...redaction import redact
from .deadline import Deadline, call_within

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


class Resolver(Protocol):
    """Names to addresses: the seam a test uses to make a name resolve slowly or to many addresses."""

    def __call__(self, host: str, port: int) -> list[IPAddress]: ...


def system_resolver(host: str, port: int) -> list[IPAddress]:
    """The system's resolver (``getaddrinfo``: /etc/hosts, DNS, ...), each address once, in its order."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise UrlRejected(f"cannot resolve host {host!r}: {exc}") from None
    addresses: list[IPAddress] = []
    for _family, _type, _proto, _canon, sockaddr in infos:
        ip = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])  # drop an IPv6 zone id
        if ip not in addresses:
            addresses.append(ip)
    return addresses


def resolve(
    host: str, port: int | None, resolver: Resolver | None = None, deadline: Deadline | None = None
) -> list[IPAddress]:
    """Every address ``host`` resolves to: a literal address is itself (no lookup, whatever its spelling);
    a name goes to ``resolver`` (the system's by default), within ``deadline`` when one is given."""
    ip = host_address(host)
    if ip is not None:
        return [ip]
    name = canonical_host(host)
    lookup = resolver or system_resolver
    if deadline is None:
        addresses = lookup(name, port or 0)
    else:
        addresses = call_within(deadline, lambda: lookup(name, port or 0), f"resolving {name!r}")
    if not addresses:
        raise UrlRejected(f"host {name!r} resolves to no address")
    return addresses


# --- what an address is: one rule for the door and for the fetch ----------------------------------------
_NUMERIC_V4 = re.compile(r"[0-9a-fx.]+", re.ASCII)


def canonical_host(host: str) -> str:
    """The host as the HTTP client and the resolver read it: percent-escapes decoded (urllib3 decodes
    them), IDNA-normalised (full-width digits and ideographic full stops reach the resolver as ASCII),
    lower case, without brackets, an IPv6 zone or trailing dots (``169.254.169.254.`` is that address)."""
    name = unquote(host).strip().strip("[]").split("%", 1)[0].lower()
    if not name.isascii():
        try:
            name = name.encode("idna").decode("ascii").lower()
        except UnicodeError:
            return name.rstrip(".")  # not a name any resolver takes: it will not resolve
    return name.rstrip(".")


def host_address(host: str) -> IPAddress | None:
    """The address ``host`` names by itself, with no lookup, in every spelling a resolver takes
    (``127.1``, ``0177.0.0.1``, ``0x7f000001``, ``2130706433``, ``[::ffff:a9fe:a9fe]``, ``%31%32%37.0.0.1``,
    ``１２７.０.０.１``, ``169.254.169.254.``); None for a name."""
    name = canonical_host(host)
    try:
        return ipaddress.ip_address(name)
    except ValueError:
        pass
    if name and _NUMERIC_V4.fullmatch(name):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(name))
        except OSError:
            return None
    return None


def reason_without_dns(host: str) -> str | None:
    """Why ``host`` may not be fetched from, from its spelling alone: a forbidden literal address, or a
    name that is always the loopback (``localhost``, ``*.localhost``: RFC 6761); None otherwise."""
    ip = host_address(host)
    if ip is not None:
        return forbidden_reason(ip)
    name = canonical_host(host)
    if name == "localhost" or name.endswith(".localhost"):
        return "a loopback address"
    return None


def refusal(host: str, addresses: list[IPAddress]) -> tuple[IPAddress, str] | None:
    """The first of ``addresses`` (what ``host`` resolved to) that may not be fetched from, and why."""
    for ip in addresses:
        reason = forbidden_reason(ip)
        if reason:
            return ip, reason
    return None


# --- S3 locations ----------------------------------------------------------------------------------------
_BUCKET = rf"(?P<bucket>{S3_BUCKET_PATTERN})"
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


Lookup = Callable[[str, int | None], list[IPAddress]]


def _http_parts(url: str, schemes: str) -> tuple[str, int | None]:
    """(host, port) of an http(s) URL; UrlRejected for anything else (``schemes`` names what is allowed)."""
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
        raise UrlRejected(f"only {schemes} URLs are allowed (scheme: {shown}) in {redact(url)!r}")
    host = parts.hostname
    if not host:
        raise UrlRejected(f"the URL {redact(url)!r} has no host name")
    return host, port


def _refused(url: str, host: str, ip: IPAddress | None, reason: str) -> UrlRejected:
    shown = host if ip is None or canonical_host(host) == str(ip) else f"{host} ({ip})"
    return UrlRejected(
        f"refusing to fetch {redact(url)!r}: {shown} is {reason}; set ALLOW_PRIVATE_URLS=true to allow private "
        f"addresses"
    )


def check_http_url(url: str, allow_private: bool, lookup: Lookup | None = None) -> None:
    """Raise :class:`UrlRejected` unless ``url`` is an http(s) URL whose host is allowed.

    Resolves the host name (``lookup``: the fetch's own, bounded by its deadline; else the system's)
    unless ``allow_private`` is set; does not connect anywhere.
    """
    host, port = _http_parts(url, "http and https")
    if allow_private:
        return
    reason = reason_without_dns(host)
    if reason:
        raise _refused(url, host, host_address(host), reason)
    found = refusal(host, (lookup or resolve)(host, port))
    if found:
        raise _refused(url, host, *found)


def check_url_without_dns(url: str, allow_private: bool) -> None:
    """Raise :class:`UrlRejected` for what :func:`check_url` would refuse without asking DNS: a
    scheme other than ALLOWED_SCHEMES, no host, or (unless ``allow_private``) a host that is a
    forbidden address by itself (a literal IP in any spelling, ``localhost``): the same rule
    (:func:`reason_without_dns`) the fetch applies before it resolves anything.

    This is the door check of ``videos add``, ``videos import`` and ``enqueue``: what they accept
    the pipeline may still refuse at fetch time, when the name is resolved (and on every redirect).
    """
    if not isinstance(url, str) or not url.strip():
        raise UrlRejected("the URL is empty")
    if s3_location(url) is not None:  # an S3 object: read with the role's rights, no address to check
        return
    host, _port = _http_parts(url, f"{' and '.join(ALLOWED_SCHEMES)} (and s3://)")
    if allow_private:
        return
    reason = reason_without_dns(host)
    if reason:
        raise UrlRejected(
            f"{host} in {redact(url)!r} is {reason}; set ALLOW_PRIVATE_URLS=true to allow private addresses"
        )


def check_redirect(
    current_url: str,
    location: str,
    allow_private: bool,
    guard: Callable[[str], None] | None = None,
    lookup: Lookup | None = None,
) -> str:
    """The absolute URL a redirect points to, after checking it like any other URL (with
    ``guard`` instead of :func:`check_http_url` when given)."""
    if not location or not location.strip():
        raise UrlRejected(f"redirect from {redact(current_url)!r} has no Location")
    try:
        target = urljoin(current_url, location.strip())
    except ValueError as exc:  # an unparseable Location (a bad IPv6 literal, ...)
        raise UrlRejected(f"redirect from {redact(current_url)!r} refused: malformed Location: {exc}") from None
    try:
        if guard is None:
            check_http_url(target, allow_private, lookup)
        else:
            guard(target)
    except UrlRejected as exc:
        raise UrlRejected(f"redirect from {redact(current_url)!r} refused: {exc}") from None
    return target
