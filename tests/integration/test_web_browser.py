"""The web page in a real browser: headless Chromium (Debian's) driven by Selenium, one browser for
the whole module, against the real page over a real database, with the bundled sample videos served
by the project's media server (as ``make demo`` and ``vidscribe serve --samples`` serve them).

The transcripts are stored by the test with known timings, so that every time it checks (where the
player seeks, which segment is lit) is exact.

``VIDSCRIBE_SCREENSHOT=docs/video-page.png`` saves the video page's screenshot there (the README's
picture is one this test made); otherwise it goes to the test's temporary folder.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver

from tests.support.browser import chromium, script, wait_for
from tests.support.database import PostgresUnderTest
from tests.support.web import RunningWeb, running_web
from vidscribe.local.media_server import MediaServer
from vidscribe.local.samples import load_manifest, samples_dir
from vidscribe.models import Segment, Transcript

# sample-bakery.mp4 (H.264/AAC, 6.9 s) in three segments, timed by hand.
BAKERY = [
    Segment(0.3, 2.4, "Every morning the baker opens"),
    Segment(2.4, 4.6, "his little shop at six"),
    Segment(4.6, 6.8, "and sells warm bread to the whole street."),
]
HOSTILE = '<script>window.__pwned = 1</script> "onerror="window.__pwned = 2" <img src=x onerror="window.__pwned = 3">'
# Every cue's text as the VTT gives it, and as the browser renders it.
CUES_TEXT = (
    "const t = document.getElementById('player').textTracks[0];"
    "if (!t.cues || !t.cues.length) return null;"
    "const cues = Array.from(t.cues);"
    "return [cues.map((c) => c.text).join(' '), cues.map((c) => c.getCueAsHTML().textContent).join(' ')];"
)
# Null until the page with the player is the one loaded (a click navigates asynchronously).
PLAYER_STATE = "const v = document.getElementById('player'); return v && [v.currentTime, v.paused, v.readyState];"


@pytest.fixture(scope="module")
def browser() -> Iterator[WebDriver]:
    with chromium() as driver:
        yield driver


@pytest.fixture(scope="module")
def media() -> Iterator[MediaServer]:
    with MediaServer(samples_dir()) as server:
        yield server


@pytest.fixture()
def web(store: PostgresUnderTest, database_url: str, media: MediaServer) -> Iterator[RunningWeb]:
    """The samples in the videos table; the bakery's transcript in three segments, the others in one."""
    manifest = load_manifest()
    store.add_videos([(s["id"], media.url(s["file"])) for s in manifest])
    for sample in manifest:
        segments = BAKERY if sample["id"] == "sample-bakery" else [Segment(0.2, 6.0, sample["text"])]
        text = " ".join(s.text for s in segments)
        stored = Transcript(text, segments, "en", sample["duration_seconds"], "local", "base", speech_seconds=6.1,
                            cost_usd=0.0)  # fmt: skip
        store.save_transcript(sample["id"], stored)
    with running_web(database_url) as running:
        yield running


def video_page(web: RunningWeb, video_id: str, suffix: str = "") -> str:
    return web.page(f"video?id={quote(video_id, safe='')}{suffix}")


def current_segment(browser: WebDriver) -> str | None:
    return script(browser, "const s = document.querySelector('.segment.current'); return s && s.dataset.start;")


def player(browser: WebDriver) -> list[float | bool]:
    state: list[float | bool] = wait_for(browser, lambda d: script(d, PLAYER_STATE))
    return state


def wait_until_playable(browser: WebDriver) -> None:
    wait_for(browser, lambda d: (script(d, PLAYER_STATE) or [0, 0, 0])[2] >= 1)  # HAVE_METADATA


def text_of(browser: WebDriver, selector: str) -> str | None:
    """The text of the first element matching ``selector`` on the page loaded now (None: none)."""
    found: str | None = script(
        browser, "const e = document.querySelector(arguments[0]); return e && e.textContent;", selector
    )
    return found


def test_the_catalogue_lists_the_sample_videos(browser: WebDriver, web: RunningWeb) -> None:
    browser.get(web.url)
    rows = browser.find_elements(By.CSS_SELECTOR, "table.catalogue tbody tr")
    listed = [r.find_element(By.CSS_SELECTOR, "td.video-id a").text for r in rows]
    assert listed == sorted(s["id"] for s in load_manifest())
    assert all(r.find_elements(By.TAG_NAME, "td")[1].text == "done" for r in rows)
    browser.find_element(By.LINK_TEXT, "sample-train").click()
    assert wait_for(browser, lambda d: text_of(d, "h1") == "sample-train")


