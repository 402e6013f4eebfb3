"""Malformed structures end in the media error vocabulary, never in a raw IndexError or ValueError.

Each named example first (an empty ``mdhd``, a ``stsz`` or ``stz2`` cut before its count, byte ranges,
durations and header numbers that are not numbers), then the class: a seeded loop of random structural
edits of a real MP4's index and of real playlists, every one of which must parse or fail as a
VidscribeError (the index may also say it cannot drive a partial fetch: ``IndexUnusable``). On the
code before this change the MP4 loop found an IndexError and ValueErrors within 3,000 edits.
"""

from __future__ import annotations

import random
import re

import pytest

from tests.support import bad_mp4
from tests.support.hls_factory import master_playlist, media_playlist
from tests.support.media_factory import make_video
from vidscribe.adapters.media.containers import playlist as hls
from vidscribe.adapters.media.containers.mp4_index import IndexUnusable, read_index
from vidscribe.adapters.media.plan import audio_plan
from vidscribe.adapters.media.transports.http import content_length, parse_content_range
from vidscribe.config import Settings
from vidscribe.errors import BadPlaylist, FetchRefused, TruncatedMedia, VidscribeError

SETTINGS = Settings.from_env({})
URL = "https://cdn.example.com/a/index.m3u8"


@pytest.fixture(scope="module")
def clip() -> bytes:
    return make_video(2.0, container="mp4", faststart=False)  # index at the end: the editor's layout


def index_of(data: bytes):
    index, _held = read_index(lambda offset, n: data[offset : offset + n], len(data), data[:64])
    offsets, sizes = index.audio_extents()
    audio_plan(offsets, sizes, [(0, 64)], 1 << 20)  # what the fetch does with the index next
    return index


# --- the MP4 index ------------------------------------------------------------------------------------------
def test_the_editor_round_trips_a_real_index(clip):
    # The control: rewriting the index unchanged gives the same file, which parses
    assert bad_mp4.edit_index(clip, lambda moov: None) == clip
    assert index_of(clip).audio_tracks


@pytest.mark.parametrize(
    ("damage", "fragment"),
    [(bad_mp4.empty_mdhd, "mdhd box of track"), (bad_mp4.short_stsz, "stsz table"), (bad_mp4.short_stz2, "stz2 table")],
    ids=["empty-mdhd", "short-stsz", "short-stz2"],
)
def test_a_box_cut_short_is_truncated_media(clip, damage, fragment):
    with pytest.raises(TruncatedMedia, match=f"index is corrupt: the {fragment} .* cut off"):
        index_of(damage(clip))


def test_random_edits_of_an_index_end_as_media_errors(clip):
    # Given 2,000 indexes, each with one to three random structural edits (seeded: the same every run)
    rng = random.Random(19)
    outcomes: dict[str, int] = {}
    for _ in range(2000):
        data = clip
        for _ in range(rng.randint(1, 3)):
            data = bad_mp4.mutate_index(data, rng)
        # When each is read, then it parses or fails as a media error (or falls back to the whole file)
        try:
            index_of(data)
            kind = "parsed"
        except (VidscribeError, IndexUnusable) as exc:
            kind = type(exc).__name__
        outcomes[kind] = outcomes.get(kind, 0) + 1
    # And the edits reached every outcome (they are not all harmless, nor all caught at the top level)
    assert {"parsed", "TruncatedMedia", "IndexUnusable"} <= set(outcomes), outcomes


# --- playlists ------------------------------------------------------------------------------------------------
def targets(text: str):
    playlist = hls.parse_playlist(text, URL, SETTINGS)
    if playlist.is_variant:
        return hls.pick_rendition(playlist, URL)
    return hls.media_targets(playlist, URL, SETTINGS)


MEDIA = """#EXTM3U
#EXT-X-VERSION:7
#EXT-X-TARGETDURATION:6
#EXT-X-MAP:URI="init.mp4",BYTERANGE="720@0"
#EXTINF:6.000,
#EXT-X-BYTERANGE:{range}
main.mp4
#EXTINF:{seconds},
#EXT-X-BYTERANGE:2000
main.mp4
#EXT-X-ENDLIST
"""


