"""The web page over HTTP (real PostgreSQL, real waitress, ``requests``): what every response
carries, what each page shows for hostile data, the catalogue's filters and paging, the transcript
files, and who may write. The browser's side (the player, the captions, scripts that must not run)
is ``test_web_browser.py``."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from urllib.parse import quote

import psycopg2
import pytest
import requests
from markupsafe import escape
from psycopg2 import sql

from tests.support.database import PostgresUnderTest
from tests.support.web import RunningWeb, csrf_token, running_web
from vidscribe.export import render
from vidscribe.models import Segment, Transcript
from vidscribe.web.app import CONTENT_SECURITY_POLICY

NASTY_ID = 'talk/2024?q=1#part 2&x+y "ü" <b>'
HOSTILE_TEXT = '<script>window.__pwned = 1</script> "onerror="window.__pwned=2" <img src=x onerror=alert(1)>'


def transcript(text: str, segments: list[Segment], *, language: str = "en", model: str = "tiny.en") -> Transcript:
    return Transcript(text, segments, language, segments[-1].end if segments else 0.0, "local", model,
                      speech_seconds=3.0, cost_usd=0.0)  # fmt: skip


@pytest.fixture()
def web(store: PostgresUnderTest, database_url: str) -> Iterator[RunningWeb]:
    with running_web(database_url) as running:
        yield running


def get(url: str, **kwargs: object) -> requests.Response:
    return requests.get(url, timeout=10, **kwargs)  # type: ignore[arg-type]


# --- every response ------------------------------------------------------------------------------
def test_every_page_carries_the_security_headers(store: PostgresUnderTest, web: RunningWeb) -> None:
    store.add_videos([("v1", "https://media.example.com/v1.mp4")])
    store.save_transcript("v1", transcript("hello", [Segment(0.0, 1.0, "hello")]))
    for path in ("", "search?q=hello", "video?id=v1", "status", "transcript.vtt?id=v1", "nope"):
        response = get(web.page(path))
        assert response.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY, path
        assert response.headers["X-Content-Type-Options"] == "nosniff", path
        assert response.headers["Referrer-Policy"] == "same-origin", path
        assert re.fullmatch(r"app;dur=\d+\.\d\d", response.headers["Server-Timing"]), path
    assert "script-src 'self';" in CONTENT_SECURITY_POLICY and "'unsafe-inline'" not in CONTENT_SECURITY_POLICY


def test_a_host_name_it_was_not_started_for_is_refused(web: RunningWeb) -> None:
    # A page on another site whose name was rebound to 127.0.0.1 sends its own name as the Host.
    assert get(web.page(""), headers={"Host": "attacker.example"}).status_code == 400
    assert get(web.page("").replace("127.0.0.1", "localhost")).status_code == 200


# --- ids, links and hostile text ---------------------------------------------------------------
def test_an_id_with_reserved_characters_travels_percent_encoded_and_comes_back_whole(
    store: PostgresUnderTest, web: RunningWeb
) -> None:
    store.add_videos([(NASTY_ID, "https://media.example.com/n.mp4")])
    store.save_transcript(NASTY_ID, transcript("hi", [Segment(0.0, 1.0, "hi")]))
    catalogue = get(web.page("")).text
    link = html.unescape(re.search(r'href="(/video\?id=[^"]+)"', catalogue).group(1))
    assert link == "/video?id=" + quote(NASTY_ID, safe="")
    assert "%2F" in link and "%3F" in link and "%23" in link and "%26" in link and "%2B" in link
    page = get(web.page(link))
    assert page.status_code == 200
    assert f'<h1 class="video-title">{escape(NASTY_ID)}</h1>' in page.text
    vtt = get(web.page("transcript.vtt?id=" + quote(NASTY_ID, safe="")))
    assert vtt.status_code == 200 and vtt.text.startswith("WEBVTT")


def test_hostile_text_is_escaped_in_every_page(store: PostgresUnderTest, web: RunningWeb) -> None:
    hostile_id = '<img src=x onerror=alert(1)>"'
    store.add_videos([(hostile_id, "https://media.example.com/h.mp4")])
    store.save_transcript(hostile_id, transcript(HOSTILE_TEXT, [Segment(0.0, 2.0, HOSTILE_TEXT)]))
    store.record_failure(hostile_id, "NotMedia", "<script>bad()</script> served text/html", 1, None)
    pages = [
        get(web.page(p)).text for p in ("", "search?q=onerror", "video?id=" + quote(hostile_id, safe=""), "status")
    ]
    for body in pages:
        assert "<img src=x" not in body and "<script>window" not in body and "<script>bad" not in body
    assert "&lt;img src=x onerror=alert(1)&gt;&#34;" in pages[0]
    assert "&lt;script&gt;window.__pwned = 1&lt;/script&gt; &#34;onerror=&#34;window.__pwned=2&#34;" in pages[2]
    # Full-text search reads "<script>" and "<img ...>" as markup (PostgreSQL's parser drops tags):
    # the word found is the one outside them, and the page escapes the rest.
    assert "<mark>onerror</mark>" in pages[1]
    assert "&lt;script&gt;bad()&lt;/script&gt;" in pages[3]
    vtt = get(web.page("transcript.vtt?id=" + quote(hostile_id, safe="")))
    assert vtt.headers["Content-Type"] == "text/vtt; charset=utf-8"
    assert "&lt;script&gt;" in vtt.text and "<script>" not in vtt.text


def test_a_url_with_credentials_or_a_signature_is_never_in_the_page(store: PostgresUnderTest, web: RunningWeb) -> None:
    store.add_videos([
        ("userinfo", "https://alice:s3cr3t-pass@media.example.com/a.mp4"),
        ("signed", "https://bucket.s3.amazonaws.com/b.mp4?X-Amz-Signature=deadbeef0042&X-Amz-Expires=60"),
        ("in-s3", "s3://bucket/c.mp4"),
    ])  # fmt: skip
    for video_id, secret in (("userinfo", "s3cr3t-pass"), ("signed", "deadbeef0042")):
        body = get(web.page(f"video?id={video_id}")).text
        assert secret not in body and "media.example.com" not in body and "<video" not in body
        assert "this video&#39;s URL carries credentials and is not shown" in body
        assert secret not in get(web.page("")).text
    body = get(web.page("video?id=in-s3")).text
    assert "<video" not in body and "which a browser cannot play" in body


# --- the catalogue -------------------------------------------------------------------------------
def _ids_on(body: str) -> list[str]:
    return [html.unescape(m) for m in re.findall(r'<td class="video-id"><a href="[^"]+">([^<]+)</a>', body)]


def _follow(web: RunningWeb, body: str, rel: str) -> str | None:
    found = re.search(rf'<a rel="{rel}" href="([^"]+)"', body)
    return get(web.page(html.unescape(found.group(1)))).text if found else None


def test_the_catalogue_pages_by_id_both_ways_without_repeating_or_skipping(
    store: PostgresUnderTest, web: RunningWeb
) -> None:
    ids = [f"v{i:02d}" for i in range(7)]
    store.add_videos([(v, f"https://media.example.com/{v}.mp4") for v in ids])
    pages = [get(web.page("?limit=3")).text]
    while (following := _follow(web, pages[-1], "next")) is not None:
        pages.append(following)
    assert [_ids_on(p) for p in pages] == [ids[0:3], ids[3:6], ids[6:7]]
    back = _follow(web, pages[-1], "prev")
    assert _ids_on(back) == ids[3:6]
    first = _follow(web, back, "prev")
    assert _ids_on(first) == ids[0:3] and 'rel="prev"' not in first


def test_the_catalogue_filters_by_state_language_model_and_id(store: PostgresUnderTest, web: RunningWeb) -> None:
    store.add_videos([(v, f"https://media.example.com/{v}.mp4") for v in ("de-1", "en-1", "en-2", "new-1", "bad-1")])
    store.save_transcript("de-1", transcript("hallo", [Segment(0, 1, "hallo")], language="de", model="base"))
    store.save_transcript("en-1", transcript("hello", [Segment(0, 1, "hello")]))
    store.save_transcript("en-2", transcript("hi", [Segment(0, 1, "hi")], model="base"))
    store.mark_queued("bad-1", None, 60, None)
    store.record_failure("bad-1", "NotMedia", "not media", 1, None)
    cases = {
        "state=done": ["de-1", "en-1", "en-2"], "state=new": ["new-1"], "state=failed": ["bad-1"],
        "language=de": ["de-1"], "model=base": ["de-1", "en-2"], "language=en&model=base": ["en-2"],
        "q=EN-": ["en-1", "en-2"], "q=%25": [], "state=queued": [],
    }  # fmt: skip
    for query, expected in cases.items():
        assert _ids_on(get(web.page(f"?{query}")).text) == expected, query
    body = get(web.page("")).text
    assert '<option value="de">de</option>' in body and '<option value="base">base</option>' in body


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("?state=bogus", "state: &#39;bogus&#39; is not a state"),
        ("?limit=-1", "limit: a whole number from 0 to 200"),
        ("video", "id: which video?"),
        ("video?id=%01x", "id: video_id contains control characters"),
        ("video?id=v1&t=soon", "t: a number of seconds"),
        ("search?q=x&since=yesterday", "since: a date such as 2026-01-31"),
    ],
)
def test_a_bad_parameter_is_a_400_that_names_it(web: RunningWeb, path: str, message: str) -> None:
    response = get(web.page(path))
    assert response.status_code == 400
    assert message in response.text


def test_an_unknown_video_or_format_is_a_404(web: RunningWeb) -> None:
    assert get(web.page("video?id=nobody")).status_code == 404
    assert get(web.page("transcript.docx?id=nobody")).status_code == 404
    assert get(web.page("transcript.vtt?id=nobody")).status_code == 404


# --- the transcript files ------------------------------------------------------------------------
def test_every_format_is_served_inline_and_as_a_download_named_after_the_id(
    store: PostgresUnderTest, web: RunningWeb
) -> None:
    video_id = "talks/2024: ünïcode"
    stored = transcript("one two", [Segment(0.0, 1.0, "one"), Segment(1.0, 2.0, "two")])
    store.add_videos([(video_id, "https://media.example.com/t.mp4")])
    store.save_transcript(video_id, stored)
    saved = store.transcript(video_id)
    types = {"txt": "text/plain", "json": "application/json", "srt": "application/x-subrip", "vtt": "text/vtt"}
    for fmt, media_type in types.items():
        inline = get(web.page(f"transcript.{fmt}?id={quote(video_id, safe='')}"))
        assert inline.headers["Content-Type"] == f"{media_type}; charset=utf-8"
        assert inline.content.decode() == render(saved, fmt)
        assert "Content-Disposition" not in inline.headers
        download = get(web.page(f"transcript.{fmt}?id={quote(video_id, safe='')}&download=1"))
        assert download.content == inline.content
        disposition = download.headers["Content-Disposition"]
        assert disposition.startswith("attachment;") and "/" not in disposition and ":" not in disposition
        assert f"filename*=UTF-8''talks_2024_%C3%BCn%C3%AFcode.{fmt}" in disposition


# --- who may write ---------------------------------------------------------------------------------
def _seed_failure(store: PostgresUnderTest) -> int:
    store.add_videos([("f1", "https://media.example.com/f1.mp4")])
    store.mark_queued("f1", "https://media.example.com/f1.mp4", 60, None)
    record = store.record_failure("f1", "FetchRefused", "HTTP 404", 1, None)
    assert record is not None
    return record


def test_a_post_without_the_token_or_from_another_site_is_refused(store: PostgresUnderTest, web: RunningWeb) -> None:
    record = _seed_failure(store)
    session = requests.Session()
    token = csrf_token(session, web.page("status"))
    dismiss = web.page("failures/dismiss")
    refused = [
        session.post(dismiss, data={"record_id": record}, timeout=10),  # no token
        requests.post(dismiss, data={"record_id": record, "csrf_token": token}, timeout=10),  # no session cookie
        session.post(dismiss, data={"record_id": record, "csrf_token": token},
                     headers={"Origin": "https://attacker.example"}, timeout=10),
        session.post(dismiss, data={"record_id": record, "csrf_token": token},
                     headers={"Sec-Fetch-Site": "cross-site"}, timeout=10),
    ]  # fmt: skip
    assert [r.status_code for r in refused] == [403, 403, 403, 403]
    assert [r.id for r in store.failures()] == [record]  # nothing was dismissed
    accepted = session.post(dismiss, data={"record_id": record, "csrf_token": token},
                            headers={"Origin": web.url.rstrip("/")}, timeout=10, allow_redirects=False)  # fmt: skip
    assert accepted.status_code == 303 and accepted.headers["Location"].endswith("/status")
    assert store.failures() == []


def test_retry_and_dismiss_change_the_database(store: PostgresUnderTest, web: RunningWeb) -> None:
    record = _seed_failure(store)
    session = requests.Session()
    token = csrf_token(session, web.page("status"))
    retried = session.post(web.page("failures/retry"), data={"video_id": "f1", "csrf_token": token}, timeout=10)
    assert "1 failed video queued for the next" in retried.text
    assert store.job_error("f1").error_type == "FetchRefused"
    assert _state(store, "f1") == "queued"
    dismissed = session.post(web.page("failures/dismiss"), data={"record_id": record, "csrf_token": token}, timeout=10)
    assert "dismissed 1 failure record" in dismissed.text
    assert [r.resolution for r in store.failures(include_resolved=True)] == ["dismissed"]
    again = session.post(web.page("failures/dismiss"), data={"record_id": record, "csrf_token": token}, timeout=10)
    assert f"no open failure record: #{record} (nothing was dismissed)" in again.text


def _state(store: PostgresUnderTest, video_id: str) -> str:
    def work(cur: object) -> str:
        cur.execute("SELECT state FROM video_jobs WHERE video_id = %s", (video_id,))  # type: ignore[attr-defined]
        return str(cur.fetchone()[0])  # type: ignore[attr-defined]

    return store.database.run(work)


@pytest.fixture()
def read_only_role(database_url: str) -> Iterator[str]:
    """A role that may read vidscribe's tables and nothing else; its URL."""
    role = "vidscribe_reader_" + re.sub(r"\W", "", database_url.rsplit("/", 1)[-1].split("?")[0])[-8:]
    admin = psycopg2.connect(database_url)
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))
        cur.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(role)))
        cur.execute(sql.SQL("GRANT SELECT ON ALL TABLES IN SCHEMA public TO {}").format(sql.Identifier(role)))
    head, _, rest = database_url.partition("://")
    try:
        yield f"{head}://{role}@{rest.split('@', 1)[-1]}"
    finally:
        with admin.cursor() as cur:
            cur.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(role)))
            cur.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))
        admin.close()


