"""Scrubbing secrets out of text, whatever form they come in."""

from __future__ import annotations

import json
import re

import pytest

from vidscribe.redaction import MASK, database_url_secrets, escape_unsafe, redact, register_secret, scrub


@pytest.mark.parametrize(
    "dsn, secret",
    [
        ("postgresql://app:S3cret-pw@db:5432/prod", "S3cret-pw"),
        ("postgresql://app@db/prod?password=S3cret-pw&sslmode=require", "S3cret-pw"),
        ("host=db port=5432 user=app password=S3cret-pw dbname=prod", "S3cret-pw"),
        ("host=db password='S3cret pw' dbname=prod", "S3cret pw"),
        ("postgres//app:S3cret-pw@db/x", "S3cret-pw"),
        ("S3cret-pw", "S3cret-pw"),
    ],
    ids=["url", "url-query", "key-value", "key-value-quoted", "malformed-url", "garbage"],
)
def test_every_form_of_database_url_gives_up_its_secret(dsn: str, secret: str) -> None:
    found = database_url_secrets(dsn)
    assert secret in found
    # what psycopg2 says about a malformed DSN, quoting part of it
    assert secret not in scrub(f'invalid dsn: missing "=" after "{dsn}" in connection info string', found)


def test_registered_secrets_are_masked_anywhere() -> None:
    register_secret("Registered-0xDEADBEEF")
    assert scrub("error: bad token Registered-0xDEADBEEF here") == f"error: bad token {MASK} here"
    register_secret("abc")  # too short to be worth masking: it would mask ordinary words
    assert scrub("abc") == "abc"


@pytest.mark.parametrize(
    "text, kept, gone",
    [
        ("GET https://viewer:pw123456@media.example/v.mp4 failed", "media.example/v.mp4", "pw123456"),
        ('{"url": "https://m.example/v.mp4?X-Amz-Signature=abc123&v=2"}', "X-Amz-Signature=", "abc123"),
        ("password=hunter2x host=db", "host=db", "hunter2x"),
        ('{"api_key": "k-123456789"}', '"api_key"', "k-123456789"),
        ("Authorization: Bearer eyJhbGciOiJIUzI1NiJ9", "Bearer", "eyJhbGciOiJIUzI1NiJ9"),
        ("key sk-proj-0123456789abcdef refused", "refused", "0123456789abcdef"),
        ('{\\"url\\": \\"https://u:pw123456@m/v\\"}', "m/v", "pw123456"),
    ],
    ids=["userinfo", "query", "pair", "json", "bearer", "openai-key", "escaped-json"],
)
def test_scrub(text: str, kept: str, gone: str) -> None:
    scrubbed = scrub(text)
    assert kept in scrubbed and gone not in scrubbed


def test_scrub_stays_linear_on_huge_bodies() -> None:
    # 256 KiB bodies reach the failure records: no pattern may backtrack over them
    for body in ("a" * 262_144, "h://" * 65_536, ":" * 262_144, "x://a?" + "b=c&" * 60_000):
        assert len(scrub(body)) >= len(body) // 2


def test_redact_drops_credentials_and_query() -> None:
    assert redact("https://u:p@host:8443/a/b.mp4?token=x#t") == "https://host:8443/a/b.mp4"


# --- query values by structure, whatever their names, wherever the URL is ----------------------------
QUERY_SECRETS = {
    "auth_key": "AuthKeyPlanted1",  # Wowza / Akamai-style
    "hdnts": "exp=1700000000~acl=/*~hmac=HdntsPlanted2",  # Akamai token auth
    "md5": "Md5Planted3",  # nginx secure_link
    "zq_madeup": "MadeUpPlanted4",  # a name no list would have
}
QUERY = "&".join(f"{name}={value}" for name, value in QUERY_SECRETS.items())


