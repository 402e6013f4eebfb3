"""The web page's pure parts: which media URLs reach the browser, links and file names built from
ids, the query parameters read, the search's snippets, and what never ships to Lambda."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from infra.lambda_packaging import copy_core
from vidscribe.adapters.postgres.search import snippet_pieces
from vidscribe.cli.serve_command import trusted_hosts
from vidscribe.models import WriteAccess
from vidscribe.web import actions_access
from vidscribe.web.forms import BadInput, catalogue_query, search_query, start_seconds, video_id
from vidscribe.web.links import clock, download_name, query_string, with_query
from vidscribe.web.media_policy import CREDENTIALS, player_media

CORE = Path(__file__).resolve().parents[2] / "shared" / "vidscribe"


@pytest.mark.parametrize(
    ("url", "src"),
    [
        ("https://cdn.example.com/a/b.mp4", "https://cdn.example.com/a/b.mp4"),
        ("http://127.0.0.1:8080/x.webm#t=3", "http://127.0.0.1:8080/x.webm"),
        ("HTTPS://CDN.example.com/v.mp4", "https://CDN.example.com/v.mp4"),
    ],
)
def test_a_plain_http_url_is_embedded_without_its_fragment(url: str, src: str) -> None:
    assert player_media(url) == player_media(url).__class__(src, src)


@pytest.mark.parametrize(
    "url",
    [
        "https://alice:pw@cdn.example.com/a.mp4",
        "https://token@cdn.example.com/a.mp4",
        "https://bucket.s3.amazonaws.com/k.mp4?X-Amz-Signature=abc&X-Amz-Credential=AKIA",
        "https://d111.cloudfront.net/v.mp4?Expires=1&Signature=x&Key-Pair-Id=K",
        "https://cdn.example.com/v.mp4?hdnts=exp=1~acl=/*~hmac=ab",
        "https://cdn.example.com/v.mp4?v=2",  # any query may be a signature: withheld too
        "https://cdn.example.com/v.mp4?",
    ],
)
def test_credentials_or_a_query_withhold_the_url_entirely(url: str) -> None:
    media = player_media(url)
    assert (media.src, media.shown, media.reason) == (None, None, CREDENTIALS)


@pytest.mark.parametrize(
    ("url", "reason", "shown"),
    [
        (None, "this video has no URL", None),
        ("  ", "this video has no URL", None),
        ("s3://bucket/key.mp4", "this video is in S3 (s3://), which a browser cannot play", "s3://bucket/key.mp4"),
        ("javascript:alert(1)", "this video's URL is not an http(s) URL a browser can play", None),
        ("data:video/mp4;base64,AAAA", "this video's URL is not an http(s) URL a browser can play", None),
        ("https:///no-host.mp4", "this video's URL is not an http(s) URL a browser can play", None),
        ("http://[::1/x.mp4", "this video's URL cannot be read", None),
        ("http://host:port/x.mp4", "this video's URL cannot be read", None),
    ],
)
def test_what_a_browser_cannot_play_is_not_embedded_and_says_why(
    url: str | None, reason: str, shown: str | None
) -> None:
    media = player_media(url)
    assert (media.src, media.reason, media.shown) == (None, reason, shown)


def test_ids_travel_percent_encoded_and_come_back_whole() -> None:
    nasty = 'a/b?c#d&e+f g=h%i "ü" 🎬'
    link = with_query("/video", {"id": nasty, "t": 4.6, "empty": None})
    assert link == "/video?id=a%2Fb%3Fc%23d%26e%2Bf%20g%3Dh%25i%20%22%C3%BC%22%20%F0%9F%8E%AC&t=4.6"
    assert parse_qs(urlsplit(link).query) == {"id": [nasty], "t": ["4.6"]}
    assert query_string({"t": 12.0, "u": 0.1 + 0.2}) == "t=12&u=0.3"
    assert with_query("/", {"state": ""}) == "/"


def test_clock_reads_like_a_player() -> None:
    assert [clock(s) for s in (0.0, 4.6, 59.99, 61, 3600, 3725.5, None, float("nan"))] == [
        "0:00", "0:04", "0:59", "1:01", "1:00:00", "1:02:05", "–", "–",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("video_id", "name"),
    [
        ("lecture-42", "lecture-42.vtt"),
        ("talks/2024: intro", "talks_2024_intro.vtt"),
        ("../../etc/passwd", "etc_passwd.vtt"),
        ('a\\b"c\nd', "a_b_c_d.vtt"),
        ("ünï ☃ 日本", "ünï_日本.vtt"),
        ("...", "transcript.vtt"),
        ("x" * 300, "x" * 120 + ".vtt"),
    ],
)
def test_a_download_is_named_after_the_id_safely(video_id: str, name: str) -> None:
    assert download_name(video_id, "vtt") == name


def test_the_catalogue_query_reads_filters_and_a_page() -> None:
    query = catalogue_query({"state": "failed", "language": " de ", "q": "talk", "after": "v9", "limit": "3"})
    assert (query.state, query.language, query.id_contains, query.after, query.limit) == (
        "failed",
        "de",
        "talk",
        "v9",
        3,
    )
    assert catalogue_query({"limit": "0"}).limit == 50 and catalogue_query({}).state is None


@pytest.mark.parametrize(
    ("read", "args", "message"),
    [
        (catalogue_query, {"state": "done "}, None),
        (catalogue_query, {"state": "finished"}, "state: 'finished' is not a state"),
        (catalogue_query, {"limit": "201"}, "limit: a whole number from 0 to 200"),
        (catalogue_query, {"limit": "١٢"}, "limit: a whole number from 0 to 200"),
        (catalogue_query, {"q": "x" * 201}, "q: at most 200 characters"),
        (catalogue_query, {"language": "e\x1bn"}, "language: contains control characters"),
        (catalogue_query, {"after": "\x00"}, "after: video_id contains control characters"),
        (video_id, {}, "id: which video?"),
        (video_id, {"id": "x" * 257}, "id: video_id is 257 characters long (at most 256)"),
        (start_seconds, {"t": "nan"}, "t: a number of seconds"),
        (start_seconds, {"t": "-1"}, "t: a number of seconds"),
        (start_seconds, {"t": "1e999"}, "t: a number of seconds"),
        (search_query, {"q": "x", "since": "last week"}, "since: a date such as 2026-01-31"),
        (search_query, {"q": "x", "page": "0x10"}, "page: a whole number from 0 to 10000"),
    ],
)
def test_a_bad_parameter_names_itself(read, args: dict[str, str], message: str | None) -> None:  # type: ignore[no-untyped-def]
    if message is None:
        read(args)
        return
    with pytest.raises(BadInput) as raised:
        read(args)
    assert str(raised.value).startswith(message)


def test_the_search_query_pages_and_reads_its_date() -> None:
    query = search_query({"q": "  warm bread ", "language": "en", "video": "v1", "since": "2026-01-31", "page": "3"})
    assert query is not None
    assert (query.text, query.language, query.video_id, query.limit, query.offset) == ("warm bread", "en", "v1", 20, 40)
    assert query.since is not None and query.since.isoformat() == "2026-01-31T00:00:00+00:00"
    assert search_query({"q": " "}) is None


def test_a_headline_becomes_pieces_flagged_where_it_matched() -> None:
    # ts_headline's marks are \x02 and \x03 (removed from the text before the headline is made).
    assert snippet_pieces("\x02Warm\x03 bread,\n \x02warm\x03 hands") == (
        ("Warm", True),
        (" bread, ", False),
        ("warm", True),
        (" hands", False),
    )
    assert snippet_pieces("nothing here") == (("nothing here", False),)


def test_actions_are_on_only_for_a_role_that_may_write_without_read_only() -> None:
    assert actions_access(False, WriteAccess(True)).allowed
    assert actions_access(True, WriteAccess(True)) == WriteAccess(False, "the page was started with --read-only")
    role = WriteAccess(False, "the database role may not UPDATE on failures")
    assert actions_access(False, role) == role


def test_only_the_names_of_the_address_listened_on_are_answered() -> None:
    assert trusted_hosts("127.0.0.1") == ["127.0.0.1", "localhost"]
    assert trusted_hosts("192.168.1.20") == ["192.168.1.20", "127.0.0.1", "localhost"]
    assert trusted_hosts("0.0.0.0") is None and trusted_hosts("::1") is None


def test_the_web_page_never_ships_to_lambda(tmp_path: Path) -> None:
    copy_core(CORE, tmp_path / "vidscribe")
    shipped = {p.name for p in (tmp_path / "vidscribe").iterdir()}
    assert "web" not in shipped and "cli" not in shipped and "local" not in shipped
    assert {"workflow", "adapters", "models.py"} <= shipped
