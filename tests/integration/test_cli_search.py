"""``vidscribe search`` in-process against the test PostgreSQL: what a hit shows (video, h:mm:ss,
highlighted snippet, a link at that second without the URL's secrets), its filters and bad input."""

from __future__ import annotations

import json

import pytest

from tests.support.database import PostgresUnderTest
from vidscribe.cli import main
from vidscribe.models import Segment, Transcript


@pytest.fixture()
def env(monkeypatch: pytest.MonkeyPatch, database_url: str, store: PostgresUnderTest) -> PostgresUnderTest:
    for name in ("QUEUE_URL", "DLQ_URL", "AWS_ENDPOINT_URL", "TRANSCRIBER", "MAX_WORKERS", "VIDEOS_TABLE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATABASE_URL", database_url)
    store.add_videos(
        [
            ("talk/1", "https://alice:s3cret-pw@cdn.example/talk.mp4?X-Amz-Signature=deadbeef&X-Amz-Expires=60"),
            ("talk\x1b[2", "https://cdn.example/other.mp4"),
        ]
    )
    long_talk = [Segment(3723.5, 3730.0, "Our refund policy changed last year.")]
    store.save_transcript("talk/1", Transcript("", long_talk, "en", 3730.0, "local", "tiny.en"))
    other = [Segment(1.0, 4.0, "No refund without a receipt\x07.")]
    store.save_transcript("talk\x1b[2", Transcript("", other, "en", 4.0, "local", "tiny.en"))
    return store


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_a_hit_shows_video_time_snippet_and_a_link_without_secrets(
    env: PostgresUnderTest, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "search", '"refund policy"')
    assert (code, err) == (0, "")
    assert out.splitlines() == [
        "talk/1  1:02:03  Our *refund* *policy* changed last year.",
        "    https://cdn.example/talk.mp4#t=3723.5",
    ]
    assert "s3cret" not in out and "deadbeef" not in out


def test_json_output_and_filters(env: PostgresUnderTest, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "search", "refund", "--json", "--limit", "5")
    hits = json.loads(out)
    assert code == 0 and [h["video_id"] for h in hits] == sorted(["talk/1", "talk\x1b[2"])
    first = next(h for h in hits if h["video_id"] == "talk/1")
    assert first["time"] == "1:02:03" and first["matches"] == ["refund"]
    assert first["link"] == "https://cdn.example/talk.mp4#t=3723.5"
    assert json.loads(run(capsys, "search", "refund", "--json", "--video", "talk/1")[1])[0]["start"] == 3723.5
    assert json.loads(run(capsys, "search", "refund", "--json", "--language", "de")[1]) == []
    assert json.loads(run(capsys, "search", "refund", "--json", "--since", "2999-01-01")[1]) == []
    assert run(capsys, "search", "zebra")[1] == "no matches\n"


def test_control_characters_in_ids_and_text_reach_no_terminal(
    env: PostgresUnderTest, capsys: pytest.CaptureFixture[str]
) -> None:
    _, out, _ = run(capsys, "search", "receipt")
    assert "\x1b" not in out and "\x07" not in out
    assert out.startswith("talk\\u001b[2  0:00:01  No refund without a *receipt*\\u0007.")


def test_bad_input_is_one_line(env: PostgresUnderTest, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "search", "--", "-refund")
    assert code != 0 and err == "vidscribe: a search needs at least one word that is not excluded with '-'\n"
    for argv, message in (
        (["--limit", "0"], "not a number of hits: '0' (1 to 1000)"),
        (["--since", "yesterday"], "not a date: 'yesterday' (give one such as 2026-01-31)"),
    ):
        with pytest.raises(SystemExit):
            main(["search", "refund", *argv])
        assert message in capsys.readouterr().err
