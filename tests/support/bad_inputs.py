"""A corpus of bad inputs for the transcriber, each with the one outcome it must have.

Every entry is a small record: a name, how to build the input (a queue message body, a row of the
``videos`` table, or a ``vidscribe enqueue`` command line) from the addresses of the servers a test
starts, and the expected outcome:

* an ``error_type`` of the failure record, with ``attempts`` 1 (permanent: recorded at once) or 2
  (retryable: one redelivery, then the dead-letter queue and the DLQ consumer);
* :data:`TRANSCRIBED` for inputs that look odd but are valid and must work (Unicode ids, ids full of
  SQL meta-characters: the database is reached through parameterised SQL only);
* :data:`REFUSED_AT_ENQUEUE` for the command line, which refuses before anything is queued
  (``exit_code`` 1 for a URL the guard refuses, 2 for an invalid id or URL).

The servers (see :class:`World`): ``public`` is the media server that stands in for a public CDN (the
test treats exactly its address as public; everything else keeps the real guard); the ``canary``
servers listen on loopback addresses that the guard must refuse, and serve fake secrets that must
never be requested. :func:`install_public_media` puts on the public server what the corpus expects
to find there (404s, an HTML page, a zero-byte file, a truncated MP4, endless redirects, ...).

Secrets: :data:`URL_PASSWORD` and :data:`URL_TOKEN` ride in some URLs (``user:pass@``, a presigned
query string) and must never appear in a log line or a failure record's message.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tests.support.hls_factory import GiantInit
from tests.support.media_server import FaultyMediaServer

TRANSCRIBED = "transcribed"
REFUSED_AT_ENQUEUE = "refused at enqueue"

MESSAGE = "message"  # a body sent to the queue by hand (anyone with an SQS client can)
VIDEOS_ROW = "videos row"  # a row of the videos table: the fetcher queues it
ENQUEUE = "vidscribe enqueue"  # the command line, in-process

SQS_MAX_BODY_BYTES = 256 * 1024  # SQS refuses larger message bodies (the moto endpoint does not)

URL_PASSWORD = "Pa55wdMarker7f3a"
URL_TOKEN = "SigMarker91c2e"

# Names the test's stand-in resolver answers (no /etc/hosts entry, no DNS server needed):
METADATA_NAME = "metadata.attacker.test"  # always resolves to 169.254.169.254
REBIND_NAME = "rebind.attacker.test"  # public when checked, loopback (a canary) when connected

# What the canaries would leak if anyone fetched from them.
CANARY_SECRET = b'{"AccessKeyId": "ASIACANARY", "SecretAccessKey": "canary-secret"}'


@dataclass(frozen=True)
class World:
    """The addresses the corpus points at, from the servers the test started."""

    public: str  # http://<public stand-in>:port -- allowed by the guard (the test says so)
    public_host: str
    public_port: int
    loopback_port: int  # canary on 127.0.0.1
    alt_loopback_port: int  # canary on 127.0.0.2
    v6_loopback_port: int  # canary on [::1]

    def pub(self, name: str) -> str:
        return f"{self.public}/{name}"

    def with_credentials(self, name: str) -> str:
        return f"http://viewer:{URL_PASSWORD}@{self.public_host}:{self.public_port}/{name}"


@dataclass(frozen=True)
class BadInput:
    name: str
    kind: str  # MESSAGE, VIDEOS_ROW or ENQUEUE
    build: Callable[[World], str]  # MESSAGE: the body; VIDEOS_ROW and ENQUEUE: the URL
    expect: str  # error_type of the failure record, TRANSCRIBED or REFUSED_AT_ENQUEUE
    attempts: int = 1  # of the failure record: 1 permanent, 2 retried once
    video_id: str | None = None  # the id the record carries (None: no usable id in the input)
    reason: str = ""  # a fragment the failure message (or the CLI's stderr) must contain
    secrets: tuple[str, ...] = ()  # never in a log line nor in a failure message
    exit_code: int = 0  # ENQUEUE only
    note: str = ""

    def body(self, world: World) -> str:
        """The queue message body (MESSAGE) or the URL (VIDEOS_ROW, ENQUEUE)."""
        return self.build(world)

    @property
    def retried(self) -> bool:
        return self.attempts == 2


def _msg(video_id: object = None, url: object = None) -> Callable[[World], str]:
    """A JSON body (ASCII, as json.dumps writes it); ``url`` may be a function of the world. A field
    given as None is left out."""

    def build(world: World) -> str:
        data: dict[str, object] = {}
        if video_id is not None:
            data["video_id"] = video_id
        if url is not None:
            data["url"] = url(world) if callable(url) else url
        return json.dumps(data)

    return build


def _valid_id(name: str, video_id: str, url: object, expect: str, **fields: object) -> BadInput:
    """A message with a usable video id, whose record must carry that id."""
    return BadInput(name, MESSAGE, _msg(video_id, url), expect, video_id=video_id, **fields)  # type: ignore[arg-type]


def _raw(text: str) -> Callable[[World], str]:
    return lambda world: text


def _pub(name: str) -> Callable[[World], str]:
    return lambda world: world.pub(name)


def _url(template: str) -> Callable[[World], str]:
    """A URL with ``{lo}``, ``{lo2}``, ``{lo6}`` (canary ports) and ``{pub}`` filled in."""
    return lambda w: template.format(
        lo=w.loopback_port, lo2=w.alt_loopback_port, lo6=w.v6_loopback_port, pub=w.public, pub_port=w.public_port
    )


def _huge_padded_body(world: World) -> str:
    """A valid message padded with an unknown field to exactly SQS's 256 KiB limit."""
    head = {"video_id": "bad-huge-padded", "url": world.pub("missing-huge.mp4")}
    empty = json.dumps({**head, "padding": ""})
    return json.dumps({**head, "padding": "x" * (SQS_MAX_BODY_BYTES - len(empty.encode()))})