def test_byte_ranges_follow_each_other():
    # The control: length@offset, then a length alone continues where the last range of the URI ended
    assert [t[1] for t in targets(MEDIA.format(range="1000@720", seconds="6.0"))] == [
        (0, 719), (720, 1719), (1720, 3719)
    ]


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        (MEDIA.format(range="abc@0", seconds="6.0"), "byte range 'abc@0'"),
        (MEDIA.format(range="²", seconds="6.0"), "byte range '²'"),
        (MEDIA.format(range="٣@0", seconds="6.0"), "byte range '٣@0'"),  # int() would take it as 3
        (MEDIA.format(range="1_000@0", seconds="6.0"), "byte range"),
        (MEDIA.format(range="-5@0", seconds="6.0"), "byte range"),
        (MEDIA.format(range="0@0", seconds="6.0"), "byte range"),
        (MEDIA.format(range="1000@720", seconds="nan"), "segment of nan s"),
        (MEDIA.format(range="1000@720", seconds="-6"), "segment of -6.0 s"),
        (MEDIA.format(range="1000@720", seconds="abc"), "malformed"),
        ("#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1e400\nv.m3u8\n", "malformed"),
        ("#EXTM3U\n#EXTINF:5,\nhttp://[::1/a.ts\n#EXT-X-ENDLIST\n", "malformed"),
    ],
    ids=["letters", "superscript-two", "arabic-digit", "underscores", "negative", "empty", "nan-duration",
         "negative-duration", "letters-duration", "infinite-bandwidth", "bad-ipv6-uri"],
)
def test_a_malformed_playlist_field_is_a_bad_playlist(text, fragment):
    with pytest.raises(BadPlaylist, match=re.escape(fragment)) as caught:
        targets(text)
    assert not caught.value.retryable


_JUNK = ["abc", "²", "٣", "-1", "nan", "inf", "1e400", "", "0x10", "1_000", "@", "1@", "@5", "9" * 25, '"', "[::1",
         "http://[::1/a", "%zz", "\x00", ","]
_TAGS = ["#EXT-X-BYTERANGE:", "#EXTINF:", "#EXT-X-MAP:URI=", "#EXT-X-KEY:METHOD=", "#EXT-X-STREAM-INF:BANDWIDTH=",
         "#EXT-X-MEDIA:TYPE=AUDIO,URI="]


def _garble(text: str, rng: random.Random) -> str:
    lines = text.split("\n")
    for _ in range(rng.randint(1, 3)):
        i = rng.randrange(len(lines))
        line, move = lines[i], rng.randrange(5)
        if move == 0 and (fields := list(re.finditer(r'[0-9.]+|"[^"]*"|[\w/.-]+\.(?:m3u8|ts|mp4)', line))):
            field = rng.choice(fields)
            lines[i] = line[: field.start()] + rng.choice(_JUNK) + line[field.end() :]
        elif move == 1:
            lines[i] = line[: rng.randrange(len(line) + 1)]
        elif move == 2 and len(lines) > 1:
            del lines[i]
        elif move == 3:
            lines.insert(i, line)
        else:
            lines[i] = rng.choice(_TAGS) + rng.choice(_JUNK)
    return "\n".join(lines)


def test_random_edits_of_playlists_end_as_media_errors():
    # Given 3,000 garbled playlists (media with an init section and byte ranges, masters with renditions)
    bases = [
        MEDIA.format(range="1000@720", seconds="6.0"),
        media_playlist(["a.ts", "https://cdn.example.com/b.ts?x=1"], [6.0, 4.5], init="init.mp4"),
        master_playlist("audio/en.m3u8", [("v360.m3u8", 800_000, "avc1.4d401f,mp4a.40.2"), ("a.m3u8", 64_000, "mp4a")]),
    ]
    rng = random.Random(19)
    outcomes: dict[str, int] = {}
    for _ in range(3000):
        # When each is parsed and planned, then it plans or fails as a media error
        try:
            targets(_garble(rng.choice(bases), rng))
            kind = "planned"
        except VidscribeError as exc:
            kind = exc.error_type
        outcomes[kind] = outcomes.get(kind, 0) + 1
    assert {"planned", "BadPlaylist", "LiveStream"} <= set(outcomes), outcomes


# --- HTTP header numbers ---------------------------------------------------------------------------------------
class _Answer:
    def __init__(self, value: str | None) -> None:
        self.headers = {} if value is None else {"Content-Length": value}
        self.url = "https://cdn.example.com/v.mp4?token=secret"


@pytest.mark.parametrize("value", ["²", "٣", "1_000", "+5", "-1", "0x10", "12 34", "", "5, 6"])
def test_a_content_length_that_is_not_ascii_digits_is_refused(value):
    with pytest.raises(FetchRefused, match="invalid Content-Length") as caught:
        content_length(_Answer(value))  # type: ignore[arg-type]
    assert "secret" not in str(caught.value)


def test_content_lengths_that_are_numbers():
    assert [content_length(_Answer(v)) for v in (None, "0", " 42 ", "42, 42")] == [None, 0, 42, 42]  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("value", "parsed"),
    [
        ("bytes 0-99/1234", (0, 99, 1234)),
        ("bytes */1234", (None, None, 1234)),
        ("bytes 0-99/*", (0, 99, None)),
        ("bytes ٠-٩٩/١٢٣٤", (None, None, None)),  # Arabic-Indic digits: int() takes them, HTTP does not
        ("bytes 0-99/1_234", (None, None, None)),
        ("bytes 0-²/5", (None, None, None)),
        ("items 0-99/1234", (None, None, None)),
        (None, (None, None, None)),
    ],
)
def test_content_range_takes_ascii_digits_only(value, parsed):
    assert parse_content_range(value) == parsed
