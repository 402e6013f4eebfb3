"""The URL guard: which URLs the transcriber may fetch. No network: literal IPs and ``localhost`` only."""

from __future__ import annotations

import ipaddress

import pytest

from vidscribe.adapters.media.urlguard import check_redirect, check_url, forbidden_reason, redact
from vidscribe.errors import UrlRejected


@pytest.mark.parametrize(
    "url",
    [
        "ftp://93.184.216.34/video.mp4",
        "file:///etc/passwd",
        "gopher://93.184.216.34/",
        "javascript:alert(1)",
        "93.184.216.34/video.mp4",  # no scheme
        "",
        "   ",
    ],
)
def test_only_http_and_https_are_allowed(url):
    # Given a URL that is not http(s), when it is checked, then it is refused, even with private allowed
    with pytest.raises(UrlRejected):
        check_url(url, allow_private=False)
    with pytest.raises(UrlRejected):
        check_url(url, allow_private=True)


def test_a_host_is_required():
    with pytest.raises(UrlRejected, match="no host"):
        check_url("http:///video.mp4", allow_private=True)


def test_a_bad_port_is_rejected():
    with pytest.raises(UrlRejected, match="malformed"):
        check_url("http://93.184.216.34:99999/v.mp4", allow_private=False)


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://127.0.0.1/v.mp4", "loopback"),
        ("http://127.8.9.10:8080/v.mp4", "loopback"),
        ("http://10.0.0.5/v.mp4", "private"),
        ("http://172.16.0.1/v.mp4", "private"),
        ("http://172.31.255.254/v.mp4", "private"),
        ("http://192.168.1.20/v.mp4", "private"),
        ("http://169.254.169.254/latest/meta-data/", "metadata"),
        ("http://100.64.0.1/v.mp4", "CGNAT"),
        ("http://0.0.0.0/v.mp4", "unspecified"),
        ("http://224.0.0.1/v.mp4", "multicast"),
        ("http://240.0.0.1/v.mp4", "private"),  # 240.0.0.0/4, reserved
        ("http://[::1]/v.mp4", "loopback"),
        ("http://[::]/v.mp4", "unspecified"),
        ("http://[fe80::1]/v.mp4", "link-local"),
        ("http://[fd00::1]/v.mp4", "private"),
        ("http://[::ffff:127.0.0.1]/v.mp4", "embedding 127.0.0.1"),
        ("http://[::ffff:169.254.169.254]/v.mp4", "metadata"),
        ("http://[::ffff:10.1.2.3]/v.mp4", "embedding 10.1.2.3"),
        ("http://[2002:a9fe:a9fe::1]/v.mp4", "embedding 169.254.169.254"),  # 6to4
        ("http://[64:ff9b::7f00:1]/v.mp4", "embedding 127.0.0.1"),  # NAT64
        ("http://2130706433/v.mp4", "loopback"),  # 127.0.0.1 as one decimal number
        ("http://0x7f.1/v.mp4", "loopback"),
        ("http://localhost:8000/v.mp4", "loopback"),  # a DNS name resolving to loopback
        ("https://LOCALHOST./v.mp4", "loopback"),
    ],
)
def test_non_public_addresses_are_refused(url, reason):
    # Given a URL whose host is (or resolves to) a non-public address
    # When it is checked with private addresses disallowed
    # Then it is refused, and the message says why
    with pytest.raises(UrlRejected, match=reason) as caught:
        check_url(url, allow_private=False)
    assert "ALLOW_PRIVATE_URLS" in str(caught.value)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8000/v.mp4",
        "http://10.0.0.5/v.mp4",
        "http://169.254.169.254/v.mp4",
        "http://[::1]/v.mp4",
        "http://localhost/v.mp4",
    ],
)
def test_private_addresses_are_allowed_when_configured(url):
    check_url(url, allow_private=True)


@pytest.mark.parametrize(
    "url",
    [
        "http://93.184.216.34/video.mp4",
        "https://93.184.216.34:8443/video.mp4?sig=abc",
        "http://[2606:2800:220:1:248:1893:25c8:1946]/v.mp4",
        "http://[::ffff:93.184.216.34]/v.mp4",  # mapped, but a public IPv4
        "http://172.32.0.1/v.mp4",  # just outside 172.16.0.0/12
    ],
)
def test_public_literal_addresses_are_allowed(url):
    # Checking never connects anywhere: a literal address needs no DNS either.
    check_url(url, allow_private=False)


def test_unresolvable_host_is_rejected():
    with pytest.raises(UrlRejected, match="cannot resolve"):
        check_url("http://no-such-host.invalid/v.mp4", allow_private=False)


def test_redirect_targets_are_checked_and_made_absolute():
    assert check_redirect("http://93.184.216.34/a/b.mp4", "../c.mp4", False) == "http://93.184.216.34/c.mp4"
    assert check_redirect("http://93.184.216.34/a", "https://93.184.216.35/x", False) == "https://93.184.216.35/x"
    with pytest.raises(UrlRejected, match="redirect from .*169.254.169.254"):
        check_redirect("http://93.184.216.34/a", "http://169.254.169.254/latest/", False)
    with pytest.raises(UrlRejected, match="scheme"):
        check_redirect("http://93.184.216.34/a", "file:///etc/passwd", True)
    with pytest.raises(UrlRejected, match="no Location"):
        check_redirect("http://93.184.216.34/a", "", True)