def _huge_id_body(world: World) -> str:
    """An id of ~250 KiB (far over the 256-character limit): the body stays within 256 KiB."""
    empty = json.dumps({"video_id": "", "url": world.pub("clip.mp4")})
    return json.dumps({"video_id": "y" * (SQS_MAX_BODY_BYTES - len(empty.encode())), "url": world.pub("clip.mp4")})


ASTRAL_256 = "\U0001f3ac" * 256  # 256 characters (1 KiB of UTF-8): exactly at the id length limit
SQL_DROP_ID = "bad-'); DROP TABLE videos; --"
UNICODE_ID = "видео-日本語-🎬-ü"

# The three error types most entries expect, short so that the corpus reads as a table.
M, U, R = "MalformedMessage", "UrlRejected", "FetchRefused"

BAD_INPUTS: tuple[BadInput, ...] = (
    # --- bodies that are not a message ------------------------------------------------------------
    BadInput("not-json", MESSAGE, _raw("this is not json"), M, reason="not JSON"),
    BadInput("truncated-json", MESSAGE, _raw('{"video_id": "bad-trunc", "url": "http'), M, reason="not JSON"),
    BadInput("empty-body", MESSAGE, _raw(""), M, reason="not JSON",
             note="real SQS refuses an empty body; a lenient SQS-compatible endpoint (moto) does not"),
    BadInput("whitespace-body", MESSAGE, _raw(" \n\t "), M, reason="not JSON"),
    BadInput("json-null", MESSAGE, _raw("null"), M, reason="expected an object"),
    BadInput("json-array", MESSAGE, _raw('["bad-array", "http://example.com/v.mp4"]'), M, reason="expected an object"),
    BadInput("json-string", MESSAGE, _raw('"bad-string"'), M, reason="expected an object"),
    BadInput("json-number", MESSAGE, _raw("42"), M, reason="expected an object"),
    BadInput("utf8-bom", MESSAGE, _raw('\ufeff{"video_id": "bad-bom"}'), M, reason="not JSON"),
    BadInput("raw-control-char-in-string", MESSAGE, _raw('{"video_id": "bad-raw\x01ctl"}'), M, reason="not JSON",
             note="JSON forbids raw control characters in strings (real SQS refuses \\x01 too)"),
    BadInput("deeply-nested-array", MESSAGE, _raw("[" * 100_000), M, reason="not JSON",
             note="json.loads raises RecursionError, not ValueError"),
    BadInput("deeply-nested-in-object", MESSAGE,
             _raw('{"video_id": "bad-deep", "x": ' + "[" * 50_000 + "]" * 50_000 + "}"), M, reason="not JSON"),
    BadInput("int-beyond-digit-limit", MESSAGE, _raw('{"video_id": 1' + "0" * 5000 + "}"), M, reason="not JSON"),
    BadInput("nan-id", MESSAGE, _raw('{"video_id": NaN}'), M, reason="video_id"),
    # --- wrong types, missing, empty, blank, too long ---------------------------------------------
    BadInput("id-int", MESSAGE, _msg(42, _pub("clip.mp4")), M, reason="video_id"),
    BadInput("id-list", MESSAGE, _msg(["bad-list"], _pub("clip.mp4")), M, reason="video_id"),
    BadInput("id-object-nosql", MESSAGE, _msg({"$ne": None}, _pub("clip.mp4")), M, reason="video_id"),
    BadInput("id-bool", MESSAGE, _msg(True), M, reason="video_id"),
    BadInput("id-null", MESSAGE, lambda w: json.dumps({"video_id": None, "url": w.pub("clip.mp4")}), M,
             reason="video_id"),
    BadInput("id-missing", MESSAGE, _msg(url=_pub("clip.mp4")), M, reason="video_id"),
    BadInput("id-empty", MESSAGE, _msg("", _pub("clip.mp4")), M, reason="video_id"),
    BadInput("id-blank-unicode-spaces", MESSAGE, _msg(" \u00a0\u3000 ", _pub("clip.mp4")), M, reason="blank"),
    BadInput("id-257-chars", MESSAGE, _msg("z" * 257, _pub("clip.mp4")), M, reason="video_id"),
    BadInput("id-huge-250KiB", MESSAGE, _huge_id_body, M, reason="video_id"),
    _valid_id("url-int", "bad-url-int", 123, M, reason="url"),
    _valid_id("url-list", "bad-url-list", ["http://example.com/v.mp4"], M, reason="url"),
    _valid_id("url-empty", "bad-url-empty", "", M, reason="url"),
    _valid_id("url-4097-chars", "bad-url-long", lambda w: w.pub("a" * 4097), M, reason="url"),
    _valid_id("url-blank", "bad-url-blank", "   ", U, reason="empty"),
    _valid_id("unknown-video-no-url", "bad-unknown", None, M, reason="not in the videos table"),
    BadInput("unknown-video-null-url", MESSAGE, _raw('{"video_id": "bad-null-url", "url": null}'), M,
             video_id="bad-null-url", reason="not in the videos table"),
    BadInput("huge-body-exactly-256KiB", MESSAGE, _huge_padded_body, R, video_id="bad-huge-padded", reason="404",
             note="valid: unknown fields are ignored; the body is kept whole in the record"),
    # --- control characters (JSON-escaped, as a well-behaved client sends them) -------------------
    BadInput("id-nul", MESSAGE, _msg("bad-\u0000-nul", _pub("clip.mp4")), M, reason="control"),
    BadInput("id-newline-log-injection", MESSAGE,
             _msg('bad-nl\n{"level":"INFO","message":"transcribed","video_id":"forged"}', _pub("clip.mp4")), M,
             reason="control"),
    BadInput("id-ansi-escape", MESSAGE, _msg("bad-\u001b[31mred", _pub("clip.mp4")), M, reason="control"),
    BadInput("id-del", MESSAGE, _msg("bad-\u007f", _pub("clip.mp4")), M, reason="control"),
    BadInput("id-c1-control-nel", MESSAGE, _msg("bad-\u0085-nel", _pub("missing-nel.mp4")), M, reason="control",
             note="U+0085 is a (C1) control character and a line break"),
    BadInput("id-line-separator", MESSAGE, _msg("bad-\u2028-ls", _pub("missing-ls.mp4")), M, reason="control",
             note="U+2028 breaks lines in logs and CSV exports"),
    _valid_id("url-nul", "bad-url-nul", lambda w: w.pub("a\u0000b.mp4"), M, reason="url",
              note="PostgreSQL cannot store NUL in text"),
    _valid_id("url-crlf-header-injection", "bad-url-crlf", lambda w: w.pub("a.mp4") + "\r\nX-Injected: yes", M,
              reason="url", note="urlsplit would drop CR/LF silently: the URL fetched would not be the one given"),
    _valid_id("url-trailing-newline", "bad-url-tail-nl", lambda w: w.pub("missing-tail.mp4") + "\n", R, reason="404",
              note="surrounding whitespace (a CSV's line end) is tolerated: the URL is fetched"),
    # --- odd but valid ids: they must work --------------------------------------------------------
    _valid_id("id-sql-drop-table", SQL_DROP_ID, _pub("clip.mp4"), TRANSCRIBED),
    _valid_id("id-unicode", UNICODE_ID, _pub("clip.mp4"), TRANSCRIBED),
    _valid_id("id-sql-or-true", "bad-1' OR '1'='1", _pub("missing-or.mp4"), R, reason="404"),
    _valid_id("id-like-wildcards", "bad-%_\\%", _pub("missing-like.mp4"), R, reason="404"),
    _valid_id("id-emoji-zwj-combining", "bad-👩\u200d💻-cafe\u0301", _pub("missing-zwj.mp4"), R, reason="404",
              note="stored exactly: no normalisation"),
    _valid_id("id-256-astral-chars", ASTRAL_256, _pub("missing-astral.mp4"), R, reason="404",
              note="the limit counts characters, not bytes"),
    # --- schemes other than http(s) ---------------------------------------------------------------
    _valid_id("scheme-file", "bad-file", "file:///etc/passwd", U, reason="scheme"),
    _valid_id("scheme-ftp", "bad-ftp", "ftp://ftp.example.com/v.mp4", U, reason="scheme"),
    _valid_id("scheme-gopher", "bad-gopher", _url("gopher://127.0.0.1:{lo}/_GET%20/"), U, reason="scheme"),
    _valid_id("scheme-data", "bad-data", "data:video/mp4;base64,AAAAIGZ0eXBpc29t", U, reason="scheme"),
    _valid_id("scheme-javascript", "bad-js", "javascript:alert(document.cookie)", U, reason="scheme"),
    _valid_id("scheme-relative", "bad-schemeless", _url("//127.0.0.1:{lo}/x.mp4"), U, reason="scheme"),
    _valid_id("no-host", "bad-nohost", "http:///etc/passwd", U, reason="no host"),
    # --- loopback -----------------------------------------------------------------------------------
    _valid_id("loopback-127.0.0.1", "bad-lo", _url("http://127.0.0.1:{lo}/latest/meta-data/"), U, reason="loopback"),
    _valid_id("loopback-127.1", "bad-lo-short", _url("http://127.1:{lo}/x.mp4"), U, reason="loopback"),
    _valid_id("loopback-hex", "bad-lo-hex", _url("http://0x7f000001:{lo}/x.mp4"), U, reason="loopback"),
    _valid_id("loopback-decimal", "bad-lo-dec", _url("http://2130706433:{lo}/x.mp4"), U, reason="loopback"),
    _valid_id("loopback-127.0.0.2", "bad-lo2", _url("http://127.0.0.2:{lo2}/x.mp4"), U, reason="loopback"),
    _valid_id("loopback-ipv6", "bad-lo6", _url("http://[::1]:{lo6}/x.mp4"), U, reason="loopback"),
    _valid_id("loopback-ipv4-mapped-ipv6", "bad-lo-mapped", _url("http://[::ffff:127.0.0.1]:{lo}/x.mp4"), U,
              reason="loopback"),
    _valid_id("loopback-localhost", "bad-localhost", _url("http://localhost:{lo}/x.mp4"), U, reason="loopback",
              note="a real name resolution (the system resolver)"),
    _valid_id("loopback-localhost-dot", "bad-localhost-dot", _url("http://LOCALHOST.:{lo}/x.mp4"), U,
              reason="loopback"),
    _valid_id("unspecified-0.0.0.0", "bad-zero", _url("http://0.0.0.0:{lo}/x.mp4"), U, reason="unspecified",
              note="connecting to 0.0.0.0 reaches this machine"),
    # --- private ranges -----------------------------------------------------------------------------
    _valid_id("private-10", "bad-10", "http://10.0.0.1/v.mp4", U, reason="private"),
    _valid_id("private-172.16", "bad-172", "http://172.16.0.1/v.mp4", U, reason="private"),
    _valid_id("private-192.168", "bad-192", "https://192.168.1.1/v.mp4", U, reason="private"),
    _valid_id("shared-cgnat", "bad-cgnat", "http://100.64.0.1/v.mp4", U, reason="CGNAT"),
    _valid_id("private-ipv6-ula", "bad-ula", "http://[fd00::1]/v.mp4", U, reason="private"),
    # --- link-local and the cloud metadata service ------------------------------------------------
    _valid_id("metadata-direct", "bad-meta", "http://169.254.169.254/latest/meta-data/iam/security-credentials/", U,
              reason="metadata"),
    _valid_id("metadata-decimal", "bad-meta-dec", "http://2852039166/latest/meta-data/", U, reason="metadata"),
    _valid_id("metadata-ipv4-mapped", "bad-meta-mapped", "http://[::ffff:169.254.169.254]/latest/", U,
              reason="169.254.169.254"),
    _valid_id("metadata-aws-ipv6", "bad-meta-v6", "http://[fd00:ec2::254]/latest/meta-data/", U, reason="private"),
    _valid_id("link-local-ipv6", "bad-ll6", "http://[fe80::1]/v.mp4", U, reason="link-local"),
    _valid_id("metadata-via-dns-name", "bad-meta-dns", f"http://{METADATA_NAME}/latest/meta-data/", U,
              reason="metadata", note="the test's resolver answers 169.254.169.254 for this name"),
    _valid_id("metadata-via-nip-io", "bad-meta-nip", "http://169.254.169.254.nip.io/latest/meta-data/", U,
              note="real DNS: resolves to 169.254.169.254 when online (refused as metadata), not at all offline"),
    _valid_id("dns-rebinding", "good-rebind", _url("http://" + REBIND_NAME + ":{pub_port}/clip.mp4"), TRANSCRIBED,
              note="public at its first lookup, loopback at any later one: a fetch resolves a name once and "
                   "connects only to the addresses it checked, so it never sees the loopback answer"),
    _valid_id("metadata-trailing-dot", "bad-meta-dot", "http://169.254.169.254./latest/meta-data/", U,
              reason="metadata"),
    _valid_id("metadata-percent-encoded", "bad-meta-pct", "http://%31%36%39.254.169.254/latest/meta-data/", U,
              reason="metadata", note="urllib3 decodes a percent-encoded host: the guard reads it the same way"),
    _valid_id("loopback-full-width", "bad-lo-wide", _url("http://１２７.０.０.１:{lo}/x.mp4"), U, reason="loopback",
              note="full-width digits and dots reach the resolver as 127.0.0.1 (IDNA)"),
    # --- redirects from the (allowed) public server -------------------------------------------------
    _valid_id("redirect-to-metadata", "bad-redir-meta", _pub("to-metadata.mp4"), U, reason="metadata"),
    _valid_id("redirect-two-hops-to-metadata", "bad-redir-2hop", _pub("hop-1.mp4"), U, reason="metadata"),
    _valid_id("redirect-307-to-loopback", "bad-redir-lo", _pub("to-loopback.mp4"), U, reason="loopback"),
    _valid_id("redirect-308-to-ipv6-loopback", "bad-redir-lo6", _pub("to-loopback-v6.mp4"), U, reason="loopback"),
    _valid_id("redirect-to-localhost-name", "bad-redir-localhost", _pub("to-localhost.mp4"), U, reason="loopback"),
    _valid_id("redirect-to-private", "bad-redir-10", _pub("to-private.mp4"), U, reason="private"),
    _valid_id("redirect-to-file-scheme", "bad-redir-file", _pub("to-file.mp4"), U, reason="scheme"),
    _valid_id("redirect-loop", "bad-redir-loop", _pub("loop-a.mp4"), R, reason="redirect loop"),
    _valid_id("redirect-endless-chain", "bad-redir-endless", _pub("chain-0.mp4"), R, reason="too many redirects"),
    # --- what the public server answers ---------------------------------------------------------------
    _valid_id("http-404", "bad-404", _pub("missing.mp4"), R, reason="404"),
    _valid_id("http-403", "bad-403", _pub("forbidden.mp4"), R, reason="403"),
    _valid_id("http-500-always", "bad-500", _pub("broken.mp4"), "FetchError", attempts=2, reason="500"),
    _valid_id("html-page-200", "bad-html", _pub("page.mp4"), "NotMedia", reason="text/html"),
    _valid_id("json-not-media", "bad-jsonfile", _pub("manifest.mp4"), "NotMedia", reason="not a media file"),
    _valid_id("zero-byte-file", "bad-empty", _pub("empty.mp4"), "NotMedia", reason="0 bytes"),
    _valid_id("truncated-mp4", "bad-truncated", _pub("truncated.mp4"), "TruncatedMedia", reason="truncated"),
    _valid_id("video-without-audio", "bad-noaudio", _pub("silent-film.mp4"), "NoAudioTrack", reason="no audio"),
    _valid_id("far-over-size-limit", "bad-huge", _pub("huge.mp4"), "MediaTooLarge", reason="MAX_MEDIA_BYTES",
              note="a 64 GiB file (virtual): refused from its Content-Range"),
    _valid_id("over-size-limit-no-range", "bad-huge-norange", _pub("huge-norange.mp4"), "MediaTooLarge",
              reason="MAX_MEDIA_BYTES", note="the server ignores Range: refused from its Content-Length"),
    _valid_id("trickles-forever", "bad-trickle", _pub("trickle.mp4"), "FetchError", attempts=2,
              reason="took longer than", note="bounded by FETCH_TOTAL_TIMEOUT_SECONDS"),
    _valid_id("stalls-after-headers", "bad-stall", _pub("stall.mp4"), "FetchError", attempts=2, reason="timed out",
              note="bounded by HTTP_READ_TIMEOUT"),
    _valid_id("response-head-byte-by-byte", "bad-slow-head", _pub("slow-head.mp4"), "FetchError", attempts=2,
              reason="took longer than", note="a byte every 0.5 s: never idle for the read timeout"),
    _valid_id("endless-100-continue", "bad-continue", _pub("continue.mp4"), "FetchError", attempts=2,
              reason="took longer than", note="bounded by FETCH_TOTAL_TIMEOUT_SECONDS"),
    _valid_id("content-length-unicode-digit", "bad-length", _pub("superscript-length.mp4"), R,
              reason="invalid Content-Length", note="'²': str.isdigit() says yes, int() raises, HTTP allows 0-9 only"),
    # --- MP4 indexes that lie (each bigger than the first request: the index is read, not the file) ---
    _valid_id("mp4-audio-past-the-end", "bad-mp4-past-end", _pub("past-end.mp4"), "TruncatedMedia",
              reason="past the end", note="refused from the index, before any media byte is fetched"),
    _valid_id("mp4-offset-overflow", "bad-mp4-overflow", _pub("overflow.mp4"), "TruncatedMedia",
              reason="past the end", note="0xFFFFFF00 + size wraps in 32 bits; not in 64"),
    _valid_id("mp4-huge-stsz", "bad-mp4-stsz", _pub("huge-stsz.mp4"), "TruncatedMedia", reason="claims",
              note="2^30 entries claimed: FFmpeg would allocate 4 GiB before noticing"),
    _valid_id("mp4-that-is-html", "bad-mp4-html", _pub("fake.mp4"), "NotMedia", reason="not a media file",
              note="served as video/mp4, an HTML page"),
    _valid_id("mp4-empty-mdhd", "bad-mp4-mdhd", _pub("empty-mdhd.mp4"), "TruncatedMedia", reason="mdhd"),
    _valid_id("mp4-short-stsz", "bad-mp4-short-stsz", _pub("short-stsz.mp4"), "TruncatedMedia", reason="stsz"),
    _valid_id("mp4-short-stz2", "bad-mp4-short-stz2", _pub("short-stz2.mp4"), "TruncatedMedia", reason="stz2"),
    # --- HLS -----------------------------------------------------------------------------------------
    _valid_id("hls-includes-itself", "bad-hls-loop", _pub("hls/loop.m3u8"), "BadPlaylist", reason="itself"),
    _valid_id("hls-100k-segments", "bad-hls-huge", _pub("hls/huge.m3u8"), "MediaTooLarge",
              reason="HLS_MAX_SEGMENTS"),
    _valid_id("hls-segment-redirects-to-loopback", "bad-hls-redir", _pub("hls/redirect.m3u8"), "UrlRejected",
              reason="loopback", note="the segment's redirect is checked like any hop; the canary sees nothing"),
    _valid_id("hls-playlist-is-html", "bad-hls-html", _pub("hls/page.m3u8"), "NotMedia",
              reason="not an HLS playlist"),
    _valid_id("hls-live", "bad-hls-live", _pub("hls/live.m3u8"), "LiveStream", reason="live"),
    _valid_id("hls-encrypted", "bad-hls-aes", _pub("hls/aes.m3u8"), "EncryptedMedia", reason="AES-128"),
    _valid_id("hls-byterange-not-a-number", "bad-hls-range", _pub("hls/byterange.m3u8"), "BadPlaylist",
              reason="EXT-X-BYTERANGE"),
    _valid_id("hls-init-section-of-64-mib", "bad-hls-init", _pub("hls/giant-init.m3u8"), "MediaTooLarge",
              reason="MAX_MEDIA_BYTES", note="sent without Content-Length: refused while it streams in"),
    # --- S3 (moto's S3 on the suite's AWS endpoint) ---------------------------------------------------
    _valid_id("s3-no-such-bucket", "bad-s3-bucket", "s3://vidscribe-no-such-bucket/talk.mp4", "FetchRefused",
              reason="NoSuchBucket"),
    _valid_id("s3-malformed-url", "bad-s3-url", "s3://Not_A_Bucket/talk.mp4", "UrlRejected",
              reason="not an S3 object URL"),
    # --- secrets in URLs --------------------------------------------------------------------------
    _valid_id("credentials-in-url-404", "bad-creds", lambda w: w.with_credentials("private.mp4"), R, reason="404",
              secrets=(URL_PASSWORD,)),
    _valid_id("credentials-in-url-metadata", "bad-creds-meta",
              f"http://admin:{URL_PASSWORD}@169.254.169.254/latest/meta-data/", U, reason="metadata",
              secrets=(URL_PASSWORD,)),
    _valid_id("credentials-in-ftp-url", "bad-creds-ftp", f"ftp://admin:{URL_PASSWORD}@ftp.example.com/v.mp4", U,
              reason="scheme", secrets=(URL_PASSWORD,)),
    _valid_id("presigned-token-in-query", "bad-presigned",
              lambda w: w.pub("expired.mp4") + f"?X-Amz-Signature={URL_TOKEN}&X-Amz-Expires=1", R, reason="403",
              secrets=(URL_TOKEN,)),
    # --- URLs that come from the videos table (the fetcher queues them) -----------------------------
    BadInput("videos-row-metadata", VIDEOS_ROW, lambda w: "http://169.254.169.254/latest/user-data", U,
             video_id="bad-row-meta", reason="metadata"),
    BadInput("videos-row-file", VIDEOS_ROW, lambda w: "file:///proc/self/environ", U, video_id="bad-row-file",
             reason="scheme"),
    BadInput("videos-row-redirect-to-loopback", VIDEOS_ROW, _pub("to-loopback.mp4"), U, video_id="bad-row-redir",
             reason="loopback"),
    BadInput("videos-row-html", VIDEOS_ROW, _pub("page.mp4"), "NotMedia", video_id="bad-row-html", reason="text/html"),
    # --- the command line refuses before anything is queued -----------------------------------------
    BadInput("enqueue-metadata", ENQUEUE, lambda w: "http://169.254.169.254/latest/meta-data/", REFUSED_AT_ENQUEUE,
             video_id="bad-cli-meta", exit_code=1, reason="metadata"),
    BadInput("enqueue-file", ENQUEUE, lambda w: "file:///etc/shadow", REFUSED_AT_ENQUEUE, video_id="bad-cli-file",
             exit_code=1, reason="scheme"),
    BadInput("enqueue-loopback", ENQUEUE, _url("http://127.0.0.1:{lo}/x.mp4"), REFUSED_AT_ENQUEUE,
             video_id="bad-cli-lo", exit_code=1, reason="loopback"),
    BadInput("enqueue-metadata-trailing-dot", ENQUEUE, lambda w: "http://169.254.169.254./latest/meta-data/",
             REFUSED_AT_ENQUEUE, video_id="bad-cli-meta-dot", exit_code=1, reason="metadata",
             note="the fetch refuses it too: one reading of an address for the door and the fetch"),
    BadInput("enqueue-metadata-octal", ENQUEUE, lambda w: "http://0251.0376.0251.0376/latest/meta-data/",
             REFUSED_AT_ENQUEUE, video_id="bad-cli-meta-octal", exit_code=1, reason="metadata"),
    BadInput("enqueue-metadata-percent-encoded", ENQUEUE, lambda w: "http://%31%36%39.254.169.254/latest/",
             REFUSED_AT_ENQUEUE, video_id="bad-cli-meta-pct", exit_code=1, reason="metadata"),
    BadInput("enqueue-loopback-full-width", ENQUEUE, _url("http://１２７.０.０.１:{lo}/x.mp4"), REFUSED_AT_ENQUEUE,
             video_id="bad-cli-lo-wide", exit_code=1, reason="loopback"),
    BadInput("enqueue-private-with-credentials", ENQUEUE, lambda w: f"http://admin:{URL_PASSWORD}@10.1.2.3/v.mp4",
             REFUSED_AT_ENQUEUE, video_id="bad-cli-creds", exit_code=1, reason="private", secrets=(URL_PASSWORD,)),
    BadInput("enqueue-id-control-char", ENQUEUE, _pub("clip.mp4"), REFUSED_AT_ENQUEUE, video_id="bad-cli-\x1b[2J",
             exit_code=2, reason="invalid video"),
    BadInput("enqueue-id-too-long", ENQUEUE, _pub("clip.mp4"), REFUSED_AT_ENQUEUE, video_id="w" * 300, exit_code=2,
             reason="invalid video"),
)