def test_a_search_hit_opens_the_video_at_its_second(browser: WebDriver, web: RunningWeb) -> None:
    browser.get(web.page("search?q=warm bread"))
    hits = browser.find_elements(By.CSS_SELECTOR, ".hit")
    # full-text search highlights each matched word of the query (ts_headline), not the phrase as one
    marked = [[m.text for m in h.find_elements(By.CSS_SELECTOR, "mark")] for h in hits]
    assert marked == [["warm", "bread"]]
    hits[0].find_element(By.CSS_SELECTOR, "a.hit-link").click()
    wait_until_playable(browser)
    assert wait_for(browser, lambda d: player(d)[0] == 4.6)
    assert current_segment(browser) == "4.6"
    # #t= works as well as ?t=, and a new one seeks again
    browser.get(video_page(web, "sample-bakery", "#t=2.5"))
    wait_until_playable(browser)
    assert wait_for(browser, lambda d: player(d)[0] == 2.5)
    script(browser, "window.location.hash = 't=5';")
    assert wait_for(browser, lambda d: player(d)[0] == 5)


def test_clicking_a_segment_seeks_and_playing_lights_the_segment_spoken(browser: WebDriver, web: RunningWeb) -> None:
    browser.get(video_page(web, "sample-bakery"))
    wait_until_playable(browser)
    browser.find_element(By.CSS_SELECTOR, '.segment[data-start="2.4"]').click()
    assert wait_for(browser, lambda d: player(d)[0] == 2.4)
    assert current_segment(browser) == "2.4"
    # Play (muted: headless Chromium lets muted media play) from just before the third segment.
    script(browser, "const v = document.getElementById('player'); v.muted = true; v.currentTime = 4.3; v.play();")
    assert wait_for(browser, lambda d: current_segment(d) == "4.6", seconds=5)
    playing = player(browser)
    assert not playing[1] and playing[0] >= 4.6


def test_the_caption_track_is_loaded_and_its_first_cue_is_the_transcripts(browser: WebDriver, web: RunningWeb) -> None:
    browser.get(video_page(web, "sample-bakery"))
    cues = wait_for(
        browser,
        lambda d: script(
            d,
            "const t = document.getElementById('player').textTracks[0];"
            "return t && t.cues && t.cues.length ? [t.mode, t.cues.length,"
            " t.cues[0].startTime, t.cues[0].endTime, t.cues[0].text] : null;",
        ),
    )
    mode, count, start, end, text = cues
    assert mode == "showing"  # captions on: the track is the default
    assert count == len(BAKERY)
    assert (round(start, 3), round(end, 3), text) == (0.3, 2.4, BAKERY[0].text)


def test_hostile_transcript_text_renders_as_text_and_runs_nothing(
    browser: WebDriver, web: RunningWeb, store: PostgresUnderTest, media: MediaServer
) -> None:
    video_id = '<img src=x onerror="window.__pwned = 4">'
    store.add_videos([(video_id, media.url("sample-lights.mp4"))])
    store.save_transcript(video_id, Transcript(HOSTILE, [Segment(0.5, 3.0, HOSTILE)], "en", 5.0, "local", "base"))
    for page in (video_page(web, video_id), web.page("search?q=onerror"), web.url):
        browser.get(page)
        wait_for(browser, lambda d: script(d, "return document.readyState") == "complete")
        assert script(browser, "return typeof window.__pwned") == "undefined", page
        assert not browser.find_elements(By.CSS_SELECTOR, "main img, main script"), page
    browser.get(video_page(web, video_id))
    assert browser.find_element(By.CSS_SELECTOR, ".segment .text").text == HOSTILE
    assert browser.find_element(By.CSS_SELECTOR, "h1").text == video_id
    raw, shown = wait_for(browser, lambda d: script(d, CUES_TEXT))
    assert "&lt;script&gt;" in raw and "<script>" not in raw  # the track's text is escaped
    assert " ".join(shown.split()) == HOSTILE  # and the browser shows the words themselves
    assert script(browser, "return typeof window.__pwned") == "undefined"


