"""Scrubbing secrets out of text, whatever form they come in."""

from __future__ import annotations

import pytest

from vidscribe.redaction import MASK, database_url_secrets, redact, register_secret, scrub


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
