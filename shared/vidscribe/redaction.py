"""Keeping secrets out of what is printed, logged and stored.

Two tools:

- :func:`redact` makes one URL safe to show (no credentials, no query, no fragment);
- :func:`scrub` makes any text safe to show and to store: every secret registered with
  :func:`register_secret` (the database password, API keys: :func:`register_settings_secrets`
  registers those of the configuration), a URL's ``user:password@``, every value of a URL's query
  string and fragment, by structure rather than by name (a presigned URL's signature, an Akamai
  ``hdnts=``, an nginx ``md5=``, whatever a CDN calls its token), wherever the URL appears,
  absolute or relative (urllib3 writes ``... with url: /v.mp4?<query>``), ``password=...``-style
  pairs (a key=value DSN) and bearer tokens are replaced by ``***``; and every character that a
  terminal would obey or PostgreSQL cannot store (control characters but tab and newline, lone
  surrogates) becomes its ``\\uXXXX`` escape, which keeps a JSON text JSON (and means the same
  there) and a server's escape codes inert. The log formatter, the command line's output and the
  failure records all go through it, whatever form the secret takes: the database driver echoes
  parts of a malformed DSN in its errors, a hand-written message may carry a URL with a token, and
  a media server chooses its own reason phrase and Content-Type.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterable
from typing import TYPE_CHECKING
from urllib.parse import urlsplit, urlunsplit

if TYPE_CHECKING:
    from .config import Settings

MASK = "***"
_MIN_SECRET_LENGTH = 4  # shorter "secrets" would mask ordinary words


def redact(url: str) -> str:
    """The URL without credentials, query or fragment: safe for messages and logs (a presigned
    URL's signature lives in its query string)."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        if ":" in host:
            host = f"[{host}]"
        netloc = f"{host}:{parts.port}" if parts.port else host
        return urlunsplit((parts.scheme, netloc, parts.path, "", ""))
    except ValueError:
        return "<unparseable url>"


# --- known secrets ---------------------------------------------------------------------------------
class _KnownSecrets:
    """The secrets :func:`scrub` masks. One per process on purpose: every log line, error and CLI
    output goes through scrub, wherever it was written from."""

    def __init__(self) -> None:
        self._values: set[str] = set()
        self._lock = threading.Lock()
        self.longest_first: tuple[str, ...] = ()  # longest first: no partial masks

    def add(self, value: str) -> None:
        with self._lock:
            if value not in self._values:
                self._values.add(value)
                self.longest_first = tuple(sorted(self._values, key=len, reverse=True))


_known = _KnownSecrets()


def register_secret(value: str | None) -> None:
    """Mask ``value`` wherever :func:`scrub` meets it from now on (for the life of the process)."""
    if value and len(value) >= _MIN_SECRET_LENGTH:
        _known.add(value)


def database_url_secrets(dsn: str) -> list[str]:
    """What must never be shown of a database URL, whatever its form: the password of a
    ``postgresql://`` URL or of a key=value DSN; for a string that is neither (garbage), the whole
    string and anything that looks like ``user:password@`` in it."""
    found: list[str] = []
    text = dsn.strip()
    match = re.match(r"^[A-Za-z][A-Za-z0-9+.-]*://", text)
    if match:
        try:
            password = urlsplit(text).password
        except ValueError:
            password = None
        if password:
            found.append(password)
        found += [m.group(2) for m in _QUERY_SECRET.finditer(text)]
    pairs = [m.group(2) for m in _PAIR_SECRET.finditer(text)]
    found += [p.strip("'\"") for p in pairs]
    if not match and not re.search(r"(^|\s)\w+\s*=", text):
        found.append(text)  # neither a URL nor key=value: it may be anything, password included
    found += [m.group(1) for m in re.finditer(r":([^:/@\s]{1,1024})@", text)]
    return [s for s in found if s]


def register_settings_secrets(settings: Settings) -> None:
    """Register the secrets of the configuration and of the environment's AWS credentials."""
    if settings.database_url is not None:
        for secret in database_url_secrets(settings.database_url.get_secret_value()):
            register_secret(secret)
    if settings.openai_api_key is not None:
        register_secret(settings.openai_api_key.get_secret_value())
    for name in ("AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        register_secret(os.environ.get(name))


# --- scrubbing -------------------------------------------------------------------------------------
# Every repetition is bounded, and URLs are looked at one whitespace- or quote-delimited token at a
# time: scrub() meets 256 KiB message bodies, where a pattern tried at each position and scanning
# far would take quadratic time.
_TOKENS = re.compile(r"""([\s"'<>\\]+)""")
# scheme://user:password@  and  scheme://token@
_USERINFO = re.compile(r"([A-Za-z][A-Za-z0-9+.-]{0,31}://)[^/@]{1,1024}@")
# password=..., token: ..., "api_key": "..." (key=value DSNs, messages, JSON)
_SECRET_KEYS = (
    r"password|passwd|pwd|sslpassword|secret|token|api[_-]?key|access[_-]?key|secret[_-]?access[_-]?key"
    r"|session[_-]?token|signature|x-amz-signature|x-amz-security-token|sig"
)
_PAIR_SECRET = re.compile(
    rf"(?i)\b({_SECRET_KEYS})\s{{0,8}}=\s{{0,8}}('[^']{{0,1024}}'|\"[^\"]{{0,1024}}\"|[^\s&;,\"'\\]{{1,1024}})"
)
_QUERY_SECRET = re.compile(rf"(?i)[?&]({_SECRET_KEYS})=([^&#\s]{{1,4096}})")
_JSON_SECRET = re.compile(rf"(?i)(\"(?:{_SECRET_KEYS})\"\s{{0,8}}:\s{{0,8}})\"[^\"]{{0,4096}}\"")
_BEARER = re.compile(r"(?i)\b(bearer)\s+[A-Za-z0-9._~+/=-]{8,}")
_API_KEY = re.compile(r"\bsk-[A-Za-z0-9_-]{8,}")


def _mask_pairs(text: str) -> str:
    """``a=1&b=2`` as ``a=***&b=***``: the names are kept (they say what was there)."""
    return "&".join(
        f"{name}={MASK}" if sep and value else part
        for part in text.split("&")
        for name, sep, value in [part.partition("=")]
    )


def _scrub_url(token: str) -> str:
    """A token that may hold a URL, absolute or relative: its userinfo masked, and every value of
    its query string and fragment."""
    scheme_at = token.find("://")
    if scheme_at >= 0:
        token = _USERINFO.sub(rf"\1{MASK}@", token)
    query_at = token.find("?", max(scheme_at, 0))
    hash_at = token.find("#", max(scheme_at, 0))
    if query_at < 0 and (hash_at < 0 or scheme_at < 0):
        return token  # no query, and no fragment of an absolute URL ("#EXT-X-KEY:METHOD=..." is no URL)
    start = query_at if query_at >= 0 and (hash_at < 0 or query_at < hash_at) else hash_at
    query, hash_mark, fragment = token[start + 1 :].partition("#")
    if token[start] == "#":
        query, hash_mark, fragment = "", "", query
    masked_query = _mask_pairs(query) if "=" in query else query
    masked_fragment = _mask_pairs(fragment) if "=" in fragment else fragment
    return f"{token[: start + 1]}{masked_query}{hash_mark}{masked_fragment}"


# What a terminal would obey or PostgreSQL cannot store: C0 controls but tab and newline (NUL
# included), DEL, C1 controls, the line and paragraph separators, and lone surrogates.
_UNSAFE_CHARACTERS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")


def escape_unsafe(text: str) -> str:
    """``text`` with what a terminal would obey or PostgreSQL cannot store escaped (``\\uXXXX``), and
    nothing else changed: for what is shown as it is, such as a video id."""
    return _UNSAFE_CHARACTERS.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def scrub(text: str, extra_secrets: Iterable[str] = ()) -> str:
    """``text`` with every secret it may carry masked (see the module's docstring)."""
    if not text:
        return text
    for secret in (*sorted(extra_secrets, key=len, reverse=True), *_known.longest_first):
        if secret and len(secret) >= _MIN_SECRET_LENGTH and secret in text:
            text = text.replace(secret, MASK)
    if "?" in text or "://" in text:
        text = "".join(_scrub_url(part) if ("://" in part or "?" in part) else part for part in _TOKENS.split(text))
    text = _PAIR_SECRET.sub(rf"\1={MASK}", text)
    text = _JSON_SECRET.sub(rf'\1"{MASK}"', text)
    text = _BEARER.sub(rf"\1 {MASK}", text)
    return escape_unsafe(_API_KEY.sub(f"sk-{MASK}", text))