def test_messages_never_show_query_strings_or_credentials():
    # Presigned URLs carry their signature in the query string: it must not reach logs.
    assert redact("https://user:pw@example.com:8443/v.mp4?X-Amz-Signature=secret#t=1") == "https://example.com:8443/v.mp4"
    with pytest.raises(UrlRejected) as caught:
        check_url("http://127.0.0.1/v.mp4?token=secret", allow_private=False)
    assert "secret" not in str(caught.value)


@pytest.mark.parametrize(
    ("address", "forbidden"),
    [
        ("8.8.8.8", False),
        ("1.1.1.1", False),
        ("2001:4860:4860::8888", False),
        ("192.0.2.1", True),  # documentation range
        ("198.18.0.1", True),  # benchmarking range
        ("255.255.255.255", True),
        ("ff02::1", True),
        ("2001:db8::1", True),
    ],
)
def test_forbidden_reason(address, forbidden):
    assert (forbidden_reason(ipaddress.ip_address(address)) is not None) is forbidden


def test_the_door_accepts_s3_sources_and_still_refuses_other_schemes():
    # The door check (videos add, import, enqueue) takes what the media layer can read: S3 objects too.
    from vidscribe.adapters.media.urlguard import check_url_without_dns

    check_url_without_dns("s3://media-bucket/videos/a.mp4", allow_private=False)
    check_url_without_dns("https://media-bucket.s3.eu-west-1.amazonaws.com/videos/a.mp4", allow_private=False)
    with pytest.raises(UrlRejected, match="scheme: 'ftp'"):
        check_url_without_dns("ftp://example.com/a.mp4", allow_private=False)
    with pytest.raises(UrlRejected):
        check_url_without_dns("s3://", allow_private=False)


# --- one rule for the door and the fetch: an address in every spelling ------------------------------------
def _no_dns(host, port):
    raise AssertionError(f"{host} is an address: nothing to look up")


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://169.254.169.254./latest/meta-data/", "metadata"),  # the root's trailing dot
        ("http://169.254.169.254../latest/", "metadata"),
        ("http://0251.0376.0251.0376/latest/", "metadata"),  # octal
        ("http://0xa9fea9fe/latest/", "metadata"),  # hexadecimal
        ("http://0xa9.0xfe.0xa9.0xfe/latest/", "metadata"),
        ("http://2852039166/latest/", "metadata"),  # one integer
        ("http://169.254.43518/latest/", "metadata"),  # a.b.c with c 16 bits
        ("http://[::ffff:169.254.169.254]/latest/", "169.254.169.254"),  # IPv4-mapped IPv6
        ("http://[::ffff:a9fe:a9fe]/latest/", "169.254.169.254"),
        ("http://%31%36%39.254.169.254/latest/", "metadata"),  # percent-encoded (urllib3 decodes the host)
        ("http://１６９．２５４．１６９．２５４/latest/", "metadata"),  # full-width digits and dots (IDNA)
        ("http://127。0。0。1/", "loopback"),  # ideographic full stops
        ("http://0177.1/v.mp4", "loopback"),
        ("http://0x7f.0.0.1./v.mp4", "loopback"),
        ("http://[::1]/v.mp4", "loopback"),
        ("http://[fe80::1%25eth0]/v.mp4", "link-local"),  # an IPv6 zone
        ("http://localhost./v.mp4", "loopback"),
        ("http://media.localhost/v.mp4", "loopback"),
        ("http://012.0.0.1/v.mp4", "private"),  # octal 012 is 10
    ],
)
def test_the_door_and_the_fetch_refuse_every_spelling_of_an_address_alike(url, reason):
    # Given a URL whose host spells a forbidden address in some way a resolver or urllib3 reads it
    from vidscribe.adapters.media.urlguard import check_http_url, check_url_without_dns

    # When the door checks it (no DNS) and when the fetch checks it (no lookup: it is an address)
    with pytest.raises(UrlRejected, match=reason) as door:
        check_url_without_dns(url, allow_private=False)
    with pytest.raises(UrlRejected, match=reason) as fetch:
        check_http_url(url, allow_private=False, lookup=_no_dns)
    # Then both refuse it, for the same reason, and private addresses allowed lets both through
    assert "ALLOW_PRIVATE_URLS" in str(door.value) and "ALLOW_PRIVATE_URLS" in str(fetch.value)
    check_url_without_dns(url, allow_private=True)


@pytest.mark.parametrize(
    ("host", "address"),
    [
        ("169.254.169.254.", "169.254.169.254"),
        ("0x7f.1", "127.0.0.1"),
        ("2130706433", "127.0.0.1"),
        ("%31%32%37.0.0.1", "127.0.0.1"),
        ("１２７.０.０.１", "127.0.0.1"),
        ("[::ffff:7f00:1]", "::ffff:7f00:1"),
        ("example.com", None),
        ("example.com.", None),
        ("dead.beef", None),  # hex letters without 0x: a name
        ("1.2.3.4.5", None),
    ],
)
def test_what_an_address_is(host, address):
    from vidscribe.adapters.media.urlguard import host_address

    assert (None if address is None else ipaddress.ip_address(address)) == host_address(host)


def test_a_public_name_goes_to_the_resolver_and_its_answer_is_checked():
    # The control for the spellings above: a name is looked up, and what it resolves to decides
    from vidscribe.adapters.media.urlguard import check_http_url

    check_http_url("https://cdn.example.test/v.mp4", False, lambda host, port: [ipaddress.ip_address("93.184.216.34")])
    with pytest.raises(UrlRejected, match=r"cdn.example.test \(10.0.0.7\) is a private address"):
        check_http_url("https://cdn.example.test/v.mp4", False, lambda host, port: [ipaddress.ip_address("10.0.0.7")])