def test_media_the_browser_cannot_play_is_said_and_the_transcript_stays(
    browser: WebDriver, web: RunningWeb, store: PostgresUnderTest, media: MediaServer
) -> None:
    store.add_videos([("gone", media.url("no-such-file.mp4")), ("private", "https://bob:hunter22@cdn.example/p.mp4")])
    for video_id in ("gone", "private"):
        store.save_transcript(
            video_id, Transcript("still here", [Segment(0, 1, "still here")], "en", 1.0, "local", "base")
        )
    browser.get(video_page(web, "gone"))
    notice = browser.find_element(By.ID, "player-error")
    assert wait_for(browser, lambda d: notice.is_displayed())
    assert "cannot play this video" in notice.text
    assert browser.find_element(By.CSS_SELECTOR, ".segment .text").text == "still here"
    browser.get(video_page(web, "private"))
    assert (
        "this video's URL carries credentials and is not shown" in browser.find_element(By.CSS_SELECTOR, ".player").text
    )
    assert not browser.find_elements(By.TAG_NAME, "video") and "hunter22" not in browser.page_source
    assert browser.find_element(By.CSS_SELECTOR, ".segment .text").text == "still here"


def test_retry_and_dismiss_from_the_status_page_change_the_database(
    browser: WebDriver, web: RunningWeb, store: PostgresUnderTest, media: MediaServer
) -> None:
    for video_id in ("broken-1", "broken-2"):
        store.add_videos([(video_id, media.url(f"{video_id}.mp4"))])
        store.mark_queued(video_id, media.url(f"{video_id}.mp4"), 60, None)
        store.record_failure(video_id, "FetchRefused", f"HTTP 404 for {video_id}", 2, None)
    browser.get(web.page("status"))
    first, second = (r.id for r in store.failures())
    browser.find_element(By.CSS_SELECTOR, f"#failure-{first} button:not(.quiet)").click()  # Retry
    flash = wait_for(browser, lambda d: text_of(d, ".flash-done"))
    assert flash == "1 failed video queued for the next 'vidscribe run'"
    assert store.job_error("broken-1").attempts == 0  # queued afresh: its attempts start again
    browser.find_element(By.CSS_SELECTOR, f"#failure-{second} button.quiet").click()  # Dismiss
    assert wait_for(browser, lambda d: text_of(d, ".flash") == "dismissed 1 failure record")
    assert [(r.video_id, r.resolution) for r in store.failures(include_resolved=True)] == [
        ("broken-1", None), ("broken-2", "dismissed"),
    ]  # fmt: skip
    assert not browser.find_elements(By.ID, f"failure-{second}")


def test_a_read_only_page_shows_no_buttons(
    browser: WebDriver, web: RunningWeb, store: PostgresUnderTest, database_url: str
) -> None:
    store.mark_queued("sample-bakery", None, 60, None)
    store.record_failure("sample-bakery", "NotMedia", "served text/html", 1, None)
    with running_web(database_url, read_only=True) as read_only:
        browser.get(read_only.page("status"))
        assert browser.find_element(By.ID, "actions-off").text.startswith("Retry and dismiss are off")
        assert "served text/html" in browser.find_element(By.CSS_SELECTOR, "table.failures").text
        assert not browser.find_elements(By.CSS_SELECTOR, "main button, main form[method=post]")


def test_the_video_page_screenshot(browser: WebDriver, web: RunningWeb, tmp_path: Path) -> None:
    """The README's picture: the bakery paused in its second segment, captions on."""
    browser.get(video_page(web, "sample-bakery", "&t=3.2"))
    wait_until_playable(browser)
    wait_for(browser, lambda d: current_segment(d) == "2.4")
    # the frame at that second is painted, and the player's loading spinner gone: the page is still
    # when two screenshots in a row are the same
    shots = [b""]
    wait_for(browser, lambda d: shots.append(d.get_screenshot_as_png()) or shots[-1] == shots[-2], seconds=10)
    target = Path(os.environ.get("VIDSCRIBE_SCREENSHOT") or tmp_path / "video-page.png")
    target.write_bytes(shots[-1])
    width, height = struct.unpack(">II", target.read_bytes()[16:24])  # the PNG's IHDR
    assert (width, height) == tuple(script(browser, "return [window.innerWidth, window.innerHeight]"))