@pytest.mark.parametrize(
    "text",
    [
        f"https://cdn.example/v.mp4?{QUERY}",
        # urllib3's connection and TLS errors name the relative URL only
        f"HTTPConnectionPool(host='cdn.example', port=80): Max retries exceeded with url: /v.mp4?{QUERY} (Caused by X)",
        f"/v.mp4?{QUERY}",
        f"url=/v.mp4?{QUERY}",
        f"GET https://u:PassPlanted5@cdn.example/v.mp4?{QUERY}#t=12&sig=FragPlanted6 failed",
    ],
    ids=["absolute", "urllib3-relative", "bare-relative", "key-value", "userinfo-and-fragment"],
)
def test_every_query_value_is_masked_whatever_its_name(text: str) -> None:
    scrubbed = scrub(text)
    for name, value in QUERY_SECRETS.items():
        assert f"{name}={MASK}" in scrubbed and value not in scrubbed, scrubbed
    assert "PassPlanted5" not in scrubbed and "FragPlanted6" not in scrubbed
    assert "v.mp4?" in scrubbed  # what was fetched stays readable


@pytest.mark.parametrize("indent", [None, 2])
def test_a_json_text_stays_json_with_the_same_keys(indent: int | None) -> None:
    # A failure record's original_message is the message body: scrubbed, it must still parse
    body = {"url": f"http://h/a.mp4?token=abc123&{QUERY}", "video_id": "x", "note": "keep?this=plain text"}
    text = json.dumps(body, indent=indent)
    parsed = json.loads(scrub(text))
    assert parsed["video_id"] == "x" and parsed["url"].startswith("http://h/a.mp4?token=***&auth_key=***")
    assert not any(value in parsed["url"] for value in QUERY_SECRETS.values())
    # the exact case the issue reports: the closing quote of the URL's string survives
    assert scrub('{"url": "http://h/a.mp4?token=abc", "video_id": "x"}') == (
        '{"url": "http://h/a.mp4?token=***", "video_id": "x"}'
    )


def test_a_relative_url_in_escaped_json_is_masked() -> None:
    scrubbed = scrub('{\\"error\\": \\"with url: /v.mp4?auth_key=AuthKeyPlanted1\\"}')
    assert "AuthKeyPlanted1" not in scrubbed and scrubbed.endswith('auth_key=***\\"}')


def test_text_without_a_query_is_left_alone() -> None:
    for text in ("is the server running? check the port", "#12  v1  FetchRefused", "a=b c=d", "what?no"):
        assert scrub(text) == text


# --- what a terminal would obey, what PostgreSQL cannot store ---------------------------------------
def test_control_characters_and_lone_surrogates_become_inert_escapes() -> None:
    # Given a reason phrase and a Content-Type as a hostile server sends them, and the characters
    # PostgreSQL cannot store (NUL, a lone surrogate)
    text = "HTTP 403 Forbidden\x1b[2J\x1b]0;owned\x07 sent text/html\x9b31m nul\x00 half\ud800 ls\u2028 tab\tnl\nend"
    scrubbed = scrub(text)
    # Then nothing a terminal obeys is left; tab and newline are ordinary text; each escape is readable
    assert not re.search("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]", scrubbed)
    assert "Forbidden\\u001b[2J\\u001b]0;owned\\u0007" in scrubbed and "\\u009b31m" in scrubbed
    assert "nul\\u0000 half\\ud800 ls\\u2028 tab\tnl\nend" in scrubbed
    scrubbed.encode("utf-8")  # storable: no lone surrogate left
    # and inside a JSON string the escapes are JSON's own: the text means what it meant
    body = json.dumps({"video_id": "a\x85b\u2028", "x": "\ud800"}, ensure_ascii=False)
    assert json.loads(scrub(body)) == {"video_id": "a\x85b\u2028", "x": "\ud800"}


def test_escape_unsafe_changes_nothing_else() -> None:
    assert escape_unsafe("talk?lang=en token=x \x1b[31m") == "talk?lang=en token=x \\u001b[31m"


def test_a_fragment_is_masked_only_in_a_url() -> None:
    assert scrub("https://h/cb#access_token=FragPlanted7&x=1") == "https://h/cb#access_token=***&x=***"
    assert scrub("/v.mp4?a=1#t=FragPlanted8") == "/v.mp4?a=***#t=***"
    assert scrub("the playlist has #EXT-X-KEY:METHOD=AES-128") == "the playlist has #EXT-X-KEY:METHOD=AES-128"