def by_kind(kind: str) -> list[BadInput]:
    return [case for case in BAD_INPUTS if case.kind == kind]


# --- what the public server serves ----------------------------------------------------------------
class VirtualFile:
    """A file of any size that exists only as a size (its bytes are zeros, made on demand)."""

    def __init__(self, size: int, content_type: str = "video/mp4") -> None:
        self.size = size
        self.content_type = content_type

    def read_at(self, offset: int, n: int) -> bytes:
        return bytes(max(0, min(n, self.size - offset)))


@functools.cache
def _generated() -> dict[str, bytes]:
    from tests.support import bad_mp4
    from tests.support.hls_factory import fmp4_segments, master_playlist, media_playlist
    from tests.support.media_factory import load_sample_audio, make_noise_video, make_video

    clip = make_video(2.0, container="mp4", faststart=True)
    big = make_noise_video(300_000, 3)  # index at the end, larger than the first request
    return {
        "truncated.mp4": clip[: len(clip) // 2],
        "silent-film.mp4": make_video(1.0, container="mp4", with_audio=False),
        "past-end.mp4": bad_mp4.audio_past_the_end(big),
        "overflow.mp4": bad_mp4.offset_overflow(big),
        "huge-stsz.mp4": bad_mp4.huge_sample_table(big),
        "hls/loop.m3u8": master_playlist(None, [("loop.m3u8", 64_000, "mp4a.40.2")]).encode(),
        "hls/huge.m3u8": media_playlist([f"s{i}.ts" for i in range(100_000)], [1.0] * 100_000).encode(),
        "hls/redirect.m3u8": media_playlist(["seg-redirect.ts"], [4.0]).encode(),
        "hls/live.m3u8": media_playlist(["s0.ts"], [4.0], endlist=False).encode(),
        "hls/aes.m3u8": media_playlist(["s0.ts"], [4.0], key="AES-128").encode(),
        "hls/init.mp4": fmp4_segments(4, load_sample_audio())[0],
        "hls/byterange.m3u8": media_playlist(["s0.ts"], [4.0]).replace("s0.ts", "#EXT-X-BYTERANGE:x@0\ns0.ts").encode(),
        "hls/giant-init.m3u8": media_playlist(["s0.m4s"], [4.0], init="giant-init.mp4").encode(),
        "empty-mdhd.mp4": bad_mp4.empty_mdhd(big),
        "short-stsz.mp4": bad_mp4.short_stsz(big),
        "short-stz2.mp4": bad_mp4.short_stz2(big),
    }


def install_public_media(server: FaultyMediaServer, world: World, clip: Path) -> None:
    """Everything the corpus expects to find on the public server. ``clip`` is real speech."""
    server.add_file("clip.mp4", clip)
    for name, data in _generated().items():
        server.add_bytes(name, data)
    server.add_html("page.mp4")
    server.add_html("hls/page.m3u8")
    server.add_bytes("fake.mp4", b"<!doctype html><html><body>Not found</body></html>", "video/mp4")
    server.redirect("hls/seg-redirect.ts", f"http://127.0.0.2:{world.alt_loopback_port}/x.mp4")
    server.add_bytes("manifest.mp4", b'{"videos": []}\n', "application/json")
    server.add_bytes("slow-head.mp4", b"")
    server.slow_head("slow-head.mp4", interval=0.5)  # under the corpus's 1 s read timeout
    server.add_bytes("continue.mp4", b"")
    server.endless_continue("continue.mp4", interval=0.01)
    server.add_file("superscript-length.mp4", clip)
    server.bad_header("superscript-length.mp4", "Content-Length", "²")
    server.add_virtual("hls/giant-init.mp4", GiantInit(_generated()["hls/init.mp4"], 64 * 1024 * 1024))
    server.unsized("hls/giant-init.mp4")
    server.add_bytes("empty.mp4", b"")
    server.add_virtual("huge.mp4", VirtualFile(64 * 1024**3))
    server.add_virtual("huge-norange.mp4", VirtualFile(64 * 1024**3))
    server.no_range("huge-norange.mp4")
    server.always_fail("forbidden.mp4", 403)
    server.always_fail("expired.mp4", 403)
    server.always_fail("broken.mp4", 500)
    server.trickle("trickle.mp4", bytes(4 * 1024 * 1024), chunk=16, interval=0.05)
    server.add_bytes("stall.mp4", bytes(1024 * 1024))
    server.stall_after("stall.mp4", 100)
    # Redirects. Each forbidden target is a real server (a canary) wherever one can listen.
    server.redirect("to-metadata.mp4", "http://169.254.169.254/latest/meta-data/iam/security-credentials/")
    server.redirect("hop-1.mp4", "hop-2.mp4")
    server.redirect("hop-2.mp4", "http://169.254.169.254/latest/api/token")
    server.redirect("to-loopback.mp4", f"http://127.0.0.2:{world.alt_loopback_port}/latest/meta-data/", status=307)
    server.redirect("to-loopback-v6.mp4", f"http://[::1]:{world.v6_loopback_port}/latest/meta-data/", status=308)
    server.redirect("to-localhost.mp4", f"http://localhost:{world.loopback_port}/latest/meta-data/")
    server.redirect("to-private.mp4", "http://10.0.0.1/internal/admin")
    server.redirect("to-file.mp4", "file:///etc/passwd")
    server.redirect("loop-a.mp4", "loop-b.mp4")
    server.redirect("loop-b.mp4", "loop-a.mp4")
    for i in range(50):  # more hops than MAX_REDIRECTS, never repeating
        server.redirect(f"chain-{i}.mp4", f"chain-{i + 1}.mp4")


def install_canary(server: FaultyMediaServer) -> None:
    """What a forbidden address would give away: the test asserts nobody asked for it."""
    for name in ("latest/meta-data/", "latest/meta-data/iam/security-credentials/", "x.mp4", "_GET /"):
        server.add_bytes(name, CANARY_SECRET, "application/json")