@pytest.mark.parametrize("how", ["a role that may only read", "--read-only"])
def test_without_write_access_there_are_no_buttons_and_every_post_is_refused(
    store: PostgresUnderTest, database_url: str, read_only_role: str, how: str
) -> None:
    record = _seed_failure(store)
    url, flag = (read_only_role, False) if how.startswith("a role") else (database_url, True)
    with running_web(url, read_only=flag) as web:
        assert not web.access.allowed
        page = requests.Session().get(web.page("status"), timeout=10).text
        assert "HTTP 404" in page and "<button" not in page and 'name="csrf_token"' not in page
        reason = (
            "may not INSERT on video_jobs, UPDATE on video_jobs, UPDATE on failures" if flag is False else "--read-only"
        )
        assert reason in page
        for path, data in (("failures/dismiss", {"record_id": record}), ("failures/retry", {"video_id": "f1"})):
            refused = requests.post(web.page(path), data=data, timeout=10)
            assert refused.status_code == 403 and "the actions are off" in refused.text
    assert [r.id for r in store.failures()] == [record] and _state(store, "f1") == "failed"


def test_a_role_in_read_only_transactions_turns_the_actions_off(store: PostgresUnderTest, database_url: str) -> None:
    separator = "&" if "?" in database_url else "?"
    with running_web(database_url + separator + "options=-c%20default_transaction_read_only%3Don") as web:
        assert web.access.reason == "the database role's transactions are read-only"
        assert "<button" not in get(web.page("status")).text


def test_a_fresh_database_is_migrated_before_its_privileges_are_asked(database_url: str) -> None:
    name = f"{database_url.rsplit('/', 1)[-1].split('?')[0]}_fresh"
    admin = psycopg2.connect(database_url)
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    base, _, query = database_url.partition("?")
    try:
        with running_web(f"{base.rpartition('/')[0]}/{name}" + (f"?{query}" if query else "")) as web:
            assert web.access.allowed
            assert "No videos." in get(web.page("")).text
    finally:
        with admin.cursor() as cur:
            cur.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        admin.close()
